"""`auth.type` and `auth.<ClassName>.<trait>`: which authenticator, and its settings.

auth.type takes a short name (`ldap`) or the class path TLJH's docs use
(`ldapauthenticator.LDAPAuthenticator`); AUTHENTICATORS lists them. A class's settings
live under `auth.<ClassName>` (its own name or a base's, e.g. `auth.Authenticator`),
each checked against the class's configurable traits, which needs the authenticator's
package: the hub's environment has them all. Traits holding secrets (client secrets,
bind passwords) never go in config.yaml, which anyone on the machine may read: they are
kept in SECRETS_FILE next to it, mode 0600, and shown masked.
"""

import json
import os
import re
import tempfile
from pathlib import Path

from .errors import ConfigError

# short name -> (import path, what it is). The first class name is the canonical one.
AUTHENTICATORS = {
    "native": ("nativeauthenticator.NativeAuthenticator", "sign-up with admin approval"),
    "firstuse": ("firstuseauthenticator.FirstUseAuthenticator", "the first password a name logs in with is kept"),
    "ldap": ("ldapauthenticator.LDAPAuthenticator", "an LDAP or Active Directory server"),
    "github": ("oauthenticator.github.GitHubOAuthenticator", "GitHub accounts"),
    "google": ("oauthenticator.google.GoogleOAuthenticator", "Google accounts"),
    "generic": ("oauthenticator.generic.GenericOAuthenticator", "any OAuth2 / OpenID Connect provider"),
    "cilogon": ("oauthenticator.cilogon.CILogonOAuthenticator", "CILogon (ACCESS, Jetstream2, campuses)"),
    "dummy": ("jupyterhub.auth.DummyAuthenticator", "anyone, any password: test hubs only"),
}
# Other spellings: JupyterHub's entry-point names and the paths TLJH's docs show.
ALIASES = {
    "nativeauthenticator": "native", "nativeauthenticator.nativeauthenticator.NativeAuthenticator": "native",
    "firstuseauthenticator": "firstuse", "ldapauthenticator": "ldap",
    "oauthenticator.GitHubOAuthenticator": "github", "oauthenticator.GoogleOAuthenticator": "google",
    "oauthenticator.GenericOAuthenticator": "generic", "generic-oauth": "generic",
    "oauthenticator.CILogonOAuthenticator": "cilogon", "dummyauthenticator.DummyAuthenticator": "dummy",
}
# Sections a class's settings may be under: each authenticator's name and its bases'.
BASES = {"Authenticator": "jupyterhub.auth.Authenticator", "OAuthenticator": "oauthenticator.oauth2.OAuthenticator"}
SECTION = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SECRET_TRAIT = re.compile(r"(secret|password)$")
SECRETS_FILE = "auth-secrets.json"
MASK = "********"
DUMMY_CONFIRMATION = "auth.allow_insecure_dummy"


def resolve(kind):
    """The short name for any spelling of an authenticator; ConfigError listing them."""
    text = str(kind).strip()
    if text in AUTHENTICATORS:
        return text
    canonical = {path: short for short, (path, _) in AUTHENTICATORS.items()}
    found = canonical.get(text) or ALIASES.get(text)
    if found:
        return found
    names = ", ".join(AUTHENTICATORS)
    raise ConfigError(f"auth.type: {text!r} is not an authenticator Hubstead sets up; use one of {names} "
                      "(or its class, e.g. ldapauthenticator.LDAPAuthenticator)")


def section_classes():
    """ClassName -> import path, for every auth.<ClassName> section."""
    classes = {path.rsplit(".", 1)[1]: path for path, _ in AUTHENTICATORS.values()}
    return {**classes, **BASES}


def import_class(path):
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def class_traits(section):
    """{trait name: trait} of auth.<section>'s class; ConfigError when it has none here."""
    path = section_classes().get(section)
    if path is None:
        raise ConfigError(f"auth.{section}: not an authenticator's class; sections here: "
                          f"{', '.join(sorted(section_classes()))}")
    try:
        cls = import_class(path)
    except ImportError:
        raise ConfigError(f"auth.{section}: cannot check its settings: {path.split('.')[0]} is not "
                          "installed here (it is in the hub's environment: run the installed hubstead)") from None
    return cls.class_traits(config=True)


def is_trait_key(dotted_key):
    parts = dotted_key.split(".")
    return len(parts) == 3 and parts[0] == "auth" and bool(SECTION.match(parts[1]))


