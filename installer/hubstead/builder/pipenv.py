"""A Pipfile / Pipfile.lock turned into what uv installs, the way repo2docker uses pipenv.

repo2docker runs `pipenv install --dev --system` in the configuration directory: with a
Pipfile.lock it installs exactly the lock (`--ignore-pipfile`: a package in Pipfile but
not in the lock is NOT installed), without one it installs the Pipfile unlocked
(`--skip-lock`). Both [packages] and [dev-packages] (the lock's "default" and
"develop") are installed. The Python asked for comes from the lock's
`_meta.requires`, then the Pipfile's [requires] (python_full_version or python_version).

    plan = read_pipenv(Path("binder/Pipfile"), Path("binder/Pipfile.lock"), config_dir="binder")
    plan.requirements      # lines for `uv pip install -r`, `--hash=` on each line from a lock
    plan.python_version    # "3.11", or None for "any Python 3" / not said
    plan.install_repo      # an entry `path = "."` (".." from binder/) names the repository itself

The repository itself is not among the lines: it is installed in its own step from the
checkout (a path cannot be hash-checked). Its dependencies are in the lines when they
come from a lock (pipenv locks them), and come with `pip install .` otherwise.

Anything this cannot express faithfully is a BuilderError naming the file and entry,
one line. Pure: reads the two files it is given and nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from . import BuilderError

try:  # Python 3.11+; the hub's venv on Ubuntu 22.04 is 3.10, which has tomli (locks/hub.txt)
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - depends on the interpreter
    import tomli as tomllib

# A requirement's name (PEP 508), so nothing else reaches a requirements line.
NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
HASH = re.compile(r"^(sha256|sha384|sha512):[0-9a-f]+$")
VERSION_PREFIX = re.compile(r"\d+(\.\d+)*")
# PEP 508 marker variables pipenv accepts as keys of a package's table.
MARKER_KEYS = ("os_name", "sys_platform", "platform_machine", "platform_python_implementation",
               "platform_release", "platform_system", "platform_version", "python_version",
               "python_full_version", "implementation_name", "implementation_version")
# Keys of a package's table with no effect on what gets installed here.
HARMLESS_KEYS = {"editable"}
PYPI_HOSTS = ("https://pypi.org/simple", "https://pypi.python.org/simple")
# What repo2docker's major-only versions mean (its major_pythons): 3 is the default.
MAJOR_ONLY = {"2": "2.7", "3": None}


@dataclass(frozen=True)
class PipenvPlan:
    requirements: tuple = ()
    python_version: str | None = None
    install_repo: bool = False
    from_lock: bool = False
    # What was read and not applied, one line each, for the build log.
    notes: tuple = field(default=())


def read_pipenv(pipfile: Path | None, lock: Path | None, config_dir: str = "") -> PipenvPlan:
    """The plan for a configuration directory's Pipfile and Pipfile.lock (either may be
    None). config_dir ("", "binder", ".binder") is where they are in the repository, so
    that a `path` entry can be told to be the repository itself."""
    if pipfile is None and lock is None:
        raise BuilderError("neither Pipfile nor Pipfile.lock given")
    prefix = f"{config_dir}/" if config_dir else ""
    pipfile_data = _load_toml(pipfile, f"{prefix}Pipfile") if pipfile is not None else {}
    if lock is not None:
        lock_data = _load_lock(lock, f"{prefix}Pipfile.lock")
        plan = plan_from_lock(lock_data, f"{prefix}Pipfile.lock", config_dir)
        python = plan.python_version if plan.python_version is not None else (
            _python_from_requires(pipfile_data.get("requires"), f"{prefix}Pipfile"))
        notes = plan.notes + ((f"{prefix}Pipfile: not read for packages, Pipfile.lock takes precedence "
                               "(as in repo2docker)",) if pipfile is not None else ())
        return PipenvPlan(requirements=plan.requirements, python_version=python,
                          install_repo=plan.install_repo, from_lock=True, notes=notes)
    return plan_from_pipfile(pipfile_data, f"{prefix}Pipfile", config_dir)


def plan_from_pipfile(data: dict, shown: str = "Pipfile", config_dir: str = "") -> PipenvPlan:
    """From a parsed Pipfile: unlocked requirements for both sections."""
    sources = _sources(data.get("source", []), shown)
    lines, install_repo = [], False
    for section in ("packages", "dev-packages"):
        packages = data.get(section, {})
        if not isinstance(packages, dict):
            raise BuilderError(f"{shown}: [{section}] is not a table of packages")
        for name, spec in packages.items():
            where = f"{shown} [{section}] {name}"
            line = _pipfile_line(name, spec, where, sources, config_dir)
            if line is None:
                install_repo = True
            elif line not in lines:
                lines.append(line)
    settings = data.get("pipenv", {})
    if isinstance(settings, dict) and settings.get("allow_prereleases"):
        raise BuilderError(f"{shown} [pipenv] allow_prereleases is not supported; pin the pre-release instead")
    return PipenvPlan(requirements=tuple(lines), python_version=_python_from_requires(data.get("requires"), shown),
                      install_repo=install_repo, from_lock=False)


def plan_from_lock(data: dict, shown: str = "Pipfile.lock", config_dir: str = "") -> PipenvPlan:
    """From a parsed Pipfile.lock: the locked "default" and "develop" entries, each with
    its hashes."""
    meta = data.get("_meta", {})
    if not isinstance(meta, dict):
        raise BuilderError(f"{shown}: _meta is not an object")
    sources = _sources(meta.get("sources", []), shown)
    lines, install_repo, hashed, unhashed = [], False, [], []
    for section in ("default", "develop"):
        entries = data.get(section, {})
        if not isinstance(entries, dict):
            raise BuilderError(f"{shown}: \"{section}\" is not an object of packages")
        for name, entry in entries.items():
            where = f"{shown} \"{section}\" {name}"
            if not isinstance(entry, dict):
                raise BuilderError(f"{where}: an entry is an object with a version and hashes")
            line = _lock_line(name, entry, where, sources, config_dir)
            if line is None:
                install_repo = True
                continue
            (hashed if "--hash=" in line else unhashed).append(where)
            if line not in lines:
                lines.append(line)
    if hashed and unhashed:
        # uv checks hashes for all or none: one entry without them would fail the install.
        raise BuilderError(f"{unhashed[0]}: has no hashes while other entries do; lock it again with pipenv")
    return PipenvPlan(requirements=tuple(lines), python_version=_python_from_requires(meta.get("requires"), shown),
                      install_repo=install_repo, from_lock=True)


def _pipfile_line(name, spec, where, sources, config_dir):
    """A requirements line, or None for the repository itself."""
    _check_name(name, where)
    if isinstance(spec, str):
        return _requirement(name, version=spec, where=where)
    if not isinstance(spec, dict):
        raise BuilderError(f"{where}: write a version string (\"*\", \">=1.0\") or a table")
    known = {"version", "extras", "markers", "index", "path", "git", "ref", "subdirectory", "file",
             *MARKER_KEYS, *HARMLESS_KEYS}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise BuilderError(f"{where}: {unknown[0]!r} is not supported")
    _check_index(spec.get("index"), where, sources)
    if "path" in spec:
        return _local_path(spec, where, config_dir)
    markers = [spec["markers"]] if spec.get("markers") else []
    for key in MARKER_KEYS:
        if key in spec:
            markers.append(_marker_from_key(key, spec[key], where))
    return _requirement(name, version=spec.get("version", "*"), extras=spec.get("extras", ()),
                        markers=markers, url=_url(spec, where), where=where)


def _lock_line(name, entry, where, sources, config_dir):
    _check_name(name, where)
    _check_index(entry.get("index"), where, sources)
    if "path" in entry:
        return _local_path(entry, where, config_dir)
    url = _url(entry, where)
    if url is None and not entry.get("version"):
        raise BuilderError(f"{where}: has no version")
    hashes = entry.get("hashes", [])
    if not isinstance(hashes, list) or not all(isinstance(h, str) and HASH.match(h) for h in hashes):
        raise BuilderError(f"{where}: its hashes are not a list of sha256:HEX")
    if hashes and url is not None:
        raise BuilderError(f"{where}: a git or file entry cannot be hash-checked; lock it again with pipenv")
    markers = [entry["markers"]] if entry.get("markers") else []
    line = _requirement(name, version=entry.get("version") if url is None else "*", extras=entry.get("extras", ()),
                        markers=markers, url=url, where=where)
    return " ".join([line, *(f"--hash={h}" for h in hashes)])


def _requirement(name, version="*", extras=(), markers=(), url=None, where=""):
    """One PEP 508 requirement, checked by packaging's parser so that no string from
    the file can add an option (`--index-url ...`) or a second line."""
    if not isinstance(version, str) or not isinstance(extras, (list, tuple)):
        raise BuilderError(f"{where}: version must be a string and extras a list")
    for extra in extras:
        if not isinstance(extra, str) or not NAME.match(extra):
            raise BuilderError(f"{where}: {extra!r} is not an extra's name")
    text = name + (f"[{','.join(extras)}]" if extras else "")
    if url is not None:
        text += f" @ {url}"
    elif version.strip() != "*":
        try:
            text += str(SpecifierSet(version))
        except InvalidSpecifier:
            raise BuilderError(f"{where}: {version!r} is not a version specifier (\"*\", \">=1.0\", \"==2.1\")") \
                from None
    for marker in markers:
        try:
            Marker(marker)
        except (InvalidMarker, TypeError):
            raise BuilderError(f"{where}: {marker!r} is not an environment marker") from None
    if markers:
        text += " ; " + " and ".join(f"({m})" for m in markers)
    if "\n" in text or "\r" in text or " --" in text:
        raise BuilderError(f"{where}: must be one requirement")
    try:
        Requirement(text)
    except InvalidRequirement as error:
        raise BuilderError(f"{where}: {str(error).splitlines()[0]}") from None
    return text


def _url(spec, where):
    """`git+URL@ref#subdirectory=...` or a file URL, or None for a PyPI package."""
    if "git" in spec:
        git = spec["git"]
        if not isinstance(git, str) or not re.match(r"^(https?|ssh|git)://[^\s#@]+(@[^\s#@]+)?$", git.removeprefix(
                "git+")):
            raise BuilderError(f"{where}: git = {git!r} is not an http(s), ssh or git URL")
        ref = spec.get("ref")
        if ref is not None and (not isinstance(ref, str) or not re.match(r"^[A-Za-z0-9._/-]+$", ref)):
            raise BuilderError(f"{where}: ref = {ref!r} is not a branch, tag or commit")
        url = "git+" + git.removeprefix("git+") + (f"@{ref}" if ref else "")
        subdirectory = spec.get("subdirectory")
        if subdirectory is not None:
            if not isinstance(subdirectory, str) or not re.match(r"^[A-Za-z0-9._/-]+$", subdirectory):
                raise BuilderError(f"{where}: subdirectory = {subdirectory!r} is not a relative path")
            url += f"#subdirectory={subdirectory}"
        return url
    if "file" in spec:
        file = spec["file"]
        if not isinstance(file, str) or not re.match(r"^https?://\S+$", file):
            raise BuilderError(f"{where}: file = {file!r} is not an http(s) URL")
        return file
    return None


def _local_path(spec, where, config_dir):
    """None when the path is the repository itself; anything else is refused, since the
    checkout is not kept after the build (an editable install would point nowhere)."""
    path = spec["path"]
    if not isinstance(path, str):
        raise BuilderError(f"{where}: path must be a string")
    inside = PurePosixPath(config_dir or ".") / path
    parts = []
    for part in inside.parts:
        if part == "..":
            if not parts:
                raise BuilderError(f"{where}: path = {path!r} leaves the repository")
            parts.pop()
        elif part != ".":
            parts.append(part)
    if parts:
        raise BuilderError(f"{where}: path = {path!r} is not the repository's root; only the repository "
                           "itself can be installed from a path")
    return None


def _check_name(name, where):
    if not NAME.match(name):
        raise BuilderError(f"{where}: not a package name")


def _sources(sources, shown):
    """{name: url} of the file's package indexes."""
    if not isinstance(sources, list):
        raise BuilderError(f"{shown}: [[source]] must be a list of tables")
    found = {}
    for source in sources:
        if not isinstance(source, dict) or not isinstance(source.get("url", ""), str):
            raise BuilderError(f"{shown}: a [[source]] needs a url")
        found[source.get("name", "")] = source.get("url", "").rstrip("/")
    return found


