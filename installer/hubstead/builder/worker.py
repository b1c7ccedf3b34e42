"""The part of a Binder build that runs in the sandbox, as the builder account:

    python -m hubstead.builder.worker --kind pypi|conda --prefix DIR --src DIR [--spec FILE]
        [--python-version X.Y [--python-fallback]] [--post-build FILE] ...

builds the environment into --prefix (an empty directory the builder owns) with the
environments machinery (uv for requirements.txt, py-rattler + uv for environment.yml;
locked, hashes checked) and then runs postBuild in the repository's copy with the new
environment first on PATH. Progress goes to stdout (the build's log); a failure ends
with one line `error: ...`, which the root part reports.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from ..envs import EnvError, pypi

SYSTEM_PYTHON = "/usr/bin/python3"


def say(message):
    print(message, flush=True)


def system_python_version():
    return pypi.python_version(SYSTEM_PYTHON).rsplit(".", 1)[0]


def build_pypi(options):
    """requirements.txt (+ the server packages) with the Python runtime.txt asks for."""
    python = SYSTEM_PYTHON
    wanted = options.python_version
    if wanted and wanted != system_python_version():
        candidate = f"/usr/bin/python{wanted}"
        if os.path.exists(candidate):
            python = candidate
        else:
            return build_conda_python(options, wanted)
    say(f"resolving {Path(options.spec).name} with Python {pypi.python_version(python)} (uv)")
    lock = Path(options.prefix) / "requirements.lock.txt"
    pypi.compile_lock(options.spec, lock, python=python)
    say("installing (uv, hashes required)")
    pypi.run_uv(["venv", "--quiet", "--allow-existing", "--python", python, options.prefix], "Creating the environment")
    pypi.run_uv(["pip", "install", "--python", str(Path(options.prefix) / "bin" / "python"), "--require-hashes",
                 "--compile-bytecode", "-r", str(lock)], "Installing the environment")


def build_conda_python(options, wanted):
    """runtime.txt asks for a Python this machine lacks: take it from the conda channels
    (as repo2docker does), else, when allowed, build with the system Python and say so."""
    say(f"runtime.txt asks for Python {wanted}; this machine has {system_python_version()}: "
        "looking for it in the conda channels")
    lines = [line for line in Path(options.spec).read_text().splitlines()
             if line.strip() and not line.strip().startswith("#")]
    spec = {"channels": options.default_channel, "dependencies": [f"python={wanted}", "pip", {"pip": lines}]}
    with tempfile.TemporaryDirectory(prefix="hubstead-runtime-") as scratch:
        import yaml

        spec_path = Path(scratch) / "environment.yml"
        spec_path.write_text(yaml.safe_dump(spec))
        try:
            build_conda(options, spec_path, scratch)
            return
        except EnvError as error:
            if not options.python_fallback:
                raise EnvError(f"runtime.txt asks for Python {wanted}, which neither this machine nor the conda "
                               f"channels offer ({str(error).splitlines()[0]})") from None
            say(f"warning: no conda channel offers Python {wanted} ({str(error).splitlines()[0]})")
    for leftover in Path(options.prefix).iterdir():
        subprocess.run(["rm", "-rf", str(leftover)], check=True)
    say(f"warning: building with this machine's Python {system_python_version()} instead of {wanted} "
        "(binder.python_fallback is on)")
    options.python_version = None
    build_pypi(options)


def build_conda(options, spec_path, scratch):
    from ..envs import condabuild

    channels = (options.default_channel, options.channel_alias)
    records, lock, pip_lines = condabuild.solve_and_lock(spec_path, scratch, say, channels=channels,
                                                         **_conda_cache("HUBSTEAD_REPODATA_CACHE"))
    condabuild.install_prefix(options.prefix, records, lock, pip_lines, Path(scratch), say,
                              cache_dir=os.environ.get("HUBSTEAD_CONDA_CACHE"))


def _conda_cache(variable):
    return {"cache_dir": os.environ[variable]} if os.environ.get(variable) else {}


def run_post_build(options):
    script = Path(options.post_build)
    script.chmod(script.stat().st_mode | 0o111)
    environment = {**os.environ, "PATH": f"{Path(options.prefix) / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                   "VIRTUAL_ENV": options.prefix, "CONDA_PREFIX": options.prefix}
    say(f"running {script.relative_to(options.src)}")
    result = subprocess.run([str(script)], cwd=options.src, env=environment, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise EnvError(f"{script.relative_to(options.src)} failed with exit status {result.returncode} "
                       "(its output is in the build log)")


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m hubstead.builder.worker")
    parser.add_argument("--kind", choices=["pypi", "conda"], required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--src", required=True)
    parser.add_argument("--spec")
    parser.add_argument("--python-version")
    parser.add_argument("--python-fallback", action="store_true")
    parser.add_argument("--post-build")
    parser.add_argument("--default-channel", action="append", default=[])
    parser.add_argument("--channel-alias", default="https://conda.anaconda.org/")
    parser.add_argument("--egress-socket", help="the build's way out (builder.egress), relayed from 127.0.0.1")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
    if options.egress_socket:
        from . import bridge
        from .egress import PORT_INSIDE

        bridge.start(options.egress_socket, PORT_INSIDE)
    try:
        if options.egress_socket:
            bridge.check(PORT_INSIDE)
        if options.kind == "pypi":
            build_pypi(options)
        else:
            with tempfile.TemporaryDirectory(prefix="hubstead-conda-") as scratch:
                build_conda(options, options.spec, scratch)
        if not (Path(options.prefix) / "bin" / "jupyterhub-singleuser").exists():
            raise EnvError("the build made no jupyterhub-singleuser, so no server could start from it")
        if options.post_build:
            run_post_build(options)
    except EnvError as error:
        say("error: " + "; ".join(" ".join(line.split()) for line in str(error).splitlines() if line.strip()))
        code = 1
    except Exception as error:  # a bug: the traceback for the log, one line for the record
        traceback.print_exc()
        say(f"error: the build failed unexpectedly: {error!r}")
        code = 1
    else:
        say("environment built")
        code = 0
    if "rattler" in sys.modules:
        from ..envs.conda import leave_process

        leave_process(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
