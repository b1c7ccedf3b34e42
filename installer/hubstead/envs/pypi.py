"""Build a PyPI-only environment from a hashed requirements lock with uv.

    python -m hubstead.envs.pypi NAME LOCK [--python PYTHON] [--dry-run]

prints `unchanged`, `built BUILD_ID` or (with --dry-run) `would build BUILD_ID`.
"""

import argparse
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import paths
from . import EnvError, current_build, discard_incomplete, is_complete, mark_complete, server, switch_current, usersite

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
UV_CACHE = Path("/var/cache/hubstead/uv")


# Bump when the way a build is made changes, so existing machines rebuild on upgrade.
RECIPE = "3: uv, hashes required, bytecode compiled, user site on"


def build_id(lock_text, python_version):
    digest = hashlib.sha256(f"{RECIPE}\n{python_version}\n{lock_text}".encode()).hexdigest()
    return f"pypi-{digest[:12]}"


def python_version(python):
    result = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def uv_environment():
    env = dict(os.environ)
    # uv does not read the system CA store by itself; a site's proxy CA lives there.
    if not any(env.get(key) for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")) and os.path.exists(SYSTEM_CA_BUNDLE):
        env["SSL_CERT_FILE"] = SYSTEM_CA_BUNDLE
    env.setdefault("UV_CACHE_DIR", str(UV_CACHE))
    env.setdefault("UV_HTTP_TIMEOUT", "120")
    return env


def uv_binary():
    candidate = Path(sys.executable).parent / "uv"
    return str(candidate) if candidate.exists() else "uv"


def run_uv(arguments, what):
    result = subprocess.run([uv_binary(), *arguments], env=uv_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise EnvError(f"{what} failed:\n{uv_failure(result)}")


def uv_failure(result):
    """The last lines uv wrote, or, when it wrote none, how it ended."""
    said = (result.stderr.strip() or result.stdout.strip()).splitlines()[-8:]
    if result.returncode < 0:
        said.append(f"uv was stopped by signal {signal.Signals(-result.returncode).name}")
    elif not said:
        said.append(f"uv exited with status {result.returncode} without saying why")
    return "\n".join(said)


def restrict_uv_lock(prefix):
    """uv leaves PREFIX/.lock, the file it flocks while it changes the environment, mode
    0666 (it is meant to be shared). Only root changes an environment here: make it
    root's alone (root made it), so no user can write it or hold the lock against the next build."""
    try:
        descriptor = os.open(Path(prefix) / ".lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return
    try:
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


def compile_lock(spec_path, lock_path, python="/usr/bin/python3", server_packages=True):
    """Resolve a requirements.txt (plus, by default, the server packages) into a hashed
    lock with uv. jupyterhub is always constrained to the hub's own version.

    Raises EnvError (uv's own reason, two lines at most) for unknown packages,
    impossible pins or an unreachable index, before anything is installed."""
    spec_path, lock_path = Path(spec_path), Path(lock_path)
    try:
        lines = spec_path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EnvError(f"cannot read {spec_path}: {error}") from None
    requirements = server.requirement_names(lines)
    server.check_pins(requirements)
    with tempfile.TemporaryDirectory(prefix="hubstead-lock-") as scratch:
        extra = Path(scratch, "hubstead-server.in")
        added = server.missing_server_requirements(requirements) if server_packages else []
        extra.write_text("\n".join(added) + "\n")
        constraints = Path(scratch, "hubstead-constraints.txt")
        constraints.write_text(f"jupyterhub=={server.HUB_VERSION}\n")
        result = subprocess.run(
            [uv_binary(), "pip", "compile", "--quiet", "--no-header", "--generate-hashes", "--python", python,
             "--constraint", str(constraints), "-o", str(lock_path), str(spec_path), str(extra)],
            env=uv_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise EnvError(f"{spec_path.name} cannot be resolved: {uv_reason(result.stderr)}")
    return lock_path


def uv_reason(stderr):
    """uv's explanation, cut to what a person needs: the first two meaningful lines."""
    lines = [line.strip(" ×╰─▶│") .strip() for line in stderr.splitlines()]
    meaningful = [line for line in lines if line and not line.startswith(("hint:", "help:"))]
    return " ".join(meaningful[:2]) or "uv failed without saying why"


def ensure(name, lock_path, python="/usr/bin/python3", dry_run=False, installer=True):
    """Make envs/NAME/current a complete build of the lock; return (changed, build_id)."""
    from .store import env_info

    lock_path = Path(lock_path)
    env_dir = paths.ENVS_DIR / name
    current = current_build(env_dir)
    if current and not dry_run:
        restrict_uv_lock(env_dir / current)  # made before uv's lock was restricted (upgrade)
    # An admin who updated this environment owns it: the installer leaves it alone.
    if installer and current and env_info(name).get("admin_managed"):
        return False, current
    build = build_id(lock_path.read_text(), python_version(python))
    target = env_dir / build
    if is_complete(target):
        if dry_run:
            return current != build, build
        return switch_current(env_dir, build), build
    if dry_run:
        return True, build
    env_dir.mkdir(parents=True, exist_ok=True)
    discard_incomplete(target)
    run_uv(["venv", "--quiet", "--python", python, str(target)], f"Creating environment {name}")
    usersite.enable(target)  # `pip install --user` works, as on any machine
    run_uv(["pip", "install", "--quiet", "--python", str(target / "bin" / "python"),
            # Compiled now, as root: users cannot write __pycache__ here, and without it
            # every server start would compile JupyterLab's modules again (seconds).
            "--require-hashes", "--compile-bytecode", "-r", str(lock_path)],
           f"Installing environment {name} from {lock_path}")
    shutil.copyfile(lock_path, target / "requirements.lock.txt")  # `hubstead env export` prints it
    restrict_uv_lock(target)
    mark_complete(target, f"lock: {lock_path}\n")
    switch_current(env_dir, build)
    return True, build


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hubstead.envs.pypi")
    parser.add_argument("name")
    parser.add_argument("lock")
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--dry-run", action="store_true")
    options = parser.parse_args(argv)
    try:
        changed, build = ensure(options.name, options.lock, options.python, options.dry_run)
    except EnvError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(("would build " if options.dry_run else "built ") + build if changed else "unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