def _check_index(index, where, sources):
    """Packages come from PyPI here (the builder reaches PyPI only): an entry pinned to
    another index is refused rather than silently taken from PyPI."""
    if index is None:
        return
    url = sources.get(index)
    if url is None:
        raise BuilderError(f"{where}: index = {index!r} is not one of the file's [[source]] names")
    if not url.startswith(PYPI_HOSTS):
        raise BuilderError(f"{where}: index {index!r} ({url}) is not PyPI; only PyPI packages are supported")


def _marker_from_key(key, value, where):
    """pipenv's `sys_platform = "== 'linux'"` as the marker `sys_platform == 'linux'`."""
    if not isinstance(value, str) or not value.strip():
        raise BuilderError(f"{where}: {key} must be a comparison string, e.g. \"== 'linux'\"")
    return f"{key} {value.strip()}"


def _python_from_requires(requires, shown):
    """"X.Y" asked for in a [requires] / _meta.requires, None when none or "3"."""
    if requires is None:
        return None
    if not isinstance(requires, dict):
        raise BuilderError(f"{shown}: requires is not a table")
    for key in ("python_full_version", "python_version"):
        value = requires.get(key)
        if not value:
            continue
        match = VERSION_PREFIX.match(str(value))
        if not match:
            raise BuilderError(f"{shown}: {key} = {value!r} is not a Python version")
        parts = match.group().split(".")
        if len(parts) == 1:
            if parts[0] not in MAJOR_ONLY:
                raise BuilderError(f"{shown}: {key} = {value!r} is not a Python version")
            return MAJOR_ONLY[parts[0]]
        return ".".join(parts[:2])
    return None


def _load_toml(path, shown):
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BuilderError(f"{shown} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise BuilderError(f"{shown} is not valid TOML: {error}") from None
    except OSError as error:
        raise BuilderError(f"cannot read {shown}: {error.strerror}") from None


def _load_lock(path, shown):
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BuilderError(f"{shown} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise BuilderError(f"{shown} is not valid JSON: {error.msg} at line {error.lineno}") from None
    except OSError as error:
        raise BuilderError(f"cannot read {shown}: {error.strerror}") from None
    if not isinstance(data, dict):
        raise BuilderError(f"{shown} is not a JSON object")
    return data