def is_secret(dotted_key):
    return is_trait_key(dotted_key) and bool(SECRET_TRAIT.search(dotted_key.rsplit(".", 1)[1]))


def trait_schema(trait):
    """A JSON schema for a trait's values (traitlets' type names, so no traitlets import)."""
    kinds = [type(trait).__name__] + [type(t).__name__ for t in getattr(trait, "trait_types", ())]
    if {"List", "Set", "Tuple"} & set(kinds):
        return {"type": "array", "items": {"type": "string"}}
    for names, schema in ((("Bool", "CBool"), "boolean"), (("Int", "CInt", "Integer"), "integer"),
                          (("Float", "CFloat"), "number"), (("Unicode", "CUnicode", "Bytes", "UseEnum",
                                                             "CaselessStrEnum", "Enum"), "string"),
                          (("Dict",), "object")):
        if kinds[0] in names:
            return {"type": schema}
    return {}


def trait_schema_for(dotted_key):
    """The schema of auth.<Class>.<trait>; ConfigError naming the class's nearest traits."""
    import difflib

    _, section, trait = dotted_key.split(".")
    traits = class_traits(section)
    if trait not in traits:
        near = difflib.get_close_matches(trait, list(traits), n=3, cutoff=0.5) or sorted(traits)[:3]
        raise ConfigError(f"unknown key {dotted_key}: {section} has no setting {trait!r}; "
                          f"nearest: {', '.join(near)}")
    return {**trait_schema(traits[trait]), "description": f"{section}.{trait} (see its documentation)."}


def check(config):
    """Raise ConfigError for the first auth problem the schema cannot see."""
    import jsonschema

    auth = config.get("auth") or {}
    kind = resolve(auth.get("type", "native"))
    if kind == "dummy" and not auth.get("allow_insecure_dummy"):
        raise ConfigError("auth.type dummy lets anyone log in as anyone, with any password; for a test "
                          f"hub only, set {DUMMY_CONFIRMATION} true first")
    for section, values in auth.items():
        if not SECTION.match(str(section)):
            continue
        for trait, value in (values or {}).items():
            key = f"auth.{section}.{trait}"
            schema = trait_schema_for(key)
            if is_secret(key):
                raise ConfigError(f"{key}: secrets are not kept in config.yaml (anyone may read it); "
                                  f"use `hubstead config set {key} VALUE`, which keeps it root-only")
            if not jsonschema.Draft202012Validator(schema).is_valid(value):
                raise ConfigError(f"{key}: {value!r} is not a valid value; expected {schema.get('type')}")


def class_path(config_or_settings):
    return AUTHENTICATORS[resolve((config_or_settings.get("auth") or {}).get("type", "native"))][0]


def class_settings(settings, secrets):
    """{ClassName: {trait: value}} for the hub's config: the file's sections and the secrets."""
    sections = {}
    for section, values in (settings.get("auth") or {}).items():
        if SECTION.match(str(section)):
            sections.setdefault(section, {}).update(values or {})
    for key, value in secrets.items():
        _, section, trait = key.split(".")
        sections.setdefault(section, {})[trait] = value
    return sections


# ---- secrets, kept apart from config.yaml ----------------------------------------------

def secrets_path(config_path):
    return Path(config_path).with_name(SECRETS_FILE)


def load_secrets(config_path):
    path = secrets_path(config_path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None


def save_secret(config_path, dotted_key, value):
    """Set (value) or remove (None) one secret; the file is written 0600 from the start."""
    if not is_secret(dotted_key):
        raise ConfigError(f"{dotted_key} is not a secret")
    trait_schema_for(dotted_key)
    secrets = load_secrets(config_path)
    if value is None:
        secrets.pop(dotted_key, None)
    else:
        secrets[dotted_key] = str(value)
    path = secrets_path(config_path)
    try:
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".auth-secrets-")
    except OSError as error:
        hint = "; try sudo" if isinstance(error, PermissionError) else ""
        raise ConfigError(f"cannot write {path}: {error.strerror}{hint}") from None
    try:
        with os.fdopen(handle, "w") as out:  # mkstemp makes it 0600
            json.dump(secrets, out, indent=1, sort_keys=True)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def masked(secrets):
    return {key: MASK for key in secrets}


def with_secrets(settings, secrets):
    """settings with each auth.<Class>.<trait> secret put in its place (a copy)."""
    import copy

    settings = copy.deepcopy(settings)
    for key, value in secrets.items():
        _, section, trait = key.split(".")
        settings.setdefault("auth", {}).setdefault(section, {})[trait] = value
    return settings
