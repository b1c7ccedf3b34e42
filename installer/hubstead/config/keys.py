"""What the schema says about each dotted key: its kind, type, default and meaning.

`keys()` lists them, `lookup()` finds one (or says which known keys are nearest),
and `parse_value()` / `parse_item()` turn command-line text into a value of the
key's type. Standard library only, so the CLI can use it without slowing start-up.
"""

import difflib
import re
from dataclasses import dataclass, field

from . import auth as _auth
from .errors import ConfigError
from .schema import SCHEMA, SIZE_PATTERN

NULL_WORDS = ("null", "none")
# TLJH keys for parts Hubstead does not have, by design: one line naming Hubstead's way.
BY_DESIGN = {
    "traefik_api": "Hubstead runs no Traefik: its proxy is configurable-http-proxy, which Hubstead "
                   "sets up itself (ports: internal.proxy_port, internal.proxy_api_port)",
}
# How keys() and the docs name the keys under a section of free-form names.
PLACEHOLDER = {"users.extra_user_groups": "<group>", "limits.groups": "<group>"}
INTEGER = re.compile(r"^[+-]?[0-9]+$")
NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class Key:
    """One key of the config. kind: "section" (holds keys), "list" or "value"."""

    name: str
    kind: str
    type: str
    default: object
    description: str
    choices: tuple = ()
    schema: dict = field(default=None, repr=False, compare=False)

    def as_dict(self):
        entry = {"key": self.name, "kind": self.kind, "type": self.type, "default": self.default,
                 "description": self.description}
        if self.choices:
            entry["choices"] = list(self.choices)
        return entry


def keys(sections=False, schema=SCHEMA):
    """Every key in schema order: the leaves (values and lists), and the sections when asked."""
    found = []

    def walk(node, prefix):
        for name, sub in node.get("properties", {}).items():
            entry = _entry(prefix + name, sub)
            if entry.kind != "section" or sections:
                found.append(entry)
            if entry.kind == "section":
                walk(sub, prefix + name + ".")
                free = sub.get("additionalProperties")
                if isinstance(free, dict):
                    free_name = f"{prefix}{name}.{PLACEHOLDER.get(prefix + name, '<name>')}"
                    free_entry = _entry(free_name, free)
                    if free_entry.kind != "section" or sections:
                        found.append(free_entry)
                    if free_entry.kind == "section":  # limits.groups.<group>.memory, ...
                        walk(free, free_name + ".")

    walk(schema, "")
    return found


def _entry(name, schema):
    kinds = _types(schema)
    if "object" in kinds:
        kind = "section"
    elif "array" in kinds:
        kind = "list"
    else:
        kind = "value"
    default = _default(schema) if kind == "section" else schema.get("default")
    return Key(name=name, kind=kind, type=type_words(schema), default=default,
               description=schema.get("description", ""), choices=tuple(schema.get("enum", ())),
               schema=schema)


def _default(schema):
    return {key: _default(sub) if "properties" in sub else sub.get("default")
            for key, sub in schema.get("properties", {}).items()}


def _types(schema):
    kinds = schema.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def type_words(schema):
    """A schema node's type in a few words, e.g. "integer 1-65535" or "boolean"."""
    words = []
    for kind in _types(schema):
        if kind == "integer" or kind == "number":
            words.append(kind + _range_words(schema))
        elif kind == "string" and "enum" in schema:
            words.append("one of " + ", ".join(schema["enum"]))
        elif kind == "string" and schema.get("pattern") == SIZE_PATTERN:
            words.append("size (e.g. 512M, 1G)")
        elif kind == "array":
            item = schema.get("items", {})
            words.append("list of " + ("usernames" if item.get("format") == "username"
                                       else _plural(type_words(item))))
        elif kind == "object":
            words.append("section")
        else:
            words.append(kind)
    return " or ".join(words)


def _plural(words):
    return words + "s" if words in ("string", "integer", "number", "boolean") else words


def _range_words(schema):
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f" {low}-{high}"
    if low is not None:
        return f" >= {low}"
    if schema.get("exclusiveMinimum") is not None:
        return f" > {schema['exclusiveMinimum']}"
    return ""


