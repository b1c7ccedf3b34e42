"""A checked-out repository's configuration files, read the way repo2docker reads them.

Where the files are (repo2docker's BuildPack.binder_dir): a `binder/` or `.binder/`
directory holds them and every configuration file at the root is then ignored; a
repository with both directories is refused, as repo2docker refuses it.

Which files decide (repo2docker's ordered buildpacks, the first that matches wins:
Docker, Julia, Nix, R, Conda, Pipfile, Python):

- a Dockerfile, Project.toml/JuliaProject.toml, REQUIRE, default.nix, an R runtime.txt,
  DESCRIPTION or install.R select a buildpack this hub cannot honour: refused, naming
  the file, so a repository never gets a silent partial build;
- environment.yml (or .yaml): a conda environment. A requirements.txt, runtime.txt,
  Pipfile or setup.py beside it is ignored, as repo2docker ignores them;
- Pipfile.lock (exact versions) or else Pipfile: a PyPI environment (builder.pipenv),
  dev-packages included, as `pipenv install --dev` does; a setup.py is installed only
  when the Pipfile names the repository (`path = "."`);
- otherwise a PyPI environment ("pypi") whenever repo2docker's Python buildpack would
  build one: requirements.txt, a Python runtime.txt, a Python package at the root
  (setup.py, or a pyproject.toml with [project] and [build-system]; installed with
  `pip install .` after the environment) or a postBuild, which needs an environment to
  run in. Lines like `-e .` install the repository after the rest;
- none of these: kind "none", the hub's default environment plus the content, as on
  mybinder.org (a start script or apt.txt still apply).

The config hash covers exactly the files honoured, so a change to an ignored file does
not rebuild. `actions` says, for the build log, what is done with each file read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import BuilderError

BINDER_DIRS = ("binder", ".binder")
# (file, what it means) in repo2docker's buildpack order, before conda: each would make
# repo2docker build something this hub does not build.
UNSUPPORTED_FIRST = (
    ("Dockerfile", "a Dockerfile"),
    ("Project.toml", "Julia"),
    ("JuliaProject.toml", "Julia"),
    ("REQUIRE", "Julia"),
    ("default.nix", "Nix"),
)
ENVIRONMENT_FILES = ("environment.yml", "environment.yaml")
PIPENV_FILES = ("Pipfile", "Pipfile.lock")
IMAGE_ONLY_FILES = (".dockerignore", ".containerignore")
HASH_FORMAT = b"hubstead-binder-config-1\n"

PYTHON_RUNTIME = re.compile(r"^python-(\d+)(?:\.(\d+))?(?:\.\d+)?$")
# Debian policy 5.6.1: lower-case letters, digits, + - and ., two characters at least,
# starting with a letter or digit. Anything else (a version, an option, a shell word)
# is refused: the names end up on an apt-get command line.
DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# requirements.txt lines that install the repository itself (repo2docker's
# is_local_pip_requirement): a lock cannot name them, so they are installed after it.
LOCAL_REQUIREMENT = re.compile(r"^(-e\s+|--editable[=\s]+)?(\.|/|file:)")
SUPPORTED_HINT = ("this hub builds environment.yml, requirements.txt, Pipfile, setup.py/pyproject.toml, "
                  "runtime.txt, apt.txt, postBuild and start")


@dataclass(frozen=True)
class RepoConfig:
    """What a repository asks for. files maps each honoured configuration file's name to
    its path; ignored lists the configuration files repo2docker would also ignore, with
    why; actions lists (file, what the build does with it) for the log."""

    root: Path
    config_dir: str  # "", "binder" or ".binder"
    kind: str  # conda | pypi | none
    files: dict = field(default_factory=dict)
    python_version: str | None = None  # "X.Y" from runtime.txt or Pipfile, for kind pypi
    apt_packages: tuple = ()
    post_build: Path | None = None
    start: Path | None = None
    ignored: tuple = ()
    config_hash: str = ""
    requirements: str | None = None  # kind pypi: the requirement lines to lock (may be "")
    # What `pip install` takes once the environment is built: "." for the repository's
    # own package, or the local paths requirements.txt names (relative to the checkout).
    install_repo: tuple = ()
    actions: tuple = ()
    # R from Debian (builder.rpackages): kind pypi plus R, IRkernel and r-cran-* packages.
    r_packages: tuple | None = None  # None: not an R repository
    r_version: str | None = None  # X.Y an R runtime.txt asks for

    @property
    def spec_file(self):
        """The environment file a conda build reads; None for the other kinds."""
        return next((self.files[name] for name in ENVIRONMENT_FILES if name in self.files), None) \
            if self.kind == "conda" else None

    @property
    def spec_name(self):
        """The name of the spec the worker reads, which its messages show: the
        repository's own environment file name, or requirements.txt."""
        return self.spec_file.name if self.kind == "conda" else "requirements.txt"

    @property
    def depends_on_content(self):
        """A postBuild or the repository's own package may read any file: such a build is
        made per commit, not shared across commits of one configuration."""
        return bool(self.post_build or self.install_repo)


