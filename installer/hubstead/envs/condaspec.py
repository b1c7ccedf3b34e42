"""Read an environment.yml into a CondaSpec, with one clear line per mistake.

py-rattler has no environment.yml parser in its Python API, so this is ours; each
conda dependency is checked with rattler's own MatchSpec parser, so what passes here is
what the solver will accept. Pip entries are kept as written: the pip part is locked
and installed with uv, not here.

Accepted top-level keys: name, channels, dependencies (conda's environment file), plus
variables (conda's per-environment variables), platforms (conda-lock's extension) and
prefix (written by `conda env export`; a path on someone else's machine, ignored).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from . import EnvError

KNOWN_KEYS = ("name", "channels", "dependencies", "variables", "platforms", "prefix")


@dataclass(frozen=True)
class CondaSpec:
    name: str | None
    channels: tuple[str, ...]
    dependencies: tuple[str, ...]  # conda match specs, as written
    pip: tuple[str, ...] = ()  # lines of the `- pip:` list, as written
    source: str = "environment.yml"
    variables: dict[str, str] = field(default_factory=dict)
    platforms: tuple[str, ...] = ()


def _line(node, key_or_index=None) -> int | None:
    """1-based line of a round-trip YAML node (or of one of its items), if known."""
    try:
        if key_or_index is None:
            return node.lc.line + 1
        if isinstance(key_or_index, int):
            return node.lc.item(key_or_index)[0] + 1
        return node.lc.key(key_or_index)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _kind(value) -> str:
    for kind, name in ((bool, "a boolean"), (str, "a string"), (dict, "a mapping"),
                       (list, "a list"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return name
    return "empty" if value is None else type(value).__name__


def _fail(source: str, line: int | None, message: str):
    where = f"{source}, line {line}" if line else source
    raise EnvError(f"{where}: {message}")


def _load(text: str, source: str):
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(str(error.problem or error.context or "invalid YAML").split())
        _fail(source, mark.line + 1 if mark else None, f"not valid YAML: {problem}")
    except YAMLError as error:
        _fail(source, None, f"not valid YAML: {' '.join(str(error).split())}")


def _strings(node, key: str, source: str, line: int | None) -> tuple[str, ...]:
    if not isinstance(node, list):
        _fail(source, line, f"{key}: must be a list (one `- item` per line), "
                            f"not {_kind(node)}")
    items = []
    for index, item in enumerate(node):
        if not isinstance(item, str) or not item.strip():
            _fail(source, _line(node, index) or line,
                  f"{key}: item {index + 1} must be a non-empty string, not {item!r}")
        items.append(item.strip())
    return tuple(items)


def check_match_spec(text: str) -> str | None:
    """None if rattler accepts `text` as a conda match spec, else its reason (one line)."""
    from rattler import MatchSpec

    try:
        MatchSpec(text)
    except Exception as error:  # rattler raises InvalidMatchSpecError and relatives
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return None


def _dependencies(node, source: str, line: int | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if node is None:
        _fail(source, line, "dependencies: is empty; list at least one package")
    if not isinstance(node, list):
        _fail(source, line, "dependencies: must be a list (one `- package` per line)")
    conda, pip = [], []
    for index, item in enumerate(node):
        item_line = _line(node, index) or line
        if isinstance(item, str):
            spec = item.strip()
            reason = check_match_spec(spec) if spec else "empty item"
            if reason:
                _fail(source, item_line, f"dependency {item!r} is not a valid conda package "
                                         f"spec: {reason}")
            conda.append(spec)
        elif isinstance(item, dict) and list(item) == ["pip"]:
            pip.extend(_strings(item["pip"] if item["pip"] is not None else [], "pip",
                                source, item_line))
        elif isinstance(item, dict) and len(item) == 1:
            key, value = next(iter(item.items()))
            scalar = isinstance(value, (str, int, float))
            hint = f"; did you mean `- {key}={value}`?" if scalar else ""
            _fail(source, item_line, f"dependency `{key}: ...` is not a package spec (only "
                                     f"`- pip:` may hold a list){hint}")
        else:
            _fail(source, item_line, f"dependency item {index + 1} must be a package spec such "
                                     f"as `numpy>=1.26` or a `- pip:` list, not {item!r}")
    if not conda:
        _fail(source, line, "dependencies: lists no conda package (a pip-only environment "
                            "needs `- python` and `- pip` too)")
    return tuple(conda), tuple(pip)


def parse_environment_yml(text: str, source: str = "environment.yml") -> CondaSpec:
    """Parse an environment.yml's text; `source` names it in error messages.

    Raises EnvError with one line (`SOURCE, line N: what is wrong`) on any mistake.
    """
    document = _load(text, source)
    if document is None:
        _fail(source, None, "is empty; expected name:, channels: and dependencies:")
    if not isinstance(document, dict):
        _fail(source, _line(document), "must be a mapping with name:, channels: and "
                                       f"dependencies:, not {_kind(document)}")
    for key in document:
        if key == "pip":
            _fail(source, _line(document, key), "pip: belongs inside dependencies:, as an "
                                                "item `- pip:` followed by its list")
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(KNOWN_KEYS)})"
            _fail(source, _line(document, key), f"unknown key {key!r}{hint}")

    name = document.get("name")
    if name is not None and not isinstance(name, str):
        _fail(source, _line(document, "name"), f"name: must be a string, not {name!r} "
                                               "(quote it)")
    channels = ()
    if document.get("channels") is not None:
        channels = _strings(document["channels"], "channels", source, _line(document, "channels"))
    if "dependencies" not in document:
        _fail(source, None, "has no dependencies: list")
    conda, pip = _dependencies(document["dependencies"], source, _line(document, "dependencies"))

    variables = {}
    if document.get("variables") is not None:
        node = document["variables"]
        if not isinstance(node, dict):
            _fail(source, _line(document, "variables"), "variables: must be a mapping NAME: value")
        for key, value in node.items():
            if not isinstance(key, str) or isinstance(value, (dict, list)) or value is None:
                _fail(source, _line(node, key), f"variables: {key!r} must map to a single value")
            variables[key] = str(value)
    platforms = ()
    if document.get("platforms") is not None:
        platforms = _strings(document["platforms"], "platforms", source,
                             _line(document, "platforms"))
    return CondaSpec(name=name, channels=channels, dependencies=conda, pip=pip, source=source,
                     variables=variables, platforms=platforms)