def lookup(dotted_key, schema=SCHEMA):
    """The Key for dotted_key; ConfigError naming it and the nearest known keys if unknown."""
    if schema is SCHEMA and _auth.is_trait_key(dotted_key):  # auth.<ClassName>.<trait>: the class says
        return _entry(dotted_key, _auth.trait_schema_for(dotted_key))
    refusal = by_design(dotted_key)
    if refusal:
        raise ConfigError(refusal)
    node, parts = schema, dotted_key.split(".")
    for part in parts:
        if "object" not in _types(node):
            raise ConfigError(unknown_key_message(dotted_key, schema))
        properties, free = node.get("properties") or {}, node.get("additionalProperties")
        if part in properties:
            node = properties[part]
        elif isinstance(free, dict) and re.match(node.get("propertyNames", {}).get("pattern", ""), part):
            node = free
        elif isinstance(free, dict):
            parent = dotted_key[:-len(part) - 1]
            raise ConfigError(f"{dotted_key}: {part!r} is not a valid name under {parent} "
                              f"(lowercase letters, digits, - and _, starting with a letter or _)")
        else:
            raise ConfigError(unknown_key_message(dotted_key, schema))
    return _entry(dotted_key, node)


def by_design(dotted_key):
    """The one-line refusal for a TLJH key Hubstead lacks by design, or None."""
    for prefix, reason in BY_DESIGN.items():
        if dotted_key == prefix or dotted_key.startswith(prefix + "."):
            return f"{dotted_key}: {reason}"
    return None


def unknown_key_message(dotted_key, schema=SCHEMA):
    nearest = nearest_keys(dotted_key, schema=schema)
    return f"unknown key {dotted_key}; nearest known keys: {', '.join(nearest)}"


def nearest_keys(dotted_key, limit=3, schema=SCHEMA):
    """Known keys that look like dotted_key, best first; never empty."""
    every = [entry.name for entry in keys(sections=True, schema=schema)]
    last = dotted_key.rsplit(".", 1)[-1]
    same_last = [name for name in every if name.rsplit(".", 1)[-1] == last]
    close = difflib.get_close_matches(dotted_key, every, n=limit, cutoff=0.6)
    close_last = [name for name in every
                  if difflib.get_close_matches(last, [name.rsplit(".", 1)[-1]], cutoff=0.75)]
    found = list(dict.fromkeys(same_last + close + close_last))[:limit]
    if found:
        return found
    # Nothing alike: offer what lives under the longest known prefix, or the sections.
    parts = dotted_key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        children = [name for name in every
                    if name.startswith(prefix + ".") and "." not in name[len(prefix) + 1:]]
        if children:
            return children
    return [name for name in every if "." not in name]


def parse_value(dotted_key, text, schema=SCHEMA):
    """The value TEXT means for a value key: "true"/"false", "null"/"none" and numbers
    become booleans, None and numbers when the key's type allows them; otherwise the
    text stays a string, so validation can say what is wrong with it.

    Sections and lists are refused: lists change with parse_item and add/remove."""
    entry = lookup(dotted_key, schema)
    if entry.kind == "section":
        children = [name for name in (k.name for k in keys(sections=True, schema=schema))
                    if name.startswith(dotted_key + ".") and "<" not in name]
        raise ConfigError(f"{dotted_key} is a section, not a value; set one of its keys: "
                          f"{', '.join(children)}")
    if entry.kind == "list":
        raise ConfigError(f"{dotted_key} is a list; change it one item at a time with "
                          f"add-item and remove-item")
    return _parse(entry.schema, text)


def parse_item(dotted_key, text, schema=SCHEMA):
    """The value TEXT means as one item of the list at dotted_key; refused for other keys."""
    entry = lookup(dotted_key, schema)
    if entry.kind != "list":
        what = "a section" if entry.kind == "section" else f"a single value ({entry.type})"
        raise ConfigError(f"{dotted_key} is not a list but {what}; only lists take items")
    return _parse(entry.schema.get("items", {}), text)


def _parse(schema, text):
    kinds = _types(schema) or ["string"]
    word = text.strip().lower()
    if "null" in kinds and word in NULL_WORDS:
        return None
    if "boolean" in kinds and word in ("true", "false"):
        return word == "true"
    if ("integer" in kinds or "number" in kinds) and INTEGER.match(text.strip()):
        return int(text)
    if "number" in kinds and NUMBER.match(text.strip()):
        return float(text)
    return text


def format_value(value):
    """A value as an operator would type it: 80, true, null, 1G, [alice, bob]."""
    import json

    if isinstance(value, str):
        plain = value and value == value.strip() and not re.search(r"[\s:#,\[\]{}'\"]", value)
        reads_as_other = value.lower() in NULL_WORDS + ("true", "false") or NUMBER.match(value)
        return value if plain and not reads_as_other else json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {format_value(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)