def read_repo(root):
    """The RepoConfig of the checkout at root; BuilderError naming the file for anything
    this hub cannot honour or a configuration file it cannot read."""
    root = Path(root)
    config_dir = find_config_dir(root)
    base = root / config_dir

    def found(name):
        return _config_file(root, base / name)

    def at_root(name):  # repo2docker reads DESCRIPTION, setup.py, pyproject.toml only so
        return None if config_dir else _config_file(root, root / name)

    def shown(name):
        return f"{config_dir}/{name}" if config_dir else name

    for name, what in UNSUPPORTED_FIRST:
        if found(name):
            raise BuilderError(f"repositories with {shown(name)} ({what}) are not supported yet; {SUPPORTED_HINT}")
    runtime_file = found("runtime.txt")
    runtime = _read_text(runtime_file, shown("runtime.txt")).strip() if runtime_file else None
    if at_root("DESCRIPTION"):
        raise BuilderError(f"repositories with DESCRIPTION (an R package) are not supported yet; {SUPPORTED_HINT}")

    files, ignored, actions = {}, [], []
    fields = {}
    environment_file = next(((name, path) for name in ENVIRONMENT_FILES if (path := found(name))), None)
    install_r = found("install.R")
    if install_r and environment_file and not (runtime or "").startswith("r-"):
        raise BuilderError(f"{shown('install.R')} beside {shown(environment_file[0])} (R from conda) is not "
                           f"supported yet; {SUPPORTED_HINT}, or R from Debian with install.R alone")
    if (runtime or "").startswith("r-") or install_r:
        if environment_file:
            ignored.append(f"{shown(environment_file[0])}: an R runtime.txt takes precedence (as in repo2docker)")
        # repo2docker's R buildpack is its Python one plus R: requirements.txt still counts.
        kind, fields = _read_python(found, at_root, shown, None, None, files, ignored, actions)
        kind, fields = "pypi", {"requirements": "", **fields,
                                **_read_r(runtime, runtime_file, install_r, shown, files, actions)}
    elif environment_file:
        kind = "conda"
        name, files[name] = environment_file
        actions.append((shown(name), "conda packages solved with py-rattler, its pip: part with uv, locked"))
        for other in ("requirements.txt", "requirements3.txt", "runtime.txt", *PIPENV_FILES):
            if found(other):
                ignored.append(f"{shown(other)}: {name} takes precedence (as in repo2docker)")
        for other in ("setup.py", "pyproject.toml"):
            if at_root(other):
                ignored.append(f"{other}: {name} takes precedence (as in repo2docker)")
    elif found("Pipfile") or found("Pipfile.lock"):
        kind = "pypi"
        fields = _read_pipenv(found("Pipfile"), found("Pipfile.lock"), shown, config_dir, files, ignored, actions)
        if runtime is not None:
            ignored.append(f"{shown('runtime.txt')}: with a Pipfile, its [requires] decides the Python "
                           "(as in repo2docker)")
        _ignore_python_files(found, at_root, shown, ignored, fields.get("install_repo"), "the Pipfile")
    else:
        kind, fields = _read_python(found, at_root, shown, runtime, runtime_file, files, ignored, actions)

    apt_file = found("apt.txt")
    apt_packages = ()
    if apt_file:
        files["apt.txt"] = apt_file
        apt_packages = parse_apt(_read_text(apt_file, shown("apt.txt")), shown("apt.txt"))
        actions.append((shown("apt.txt"), f"Debian packages installed: {' '.join(apt_packages) or 'none listed'}"))
    post_build, start = found("postBuild"), found("start")
    if post_build and kind == "none":
        kind, fields = "pypi", {**fields, "requirements": ""}
    for name, path, what in (("postBuild", post_build, "run once after the environment is built, in the sandbox"),
                             ("start", start, "servers launched from this build start through it")):
        if path:
            files[name] = path
            actions.append((shown(name), what))
    for name in IMAGE_ONLY_FILES:
        if _config_file(root, root / name):
            ignored.append(f"{name}: it shapes repo2docker's image; here learners get the whole repository "
                           "with nbgitpuller")
    if kind == "none":
        actions.append(("(no environment file)", "the hub's default environment serves this repository"))
    return RepoConfig(root=root, config_dir=config_dir, kind=kind, files=files, apt_packages=apt_packages,
                      post_build=post_build, start=start, ignored=tuple(ignored), actions=tuple(actions),
                      config_hash=config_hash(root, files), **fields)


