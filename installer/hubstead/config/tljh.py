"""Take a TLJH config.yaml over: which of its settings Hubstead has, and what becomes of the rest.

`from_tljh(tljh_config)` is pure: it reads a TLJH config (a plain or ruamel dict) and
returns `(changes, unmapped)`. `changes` maps Hubstead's dotted keys to values already
in the form Hubstead's schema wants; `unmapped` lists `(tljh key, reason)` for every
setting that does not carry over, in file order. Values are not checked here beyond
their shape: `validate()` does that for the merged config, so an invalid value is
refused naming its key like any other change. Values of unmapped keys are never put in
a reason (traefik_api.password and OAuth client secrets live in these files).

`merge(config, changes)` applies the changes to a Hubstead config: lists gain the
imported items (what the file already lists stays), other keys are set. Only the
changes that alter the effective config are applied.

TLJH's keys and value forms come from its tljh/configurer.py (the defaults) and
tljh/config_schema.py.
"""

from ..usernames import username_problem
from .auth import AUTHENTICATORS, is_secret, resolve
from .errors import ConfigError
from .keys import BY_DESIGN, lookup, parse_value
from .schema import GROUP_PATTERN

# TLJH key -> Hubstead key, where the concept is the same.
SAME = {
    "base_url": "base_url",
    "http.address": "http.address",
    "https.address": "https.address",
    "limits.memory": "limits.memory",
    "limits.cpu": "limits.cpu",
    "http.port": "http.port",
    "https.enabled": "https.enabled",
    "https.port": "https.port",
    "https.tls.cert": "https.tls.cert",
    "https.tls.key": "https.tls.key",
    "https.letsencrypt.email": "https.letsencrypt.email",
    "https.letsencrypt.domains": "https.domains",
    "https.letsencrypt.staging": "https.letsencrypt.staging",
    "user_environment.default_app": "user_environment.default_app",
    "services.cull.enabled": "services.cull.enabled",
    "services.cull.timeout": "services.cull.timeout",
    "services.cull.every": "services.cull.every",
    "services.cull.concurrency": "services.cull.concurrency",
    "services.cull.users": "services.cull.users",
    "services.cull.max_age": "services.cull.max_age",
    "services.cull.remove_named_servers": "services.cull.remove_named_servers",
}
EXTRA_GROUPS = "users.extra_user_groups"
USER_LISTS = ("users.admin", "users.allowed", "users.banned")
# auth.NativeAuthenticator.<trait> -> Hubstead key.
NATIVE_TRAITS = {
    "open_signup": "auth.native.open_signup",
    "minimum_password_length": "auth.native.minimum_password_length",
    "allowed_failed_logins": "auth.native.allowed_failed_logins",
    "seconds_before_next_try": "auth.native.seconds_before_next_try",
}
NO_AUTH_TYPE = ("not set, so TLJH used its default, FirstUseAuthenticator; Hubstead keeps its own default, "
                "native (`hubstead config set auth.type firstuse` for TLJH's)")
NOT_SET_UP = "not an authenticator Hubstead sets up (" + ", ".join(AUTHENTICATORS) + ")"
DUMMY = ("dummy lets anyone in: set auth.allow_insecure_dummy true, then auth.type dummy, "
         "if this is a test hub")
SECRET = "a secret: `hubstead config set KEY VALUE` keeps it root-only, apart from config.yaml"
FIRSTUSE_NOT_TAKEN = ("FirstUseAuthenticator's setting (TLJH's default); auth.type stays native here: "
                      "set auth.type firstuse, then this")
NATIVE_NOT_EXPOSED = "Hubstead sets this NativeAuthenticator setting itself or not at all"


def not_in_effect(section):
    return f"{section} was not TLJH's auth.type, so this was not in effect"

# TLJH settings Hubstead has no counterpart for: a key, or a section for all its keys.
NOT_CARRIED = {"traefik_api": BY_DESIGN["traefik_api"]}
UNKNOWN = "not a TLJH setting Hubstead knows"

# Sections of a TLJH config: anything but a mapping (or nothing) here is a broken file.
SECTIONS = ("users", "limits", "http", "https", "https.tls", "https.letsencrypt",
            "user_environment", "services", "services.cull", "traefik_api", "auth")


def from_tljh(tljh_config):
    """(changes, unmapped) for a TLJH config; ConfigError when its shape is broken
    (a section or a list that is something else)."""
    changes, unmapped = {}, []
    auth_seen = False
    for key, value in _leaves(tljh_config or {}, ""):
        if key == "auth":
            auth_seen = True
            _auth(value or {}, changes, unmapped)
        elif key in USER_LISTS:
            names = _usernames(key, value, unmapped)
            if names is not None:
                changes[key] = names
        elif key.startswith(EXTRA_GROUPS + "."):
            _extra_group(key, value, changes, unmapped)
        elif key == "user_environment.default_app" and value == "nteract":
            unmapped.append((key, "Hubstead offers jupyterlab or classic, not nteract"))
        elif key in SAME:
            changes[SAME[key]] = _convert(SAME[key], value)
        else:
            unmapped.append((key, _not_carried(key)))
    if not auth_seen:
        unmapped.append(("auth.type", NO_AUTH_TYPE))
    return changes, unmapped


