"""Build a conda environment (environment.yml) into envs/NAME/<build-id>.

The conda part is solved with py-rattler against the configured channels and locked
in conda-lock's format; the pip part, plus whatever a server needs that the conda
part lacks, is locked with uv (hashes) against the environment's own Python and
installed into the same prefix. The build id covers both locks' inputs, so the same
spec against the same channels is built once.
"""

import hashlib
import shutil
from pathlib import Path

from .. import config as hubstead_config
from .. import paths
from . import EnvError, discard_incomplete, is_complete, mark_complete, pypi, server, switch_current
from .condaspec import parse_environment_yml

RECIPE = "1: rattler conda part, uv pip part with hashes, bytecode compiled"
CONDA_LOCK = "conda-lock.yml"
PIP_LOCK = "requirements.lock.txt"


def channel_settings():
    settings = hubstead_config.current()["envs"]
    return settings["channels"], settings["channel_alias"]


def pip_requirements(spec, conda_names):
    """The pip part plus the server packages that neither part provides."""
    requirements = server.requirement_names(spec.pip)
    server.check_pins(requirements)
    provided = set(requirements) | conda_names
    return list(spec.pip) + [line for name, line in server.SERVER_PACKAGES.items() if name not in provided]


def check_conda_server_versions(records, source):
    """A conda part that brings its own jupyterhub or JupyterLab must bring ones this hub can use."""
    from packaging.specifiers import SpecifierSet

    wanted = {"jupyterhub": SpecifierSet(f"=={server.HUB_VERSION.rsplit('.', 1)[0]}.*"),
              "jupyterlab": SpecifierSet(server.LAB_RANGE)}
    for record in records:
        allowed = wanted.get(record.name.normalized)
        if allowed is not None and str(record.version) not in allowed:
            raise EnvError(f"{source}: it solves to {record.name.normalized} {record.version}, but this hub "
                           f"needs {record.name.normalized}{allowed}; change or remove that pin.")


def build(name, spec_path, staging, report):
    """Solve, lock and install; switch envs/NAME/current to the build; return its id."""
    records, staged_lock, pip_lines = solve_and_lock(spec_path, staging, report)
    from . import conda

    build_id = _build_id(conda.lock_hash(staged_lock), pip_lines)
    env_dir = paths.ENVS_DIR / name
    target = env_dir / build_id
    if is_complete(target):
        report(f"build {build_id} exists already (same locks): switching to it")
        switch_current(env_dir, build_id)
        return build_id
    discard_incomplete(target)
    try:
        install_prefix(target, records, staged_lock, pip_lines, staging, report)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never leave a half-built prefix
        raise
    mark_complete(target, f"spec: {spec_path}\n")
    switch_current(env_dir, build_id)
    return build_id


def solve_and_lock(spec_path, staging, report, channels=None, cache_dir=None):
    """(records, the conda-lock file written in staging, the pip part's lines)."""
    spec_path = Path(spec_path)
    try:
        spec = parse_environment_yml(spec_path.read_text(), source=spec_path.name)
    except (OSError, UnicodeDecodeError) as error:
        raise EnvError(f"cannot read {spec_path}: {error}") from None
    from . import conda

    default_channels, alias = channels or channel_settings()
    report("solving the conda part (py-rattler)")
    records = conda.solve(spec, channels=list(spec.channels) or default_channels, channel_alias=alias,
                          **({"cache_dir": cache_dir} if cache_dir else {}))
    names = {record.name.normalized for record in records}
    check_conda_server_versions(records, spec_path.name)
    if "python" not in names:
        raise EnvError(f"{spec_path.name}: the environment has no python; add `python` to its dependencies.")
    staged_lock = conda.write_lock(records, spec, Path(staging) / CONDA_LOCK)
    return records, staged_lock, pip_requirements(spec, names)


def install_prefix(target, records, staged_lock, pip_lines, staging, report, cache_dir=None):
    """Install the solved conda part and the pip part into the new prefix target."""
    from . import conda

    target = Path(target)
    report(f"installing {len(records)} conda packages")
    conda.install(records, target, **({"cache_dir": cache_dir} if cache_dir else {}))
    shutil.copyfile(staged_lock, target / CONDA_LOCK)
    _install_pip_part(target, pip_lines, Path(staging), report)


def _build_id(conda_lock_hash, pip_lines):
    text = "\n".join([RECIPE, conda_lock_hash, *pip_lines])
    return "conda-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _install_pip_part(prefix, lines, staging, report):
    if not lines:
        return
    report(f"locking and installing the pip part ({len(lines)} requirement(s), uv)")
    spec = staging / "pip-requirements.txt"
    spec.write_text("\n".join(lines) + "\n")
    lock = prefix / PIP_LOCK
    python = str(prefix / "bin" / "python")
    pypi.compile_lock(spec, lock, python=python, server_packages=False)
    pypi.run_uv(["pip", "install", "--quiet", "--python", python, "--require-hashes", "--compile-bytecode",
                 "-r", str(lock)], f"Installing the pip part into {prefix}")
    pypi.restrict_uv_lock(prefix)