def _read_r(runtime, runtime_file, install_r, shown, files, actions):
    from . import rpackages

    fields = {"r_packages": ()}
    if runtime is not None:
        files["runtime.txt"] = runtime_file
        fields["r_version"], date = rpackages.parse_r_runtime(runtime)
        actions.append((shown("runtime.txt"), f"Debian's R{' (the snapshot date ' + date + ' is not used)' if date else ''}"
                        f"{'; it must be R ' + fields['r_version'] if fields['r_version'] else ''}"))
    if install_r:
        files["install.R"] = install_r
        fields["r_packages"] = rpackages.parse_install_r(_read_text(install_r, shown("install.R")), shown("install.R"))
        actions.append((shown("install.R"), "its packages installed from Debian: "
                        + (" ".join(rpackages.debian_packages(fields["r_packages"])[2:]) or "none listed")))
    return fields


def _read_python(found, at_root, shown, runtime, runtime_file, files, ignored, actions):
    """repo2docker's Python buildpack: (kind, RepoConfig fields)."""
    fields = {}
    requirements_txt = found("requirements.txt")
    package = _python_package(at_root)
    if requirements_txt:
        files["requirements.txt"] = requirements_txt
        lines, local = _split_requirements(requirements_txt, shown("requirements.txt"))
        fields["requirements"] = "".join(f"{line}\n" for line in lines)
        fields["install_repo"] = tuple(_local_target(line) for line in local)
        actions.append((shown("requirements.txt"), "PyPI packages resolved with uv, locked with hashes"
                        + (f"; {', '.join(local)} installs the repository after them" if local else "")))
    if found("requirements3.txt"):
        ignored.append(f"{shown('requirements3.txt')}: repo2docker reads it only beside a Python 2 runtime.txt, "
                       "and Python 2 is not supported")
    if runtime is not None:
        files["runtime.txt"] = runtime_file
        fields["python_version"] = parse_runtime(runtime, shown("runtime.txt"))
        actions.append((shown("runtime.txt"), f"Python {fields['python_version'] or '3 (this machine’s)'}"))
    if package:
        files[package.name] = package
        fields["install_repo"] = tuple(dict.fromkeys((*fields.get("install_repo", ()), ".")))
        actions.append((package.name, "the repository is installed as a package (pip install .)"))
    elif at_root("pyproject.toml"):
        ignored.append("pyproject.toml: not a package ([project] and [build-system] both needed), "
                       "as repo2docker judges it")
    if not (requirements_txt or runtime is not None or package):
        return "none", fields
    fields.setdefault("requirements", "")
    return "pypi", fields


def _python_package(at_root):
    """setup.py, or a pyproject.toml with [project] and [build-system], at the root."""
    setup_py = at_root("setup.py")
    if setup_py:
        return setup_py
    pyproject = at_root("pyproject.toml")
    if pyproject is None:
        return None
    try:
        import tomllib
    except ImportError:  # Python 3.10 (Ubuntu 22.04)
        import tomli as tomllib
    try:
        data = tomllib.loads(_read_text(pyproject, "pyproject.toml"))
    except tomllib.TOMLDecodeError as error:
        raise BuilderError(f"pyproject.toml is not valid TOML: {error}") from None
    return pyproject if "project" in data and "build-system" in data else None


def _read_pipenv(pipfile, lock, shown, config_dir, files, ignored, actions):
    from .pipenv import read_pipenv

    for name, path in (("Pipfile", pipfile), ("Pipfile.lock", lock)):
        if path:
            files[name] = path
    plan = read_pipenv(pipfile, lock, config_dir)
    ignored.extend(plan.notes)
    source = shown("Pipfile.lock" if plan.from_lock else "Pipfile")
    actions.append((source, ("the locked packages and dev-packages installed with uv" if plan.from_lock else
                             "packages and dev-packages resolved with uv, locked with hashes")
                    + ("; the repository is installed as a package" if plan.install_repo else "")))
    return {"requirements": "".join(f"{line}\n" for line in plan.requirements),
            "python_version": parse_runtime(f"python-{plan.python_version}", source) if plan.python_version else None,
            "install_repo": (".",) if plan.install_repo else ()}


