"""The part of a Binder build that runs in the sandbox, as the builder account:

    python -m hubstead.builder.worker --kind pypi|conda --prefix DIR --src DIR --spec FILE
        [--python-version X.Y [--python-fallback]] [--install PATH ...] [--post-build FILE] ...

builds the environment into --prefix (an empty directory the builder owns) with the
environments machinery (uv for requirements, py-rattler + uv for environment.yml;
locked, hashes checked), installs the repository's own package(s) when asked
(`pip install .`, as repo2docker does) and then runs postBuild in the repository's copy
with the new environment first on PATH, REPO_DIR set and a home whose contents are kept
with the build (HOME_SKELETON: copied into each learner's home at launch). Progress goes
to stdout (the build's log); a failure ends with one line `error: ...`, which the root
part reports.
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
from ..errors import HubsteadError

SYSTEM_PYTHON = "/usr/bin/python3"
# Where postBuild's $HOME is, inside the build: what it writes there reaches each
# learner's home at launch (builder.session), as it would be in repo2docker's image.
HOME_SKELETON = Path("share") / "hubstead" / "home"


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
    keep_spec_hashes(options.spec, lock)
    say("installing (uv, hashes required)")
    pypi.run_uv(["venv", "--quiet", "--allow-existing", "--python", python, options.prefix], "Creating the environment")
    pypi.run_uv(["pip", "install", "--python", str(Path(options.prefix) / "bin" / "python"), "--require-hashes",
                 "--compile-bytecode", "-r", str(lock)], "Installing the environment")
    install_repository(options)


def keep_spec_hashes(spec, lock):
    """uv's lock takes its hashes from the index and ignores those in the spec. Where the
    spec has its own (a Pipfile.lock's), only files matching both may be installed: a
    package whose index files match none of them is refused, as pipenv refuses it."""
    wanted = {name: hashes for name, _, hashes in _hashed_entries(Path(spec).read_text()) if hashes}
    if not wanted:
        return
    lines = []
    for name, requirement, hashes in _hashed_entries(Path(lock).read_text()):
        if name in wanted:
            hashes = [digest for digest in hashes if digest in wanted[name]]
            if not hashes:
                raise EnvError(f"{name}: none of the files the index has match the hashes in the repository's lock")
        lines.append(" \\\n    ".join([requirement, *(f"--hash={digest}" for digest in hashes)]))
    Path(lock).write_text("\n".join(lines) + "\n")


def _hashed_entries(text):
    """(normalised name, requirement, [sha256:...]) per requirement of a requirements file."""
    import re

    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        hashes = [word.removeprefix("--hash=") for word in words if word.startswith("--hash=")]
        requirement = " ".join(word for word in words if not word.startswith("--hash="))
        name = re.sub(r"[-_.]+", "-", re.split(r"[\s=<>!~;\[@]", requirement, maxsplit=1)[0]).lower()
        yield name, requirement, hashes


def install_repository(options):
    """`pip install .` (or the local paths requirements.txt names), after the locked
    packages, as repo2docker does; not editable, since the checkout is not kept. Its own
    dependencies are resolved by uv then and are not in the lock: the log says so."""
    if not options.install:
        return
    targets = [str((Path(options.src) / target).resolve()) for target in options.install]
    say(f"installing the repository itself ({', '.join(options.install)}); what it depends on beyond the lock "
        "is resolved now and not locked")
    pypi.run_uv(["pip", "install", "--python", str(Path(options.prefix) / "bin" / "python"), "--compile-bytecode",
                 *targets], "Installing the repository")


def build_conda_python(options, wanted):
    """The repository asks for a Python this machine lacks (runtime.txt, a Pipfile): take
    it from the conda channels (as repo2docker does), else, when allowed, build with the
    system Python and say so; otherwise a refusal naming what this machine has."""
    say(f"the repository asks for Python {wanted}; this machine has {system_python_version()}: "
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
        except EnvError as error:
            if not options.python_fallback:
                raise EnvError(f"the repository asks for Python {wanted}, which neither this machine (Python "
                               f"{system_python_version()}) nor the conda channels offer "
                               f"({str(error).splitlines()[0]}); ask for python-{system_python_version()}") from None
            say(f"warning: no conda channel offers Python {wanted} ({str(error).splitlines()[0]})")
        else:
            install_repository(options)
            return
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


def install_r_kernel(options):
    """R's Jupyter kernel (Debian's IRkernel) in the environment, so servers offer R."""
    say("registering R's Jupyter kernel (IRkernel) in the environment")
    environment = {**os.environ, "PATH": f"{Path(options.prefix) / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    code = f"IRkernel::installspec(name = 'ir', displayname = 'R', prefix = '{options.prefix}')"
    result = subprocess.run(["R", "--quiet", "--no-save", "-e", code], env=environment, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    print(result.stdout + result.stderr, end="", flush=True)
    if result.returncode != 0:
        raise EnvError("registering R's kernel failed (the output is in the build log)")


def run_post_build(options):
    script = Path(options.post_build)
    script.chmod(script.stat().st_mode | 0o111)
    home = Path(options.prefix) / HOME_SKELETON
    home.mkdir(parents=True, exist_ok=True)
    search = [f"{home}/.local/bin", f"{options.src}/.local/bin", str(Path(options.prefix) / "bin"),
              os.environ.get("PATH", "/usr/bin:/bin")]
    environment = {**os.environ, "PATH": ":".join(search), "HOME": str(home), "REPO_DIR": options.src,
                   "VIRTUAL_ENV": options.prefix, "CONDA_PREFIX": options.prefix,
                   # `npm install -g` lands in the environment (its bin is on servers' PATH).
                   "NPM_CONFIG_PREFIX": options.prefix}
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
    parser.add_argument("--r-kernel", action="store_true", help="register Debian's IRkernel in the environment")
    parser.add_argument("--install", action="append", default=[],
                        help="a path of the checkout to pip install after the environment (repeatable)")
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
        if options.r_kernel:
            install_r_kernel(options)
        if options.post_build:
            run_post_build(options)
    except HubsteadError as error:
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