def _extra_group(key, value, changes, unmapped):
    """users.extra_user_groups.<group>: its users, when Hubstead can make that group."""
    import re

    from . import MANAGED_GROUPS

    group = key[len(EXTRA_GROUPS) + 1:]
    if not re.match(GROUP_PATTERN, group):
        unmapped.append((key, f"{group!r} is not a unix group name groupadd accepts"))
    elif group in MANAGED_GROUPS:
        unmapped.append((key, f"Hubstead manages {group}: {MANAGED_GROUPS[group]}"))
    else:
        names = _usernames(key, value, unmapped)
        if names is not None:
            changes[key] = names


def merge(config, changes):
    """The Hubstead config with changes applied (list keys gain items), config itself
    untouched; changes that leave the effective config as it is are not written."""
    from . import add_items, differences, effective, set_value

    new = config
    for key, value in changes.items():
        step = add_items(new, key, value) if isinstance(value, list) else set_value(new, key, value)
        if differences(effective(new), effective(step)):
            new = step
    return new


def _leaves(node, prefix):
    """(dotted key, value) for each setting, in file order: a mapped key is one setting
    whatever its value, auth is handed over whole, empty sections hold no setting."""
    for name, value in node.items():
        key = f"{prefix}{name}"
        if key in SECTIONS and value is not None and not isinstance(value, dict):
            raise ConfigError(f"{key}: {value!r} is not a valid value; expected a section of keys")
        if key == "auth":
            yield key, value
        elif isinstance(value, dict) and key not in SAME and key not in USER_LISTS:
            yield from _leaves(value, key + ".")
        elif value is not None or key not in SECTIONS:
            yield key, value


def _not_carried(key):
    for known, reason in NOT_CARRIED.items():
        if key == known or key.startswith(known + "."):
            return reason
    return UNKNOWN


def _auth(auth, changes, unmapped):
    """auth.type and auth.<Class>.<trait>: the settings of the class in effect carry over
    (NativeAuthenticator's to auth.native.*), secrets and other classes' do not."""
    kind = _kind(auth.get("type"), unmapped)
    if kind is not None:
        changes["auth.type"] = kind
    in_effect = {"Authenticator"}
    if kind is not None:
        path = AUTHENTICATORS[kind][0]
        in_effect |= {path.rsplit(".", 1)[1]} | ({"OAuthenticator"} if path.startswith("oauthenticator.") else set())
    for name, section in auth.items():
        if name == "type":
            continue
        if not (isinstance(section, dict) and name[:1].isupper()):
            unmapped.append((f"auth.{name}", "not an authenticator's section of settings"))
            continue
        for trait, value in section.items():
            key = f"auth.{name}.{trait}"
            if value is None:
                continue  # TLJH sets no trait whose value is null
            if name not in in_effect:
                tljh_default = kind is None and auth.get("type") is None and name == "FirstUseAuthenticator"
                unmapped.append((key, FIRSTUSE_NOT_TAKEN if tljh_default else not_in_effect(name)))
            elif name == "NativeAuthenticator":
                if trait in NATIVE_TRAITS:
                    changes[NATIVE_TRAITS[trait]] = _convert(NATIVE_TRAITS[trait], value)
                else:
                    unmapped.append((key, NATIVE_NOT_EXPOSED))
            elif is_secret(key):
                unmapped.append((key, SECRET))
            else:
                changes[key] = _plain(value)


def _kind(kind, unmapped):
    """auth.type's short name, or None (reported) when Hubstead does not take it over."""
    if kind is None:
        unmapped.append(("auth.type", NO_AUTH_TYPE))
        return None
    try:
        found = resolve(kind) if isinstance(kind, str) else None
    except ConfigError:
        found = None
    if found is None:
        unmapped.append(("auth.type", NOT_SET_UP))
    elif found == "dummy":
        unmapped.append(("auth.type", DUMMY))
        return None
    return found


def _usernames(key, value, unmapped):
    """The names of a TLJH user list in Hubstead's form; each refused name is reported.

    JupyterHub lowercases names (Authenticator.normalize_username), so TLJH's `Alice`
    was the user `alice`."""
    value = _plain(value)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ConfigError(f"{key}: {value!r} is not a valid value; expected a list")
    names = []
    for item in value:
        text = isinstance(item, (str, int)) and not isinstance(item, bool)
        name = str(item).strip().lower() if text else None
        problem = username_problem(name) if text else "not a username."
        if problem:
            unmapped.append((key, f"{item!r}: {problem.rstrip('.')}"))
        elif name not in names:
            names.append(name)
    return names


def _convert(hubstead_key, value):
    """A TLJH value in the form Hubstead's key wants, as tljh-config would have read it:
    "true", "None" and numbers in text become booleans, null and numbers where the key
    takes them; an empty string clears a key that takes null; a number becomes text for
    a text-only key (limits.memory: 1073741824 -> "1073741824", bytes for systemd)."""
    entry = lookup(hubstead_key)
    value = _plain(value)
    if entry.kind == "list":
        if not isinstance(value, list):
            raise ConfigError(f"{hubstead_key}: {value!r} is not a valid value; expected a list")
        items = []
        for item in value:
            item = item.strip() if isinstance(item, str) else item
            if item not in items:
                items.append(item)
        return items
    types = entry.schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if isinstance(value, str):
        if not value.strip() and "null" in types:
            return None
        return parse_value(hubstead_key, value.strip())
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and "string" in types and not {"integer", "number"} & set(types):
        return str(value)
    return value


def _plain(value):
    """ruamel's scalar types (ScalarBoolean, ScalarFloat, ...) and sequences as plain
    Python values. ruamel is not imported: ScalarBoolean is an int, known by its name."""
    if isinstance(value, bool) or value is None:
        return value
    if type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value