def _ignore_python_files(found, at_root, shown, ignored, installs_repo, decider):
    for name in ("requirements.txt", "requirements3.txt"):
        if found(name):
            ignored.append(f"{shown(name)}: {decider} takes precedence (as in repo2docker)")
    for name in ("setup.py", "pyproject.toml"):
        if at_root(name) and not installs_repo:
            ignored.append(f"{name}: {decider} does not name the repository (path = \".\"), so it is not "
                           "installed (as in repo2docker)")


def find_config_dir(root):
    """"binder" or ".binder" when the repository has that directory, "" for the root."""
    present = [name for name in BINDER_DIRS if (Path(root) / name).is_dir()]
    if len(present) == 2:
        raise BuilderError("the repository has both a binder/ and a .binder/ directory; "
                           "repo2docker refuses that too: keep one")
    if present:
        _inside(Path(root), Path(root) / present[0], present[0])
    return present[0] if present else ""


def _config_file(root, path):
    """path when it exists as a file inside the repository; None when absent."""
    if not path.exists() and not path.is_symlink():
        return None
    shown = path.relative_to(root).as_posix()
    _inside(root, path, shown)
    if not path.is_file():
        raise BuilderError(f"{shown} is not a file")
    return path


def _inside(root, path, shown):
    # A symlinked configuration file could make the build read (and print) a file of
    # the machine, e.g. binder/requirements.txt -> /etc/shadow.
    if not path.resolve().is_relative_to(root.resolve()):
        raise BuilderError(f"{shown} is a link to outside the repository")


def _read_text(path, shown):
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BuilderError(f"{shown} is not UTF-8 text") from None
    except OSError as error:
        raise BuilderError(f"cannot read {shown}: {error.strerror}") from None


def parse_runtime(text, shown="runtime.txt"):
    """"X.Y" for python-X.Y (python-X.Y.Z counts as X.Y, as in repo2docker); None for a
    bare python-3 (the default Python 3). Anything else is refused."""
    match = PYTHON_RUNTIME.match(text.strip())
    if not match:
        raise BuilderError(f"{shown}: {text.strip()!r} is not a Python runtime; write python-X.Y, e.g. python-3.11")
    major, minor = match.groups()
    if major != "3":
        raise BuilderError(f"{shown}: Python {major} is not supported; use python-3.X")
    return f"{major}.{minor}" if minor is not None else None


def parse_apt(text, shown="apt.txt"):
    """The Debian package names an apt.txt lists, in order, once each: comments and blank
    lines skipped, several names on a line allowed; a line that is not package names
    is refused with its line number."""
    packages = []
    for number, line in enumerate(text.splitlines(), start=1):
        for word in line.partition("#")[0].split():
            if not DEBIAN_PACKAGE.match(word):
                raise BuilderError(f"{shown} line {number}: {word!r} is not a Debian package name "
                                   "(lower-case letters, digits, + - .; no versions or options)")
            if word not in packages:
                packages.append(word)
    return tuple(packages)


def _split_requirements(path, shown):
    """(the lines to lock, the lines that install the repository itself)."""
    lines, local = [], []
    for line in _read_text(path, shown).splitlines():
        if LOCAL_REQUIREMENT.match(line.strip()):
            local.append(line.strip())
        else:
            lines.append(line)
    return lines, local


def _local_target(line):
    """`-e ./pkg` -> "./pkg": installed (not editable: the checkout is not kept)."""
    target = re.sub(r"^(-e\s+|--editable[=\s]+)", "", line).split(" #", 1)[0].strip()
    target = target.removeprefix("file://").removeprefix("file:") or "."
    if Path(target).is_absolute() or ".." in Path(target).parts:
        raise BuilderError(f"requirements.txt: {line!r} names a path outside the repository")
    return target


def config_hash(root, files):
    """sha256 over the honoured configuration files' paths (relative to root) and bytes,
    each framed with its length, so no two different sets hash alike."""
    digest = hashlib.sha256(HASH_FORMAT)
    for path in sorted(Path(p).relative_to(root).as_posix() for p in files.values()):
        content = (Path(root) / path).read_bytes()
        name = path.encode()
        digest.update(b"%d:%s\n%d:" % (len(name), name, len(content)))
        digest.update(content)
    return digest.hexdigest()


FULL_COMMIT = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def cache_key(commit, config_hash):
    """The name a build of this commit and configuration is cached under. 12 hex digits
    of each (48 bits) keep it short in listings; collisions need both to collide."""
    if not FULL_COMMIT.match(commit or ""):
        raise BuilderError(f"{commit!r} is not a full commit id")
    if not SHA256.match(config_hash or ""):
        raise BuilderError(f"{config_hash!r} is not a configuration hash")
    return f"{commit[:12]}-{config_hash[:12]}"
