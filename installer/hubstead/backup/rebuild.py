"""Environments come back from their locks (never from a copied prefix): the same
package versions, built for this machine's Python."""

import shutil
import tempfile
from pathlib import Path

from .. import paths
from ..envs import current_build, is_complete, mark_complete, store, switch_current

LOCKED_KINDS = ("pypi", "conda")


def needs_rebuild(facts):
    """False for the installer's own default environment (the install keeps it) and for
    an environment whose archived build is complete and current here already."""
    name = facts["name"]
    if name == "default" and not facts.get("admin_managed"):
        return False
    directory = paths.ENVS_DIR / name
    return not (current_build(directory) == facts["build"] and is_complete(directory / facts["build"]))


def rebuild(facts, files, report):
    """Build environment FACTS["name"] from the lock among FILES ({file name: bytes});
    return the build id, or None when its kind cannot be rebuilt from a lock alone."""
    kind, name = facts.get("kind"), facts["name"]
    if kind not in LOCKED_KINDS or not facts.get("lock_file") or facts["lock_file"] not in files:
        return None
    store.valid_name(name)
    directory = paths.ENVS_DIR / name
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=directory) as scratch:
        scratch = Path(scratch)
        for file_name, data in files.items():
            (scratch / file_name).write_bytes(data)
        lock = scratch / facts["lock_file"]
        spec = lock
        if facts.get("spec_file") in files:
            # Under its own name again: record_build adds the prefix to what it keeps.
            spec = scratch / facts["spec_file"].removeprefix("hubstead-spec-")
            spec.write_bytes(files[facts["spec_file"]])
        report(f"environment {name}: installing its lock ({kind})")
        build = _pypi(name, lock) if kind == "pypi" else _conda(name, facts["build"], lock, scratch)
        if not (directory / build / store.BUILD_INFO).exists():
            store.record_build(directory / build, kind, spec, lock)
    info = {key: facts[key] for key in ("description", "admin_managed") if key in facts}
    store.update_env_info(name, **info)
    return build


def _pypi(name, lock):
    from ..envs import pypi

    return pypi.ensure(name, lock, installer=False)[1]


def _conda(name, build, lock, scratch):
    from ..envs import conda
    from ..envs.condabuild import PIP_LOCK

    directory = paths.ENVS_DIR / name
    target = directory / build
    if not is_complete(target):
        shutil.rmtree(target, ignore_errors=True)
        try:
            conda.install(lock, target)
            shutil.copyfile(lock, target / lock.name)
            if (scratch / PIP_LOCK).is_file():
                _pip_part(target, scratch / PIP_LOCK)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        mark_complete(target, f"restored from lock {lock.name}\n")
    switch_current(directory, build)
    return build


def _pip_part(prefix, lock):
    from ..envs import pypi

    shutil.copyfile(lock, prefix / lock.name)
    pypi.run_uv(["pip", "install", "--quiet", "--python", str(prefix / "bin" / "python"), "--require-hashes",
                 "--compile-bytecode", "-r", str(prefix / lock.name)], f"Installing the pip part into {prefix}")
    pypi.restrict_uv_lock(prefix)
