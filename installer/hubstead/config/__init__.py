"""Read, validate, change and write /etc/hubstead/config.yaml.

Pure functions take and return plain dicts; `load` and `save` do the I/O. Writes
are atomic (temp file + rename) and keep the previous file as config.yaml.prev.
Comments in the file survive edits (ruamel's round-trip mode).
"""

import copy
import os
import tempfile
from pathlib import Path

from ..https import check_https
from ..usernames import username_problem
from . import auth, comments
from .errors import ConfigError
from .keys import Key, by_design, format_value, keys, lookup, nearest_keys, parse_item, parse_value
from .schema import BASE_URL_PATTERN, GROUP_PATTERN, SCHEMA, defaults

__all__ = ["CONFIG_HEADER", "ConfigError", "Key", "add_items", "base_url", "by_design", "check_default_env", "differences", "dumps", "effective",
           "format_value", "get_value", "keys", "load", "lookup", "nearest_keys", "parse_item", "parse_value",
           "remove_items", "save", "set_value", "to_plain", "unset_value", "validate"]

# The comment on top of a config file that Hubstead writes for the first time.
CONFIG_HEADER = """\
# Hubstead's configuration. Change it with `hubstead config set KEY VALUE`
# (or edit it and run `hubstead install` again). Every key is documented in
# docs/reference/config.md.
"""


def validate(config):
    """Raise ConfigError naming the first bad key; return config when valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(to_plain(config)), key=lambda error: list(error.path))
    if errors:
        raise ConfigError(_describe(errors[0]))
    groups = get_value(config, "users.extra_user_groups") or {}
    lists = ["admin", "allowed", "banned"] + [f"extra_user_groups.{group}" for group in groups]
    for list_name in lists:
        for name in get_value(config, f"users.{list_name}", []) or []:
            problem = username_problem(name)
            if problem:
                raise ConfigError(f"users.{list_name}: {name!r}: {problem}")
    auth.check(to_plain(config))
    settings = effective(config)
    # Combinations of keys that each pass the schema but cannot work together.
    problem = (check_https(settings) or _port_clash(settings) or _address_problem(settings)
               or _group_problem(settings) or limits_problem(settings))
    if problem:
        raise ConfigError(problem)
    return config


def _port_clash(settings):
    """http.port (and https.port when on) may not be a port the hub's own parts use."""
    internal = {f"internal.{key}": port for key, port in settings["internal"].items()
                if key != "proxy_port" or settings["https"]["enabled"]}
    public = {"http.port": settings["http"]["port"]}
    if settings["https"]["enabled"]:
        public["https.port"] = settings["https"]["port"]
    for key, port in public.items():
        for internal_key, internal_port in internal.items():
            if port == internal_port:
                return f"{key}: {port} is {internal_key}, a port the hub uses itself; choose another"
    return None


def _address_problem(settings):
    import ipaddress

    for key in ("http.address", "https.address"):
        address = get_value(settings, key)
        try:
            if address:
                ipaddress.ip_address(address)
        except ValueError:
            return f"{key}: {address!r} is not an IP address; use one of this machine's, or \"\" for every address"
    return None


# Groups Hubstead keeps in step itself: listing users there would fight it.
MANAGED_GROUPS = {"jupyterhub-users": "every hub user's account is in it already",
                  "jupyterhub-admins": "its members follow the hub's admin flag (users.admin)"}


def _group_problem(settings):
    for group in settings["users"]["extra_user_groups"]:
        if group in MANAGED_GROUPS:
            return f"users.extra_user_groups.{group}: Hubstead manages {group}: {MANAGED_GROUPS[group]}"
    return None


def limits_problem(settings):
    from ..limits.checks import config_problem

    return config_problem(settings)


def check_limit_changes(path, config):
    """Raise ConfigError when a limit changed from the file at path cannot be set on this
    machine and hub (hubstead.limits.checks.change_problem); only changed limits are judged."""
    from ..limits.checks import change_problem

    problem = change_problem(effective(load(path)), effective(config), _hub_group_exists, _quota_refusal)
    if problem:
        raise ConfigError(problem)


def _hub_group_exists(name):
    from ..hubapi import Hub, HubAPIError

    try:
        Hub.from_config().get(f"groups/{name}")
    except HubAPIError as error:
        if error.status == 404:
            return False
        raise
    return True


def _quota_refusal():
    from ..limits.quota import refusal

    return refusal()


def check_default_env(config, envs_dir=None):
    """Raise ConfigError when user_environment.default_env names no environment on this
    machine. Not part of validate(): the hub must still start if an environment goes."""
    from ..envs import store

    name = get_value(config, "user_environment.default_env")
    # The installer builds the schema's default itself, so it may not exist yet.
    if name is None or name == SCHEMA_DEFAULT_ENV or name in store.names(envs_dir):
        return config
    raise ConfigError(f"user_environment.default_env: there is no environment {name!r}; "
                      "see `hubstead env list`")


SCHEMA_DEFAULT_ENV = SCHEMA["properties"]["user_environment"]["properties"]["default_env"]["default"]


def _describe(error):
    key = ".".join(str(part) for part in error.path) or "(top level)"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = f"{key}." if error.path else ""
        if by_design(f"{where}{unknown[0]}"):
            return by_design(f"{where}{unknown[0]}")
        return f"unknown key {where}{unknown[0]}; known keys here: {', '.join(error.schema['properties'])}"
    if error.validator == "pattern" and error.schema.get("pattern") == SCHEMA_SIZE_PATTERN:
        return f"{key}: {error.instance!r} is not a size; use a number with K, M, G or T, e.g. 1G"
    if error.validator == "type":
        return f"{key}: {error.instance!r} is not a valid value; expected {_type_words(error.validator_value)}"
    if error.validator == "pattern" and error.schema.get("pattern") == GROUP_PATTERN:
        return (f"{key}.{error.instance}: {error.instance!r} is not a valid unix group name (lowercase "
                "letters, digits, - and _, starting with a letter or _)")
    if error.validator == "pattern" and error.schema.get("pattern") == BASE_URL_PATTERN:
        return f"{key}: {error.instance!r} is not a URL path; use one such as /jupyter/"
    if error.validator == "enum":
        return f"{key}: {error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return f"{key}: {error.message}"


