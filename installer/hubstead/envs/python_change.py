"""Environments after a Debian release upgrade (12 -> 13 moves /usr/bin/python3 from
3.11 to 3.13): a PyPI environment is a venv on the system's Python, so its packages
sit in lib/python3.11 where the new interpreter never looks.

The install, run again after the upgrade (README), calls `rebuild_outdated`: each such
environment gets a new build from the lock its current build kept (the same package
versions); a lock without wheels for the new Python is resolved again from the kept
spec. The old build stays until the new one is complete; one that cannot be rebuilt is
named with uv's reason and left as it was. Builds a repository made (launch links) are
not installed as root from the repository's lock: the builder treats an outdated build
as no cache hit (`outdated`), so the next launch builds it again in its sandbox.
Conda environments carry their own Python and are never outdated.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from .. import paths
from . import EnvError, store

SYSTEM_PYTHON = "/usr/bin/python3"


def venv_python(build_dir):
    """'3.11' for a venv made on Python 3.11 (its pyvenv.cfg), None for anything else."""
    try:
        text = (Path(build_dir) / "pyvenv.cfg").read_text()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    values = {key.strip(): value.strip() for key, value in values.items()}
    version = values.get("version_info") or values.get("version") or ""
    return ".".join(version.split(".")[:2]) or None


@functools.lru_cache(maxsize=4)
def system_python(python=SYSTEM_PYTHON):
    """'3.13': the major and minor version of PYTHON (asked once per process)."""
    from .pypi import python_version

    return ".".join(python_version(python).split(".")[:2])


def outdated(build_dir, system=None):
    """True for a venv build whose Python is not the system's any more."""
    made_on = venv_python(build_dir)
    return made_on is not None and made_on != (system or system_python())


def outdated_environments(system=None):
    """[(name, build)] of environments whose current build is outdated."""
    system = system or system_python()
    found = []
    for environment in store.all_environments():
        build = next((item for item in environment.builds if item.current), None)
        if build is None:
            continue  # its current build is not a complete one: nothing to rebuild from
        if outdated(paths.ENVS_DIR / environment.name / build.id, system):
            found.append((environment.name, build))
    return found


def rebuild_outdated(report=print, python=SYSTEM_PYTHON):
    """Rebuild each outdated environment; return {name: new build id or the reason it was not}."""
    from ..builder import records

    system = system_python(python)
    results = {}
    for name, build in outdated_environments(system):
        if records.made_build(name, build.id):
            results[name] = f"built from a repository: its next launch builds it again for Python {system}"
            report(f"environment {name}: {results[name]}")
            continue
        if name != "default" and not store.env_info(name).get("admin_managed"):
            # Only what `hubstead env` made is installed as root from its lock; anything
            # else (a repository's build whose record is gone) waits for an admin.
            results[name] = (f"not rebuilt: not made by `hubstead env`; run `hubstead env update {name} "
                             "--file SPEC` to build it for this Python")
            report(f"environment {name}: {results[name]}")
            continue
        report(f"environment {name}: built for Python {venv_python(paths.ENVS_DIR / name / build.id)}, "
               f"rebuilding for Python {system} from its lock")
        try:
            results[name] = rebuild(name, build, python)
        except EnvError as error:
            results[name] = f"not rebuilt: {error}"
            report(f"environment {name}: {results[name]}")
    return results


def rebuild(name, build, python=SYSTEM_PYTHON):
    """A new build of NAME from BUILD's kept lock (or, failing that, its kept spec)."""
    from . import pypi
    from .manage import building, discard_leftovers

    directory = paths.ENVS_DIR / name
    kept = directory / build.id
    lock = kept / (build.lock_file or "requirements.lock.txt")
    if not lock.is_file():
        raise EnvError(f"its build {build.id} kept no lock to rebuild from")
    with building(name, wait=True):
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=directory))
        try:
            spec = _kept_spec(kept, build, staging)
            try:
                new = pypi.ensure(name, lock, python=python, installer=False)[1]
            except EnvError:
                if spec is None:
                    raise
                # Pins without wheels for this Python: resolve the admin's spec again.
                lock = pypi.compile_lock(spec, staging / "requirements.lock.txt", python=python)
                new = pypi.ensure(name, lock, python=python, installer=False)[1]
            if not (directory / new / store.BUILD_INFO).exists():
                store.record_build(directory / new, "pypi", spec or lock, lock)
        except BaseException:
            discard_leftovers(directory)  # the half-made build; complete ones stay
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return new


def _kept_spec(kept, build, staging):
    """The spec the build kept, copied under its own name (record_build prefixes it again)."""
    if not build.spec_file or not (kept / build.spec_file).is_file():
        return None
    spec = staging / build.spec_file.removeprefix("hubstead-spec-")
    shutil.copyfile(kept / build.spec_file, spec)
    return spec
