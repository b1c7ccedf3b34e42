"""A checked-out repository's configuration files, read the way repo2docker reads them.

Where the files are (repo2docker's BuildPack.binder_dir): a `binder/` or `.binder/`
directory holds them and every configuration file at the root is then ignored; a
repository with both directories is refused, as repo2docker refuses it.

Which files decide (repo2docker's ordered buildpacks, the first that matches wins:
Docker, Julia, Nix, R, Conda, Pipfile, Python):

- a Dockerfile, Project.toml/JuliaProject.toml, REQUIRE, default.nix, an R runtime.txt,
  DESCRIPTION or install.R select a buildpack this hub cannot honour yet: refused,
  naming the file, so a repository never gets a silent partial build;
- environment.yml: a conda environment. A requirements.txt, runtime.txt, Pipfile or
  setup.py beside it is ignored, as repo2docker ignores them (its CondaBuildPack comes
  first; the Python version is the one environment.yml pins);
- Pipfile or Pipfile.lock: refused;
- requirements.txt: a PyPI environment, with the Python of runtime.txt (`python-X.Y`);
  a setup.py at the root (no binder directory) is refused, since repo2docker would
  `pip install .` it;
- none of these: kind "none", the hub's default environment plus the content, as on
  mybinder.org.

apt.txt, postBuild and start apply to every kind. The config hash covers exactly the
files honoured, so a change to an ignored file does not rebuild.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import BuilderError

BINDER_DIRS = ("binder", ".binder")
# (file, what it means) in repo2docker's buildpack order, before conda: each would make
# repo2docker build something this hub does not build yet.
UNSUPPORTED_FIRST = (
    ("Dockerfile", "a Dockerfile"),
    ("Project.toml", "Julia"),
    ("JuliaProject.toml", "Julia"),
    ("REQUIRE", "Julia"),
    ("default.nix", "Nix"),
    ("install.R", "R"),
)
PIPENV_FILES = ("Pipfile", "Pipfile.lock")
HASH_FORMAT = b"hubstead-binder-config-1\n"

PYTHON_RUNTIME = re.compile(r"^python-(\d+)(?:\.(\d+))?(?:\.\d+)?$")
# Debian policy 5.6.1: lower-case letters, digits, + - and ., two characters at least,
# starting with a letter or digit. Anything else (a version, an option, a shell word)
# is refused: the names end up on an apt-get command line.
DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# requirements.txt lines that install the repository itself (repo2docker's
# is_local_pip_requirement): they need the whole checkout, which a lock cannot name.
LOCAL_REQUIREMENT = re.compile(r"^(-e\s+|--editable[=\s]+)?(\.|\./|file:)")
SUPPORTED_HINT = "this hub builds environment.yml and requirements.txt"


@dataclass(frozen=True)
class RepoConfig:
    """What a repository asks for. files maps each honoured configuration file's name to
    its path; ignored lists the configuration files repo2docker would also ignore, with why."""

    root: Path
    config_dir: str  # "", "binder" or ".binder"
    kind: str  # conda | pypi | none
    files: dict = field(default_factory=dict)
    python_version: str | None = None  # "X.Y" from runtime.txt, for kind pypi or none
    apt_packages: tuple = ()
    post_build: Path | None = None
    start: Path | None = None
    ignored: tuple = ()
    config_hash: str = ""

    @property
    def spec_file(self):
        """The environment.yml or requirements.txt to build from; None for kind none."""
        return self.files.get({"conda": "environment.yml", "pypi": "requirements.txt"}.get(self.kind, ""))


def read_repo(root):
    """The RepoConfig of the checkout at root; BuilderError naming the file for anything
    this hub cannot honour or a configuration file it cannot read."""
    root = Path(root)
    config_dir = find_config_dir(root)
    base = root / config_dir

    def found(name):
        return _config_file(root, base / name)

    def shown(name):
        return f"{config_dir}/{name}" if config_dir else name

    for name, what in UNSUPPORTED_FIRST:
        if found(name):
            raise BuilderError(f"repositories with {shown(name)} ({what}) are not supported yet; {SUPPORTED_HINT}")
    runtime_file = found("runtime.txt")
    runtime = _read_text(runtime_file, shown("runtime.txt")).strip() if runtime_file else None
    if runtime is not None and runtime.startswith("r-"):
        raise BuilderError(f"repositories with an R runtime.txt ({runtime}) are not supported yet; {SUPPORTED_HINT}")
    # repo2docker reads DESCRIPTION (an R package) and setup.py at the root only, and only
    # when there is no binder directory.
    if not config_dir and _config_file(root, root / "DESCRIPTION"):
        raise BuilderError(f"repositories with DESCRIPTION (an R package) are not supported yet; {SUPPORTED_HINT}")

    files, ignored = {}, []
    environment_yml, requirements_txt = found("environment.yml"), found("requirements.txt")
    python_version = None
    if environment_yml:
        kind = "conda"
        files["environment.yml"] = environment_yml
        for name in ("requirements.txt", "runtime.txt", *PIPENV_FILES):
            if found(name):
                ignored.append(f"{shown(name)}: environment.yml takes precedence (as in repo2docker)")
        if not config_dir and _config_file(root, root / "setup.py"):
            ignored.append("setup.py: environment.yml takes precedence (as in repo2docker)")
    else:
        for name in PIPENV_FILES:
            if found(name):
                raise BuilderError(f"repositories with {shown(name)} (Pipenv) are not supported yet; "
                                   f"{SUPPORTED_HINT}")
        if not config_dir and _config_file(root, root / "setup.py"):
            raise BuilderError("repositories with setup.py (installing the repository as a package) are not "
                               f"supported yet; {SUPPORTED_HINT}, or put them in a binder/ directory")
        kind = "pypi" if requirements_txt else "none"
        if requirements_txt:
            files["requirements.txt"] = requirements_txt
            _check_requirements(requirements_txt, shown("requirements.txt"))
        if runtime is not None:
            files["runtime.txt"] = runtime_file
            python_version = parse_runtime(runtime, shown("runtime.txt"))

    apt_file = found("apt.txt")
    apt_packages = ()
    if apt_file:
        files["apt.txt"] = apt_file
        apt_packages = parse_apt(_read_text(apt_file, shown("apt.txt")), shown("apt.txt"))
    post_build, start = found("postBuild"), found("start")
    for name, path in (("postBuild", post_build), ("start", start)):
        if path:
            files[name] = path
    return RepoConfig(root=root, config_dir=config_dir, kind=kind, files=files, python_version=python_version,
                      apt_packages=apt_packages, post_build=post_build, start=start, ignored=tuple(ignored),
                      config_hash=config_hash(root, files))


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


def _check_requirements(path, shown):
    for number, line in enumerate(_read_text(path, shown).splitlines(), start=1):
        if LOCAL_REQUIREMENT.match(line.strip()):
            raise BuilderError(f"{shown} line {number}: {line.strip()!r} installs the repository itself, "
                               "which is not supported yet; list its dependencies instead")


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