SCHEMA_SIZE_PATTERN = SCHEMA["properties"]["limits"]["properties"]["memory"]["pattern"]


def _type_words(types):
    types = [types] if isinstance(types, str) else types
    words = {"integer": "a whole number", "number": "a number", "string": "text", "null": "null",
             "boolean": "true or false", "array": "a list", "object": "a section of keys"}
    return " or ".join(words.get(kind, kind) for kind in types)


def to_plain(value):
    """ruamel's round-trip types as plain dicts and lists."""
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value


def effective(config):
    """The config with every default filled in, as plain data."""
    merged = defaults()

    def merge(into, overrides):
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = copy.deepcopy(value)

    merge(merged, to_plain(config or {}))
    return merged


def base_url(settings):
    """base_url with one slash at each end, as JupyterHub uses it: "/", "/jupyter/"."""
    inner = settings.get("base_url", "/").strip("/")
    return f"/{inner}/" if inner else "/"


def set_value(config, dotted_key, value):
    """Return a copy of config with dotted_key set to value."""
    new = copy.deepcopy(config)
    *parents, last = dotted_key.split(".")
    node = new
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted_key}: {part} is not a section")
    node[last] = value
    return new


def add_items(config, dotted_key, values):
    """Return a copy of config with values appended to the list at dotted_key, once each."""
    current = _list_at(config, dotted_key)
    if current is None:
        return set_value(config, dotted_key, list(dict.fromkeys(values)))
    # Append to a copy of the file's own list, so its items' comments stay.
    new = copy.deepcopy(config)
    items = get_value(new, dotted_key)
    for value in values:
        if value not in items:
            items.append(value)
    return new


def remove_items(config, dotted_key, values):
    """Return a copy of config without values in the list at dotted_key (absent ones: no change)."""
    new = copy.deepcopy(config)
    if _list_at(new, dotted_key) is None:
        return new
    path = _path(new, dotted_key)
    items = get_value(new, dotted_key)
    for index in reversed(range(len(items))):
        if items[index] in values:
            comments.delete(path + [(items, index)])
    return new


def _list_at(config, dotted_key):
    """The list at dotted_key, None when absent or null; ConfigError when it is something else."""
    value = get_value(config, dotted_key)
    if value is None or isinstance(value, list):
        return value
    raise ConfigError(f"{dotted_key}: {value!r} is not a valid value; expected a list")


def unset_value(config, dotted_key):
    """Return a copy of config without dotted_key, and without the sections left empty by that.

    A key that is not there is no change."""
    new = copy.deepcopy(config)
    path = _path(new, dotted_key)
    if path is None:
        return new
    while len(path) > 1 and len(path[-1][0]) == 1:
        path.pop()  # delete the highest section that would be left empty, not just the leaf
    comments.delete(path)
    return new


def _path(config, dotted_key):
    """[(container, key), ...] from the top of config down to dotted_key; None if absent."""
    path, node = [], config
    for part in dotted_key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        path.append((node, part))
        node = node[part]
    return path


def get_value(config, dotted_key, default=None):
    node = config
    for part in dotted_key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def differences(old, new, prefix=""):
    """Lines `key: old -> new` for every leaf that differs between two configs."""
    old, new = to_plain(old or {}), to_plain(new or {})
    lines = []
    for key in sorted(set(old) | set(new)):
        dotted = f"{prefix}{key}"
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) or isinstance(after, dict):
            lines += differences(before if isinstance(before, dict) else {},
                                 after if isinstance(after, dict) else {}, dotted + ".")
        elif before != after:
            lines.append(f"{dotted}: {before!r} -> {after!r}")
    return lines


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def current():
    """The settings in force: /etc/hubstead/config.yaml (paths.CONFIG_PATH) over the defaults."""
    from .. import paths

    return effective(load(paths.CONFIG_PATH))


def load(path):
    """The config file's contents (round-trip data), or an empty config when absent."""
    path = Path(path)
    if not path.exists():
        return {}
    from ruamel.yaml import YAMLError

    try:
        data = _yaml().load(path.read_text())
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    # An empty file is not "every default": that would silently reset ports and admins.
    if data is None:
        raise ConfigError(f"{path} is empty; it must hold keys such as `http:` "
                          f"(restore it from {path.name}.prev, or delete it to use every default)")
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys, not {_kind_of(data)}")
    return data


def _kind_of(data):
    if isinstance(data, list):
        return "a list"
    if isinstance(data, bool):
        return f"the value {str(data).lower()}"
    return f"the value {data!r}" if isinstance(data, (int, float)) else f"the text {str(data)!r}"


def dumps(config):
    import io

    buffer = io.StringIO()
    _yaml().dump(config, buffer)
    return buffer.getvalue()


def save(path, config, header=""):
    """Validate, then write atomically, keeping the previous file as PATH.prev.

    Returns True when the file changed."""
    validate(config)
    check_default_env(config)
    check_limit_changes(path, config)
    path = Path(path)
    text = (header if not path.exists() else "") + dumps(config)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        if path.exists():
            previous = path.with_name(path.name + ".prev")
            previous.write_bytes(path.read_bytes())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return True
