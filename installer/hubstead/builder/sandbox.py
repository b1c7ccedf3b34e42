"""The sandboxed part of a build: the environment and postBuild, as the builder account.

A repository's postBuild, and the setup.py of any sdist it asks for, run code from the
internet. So that code runs as the unprivileged `hubstead-builder` account in a transient
unit (hubstead-build-ID-sandbox) that sees the system read-only (ProtectSystem=strict),
no homes, a private /tmp and /dev, no new privileges, and can write only three places:
the new build directory, its own copy of the repository and the builder's caches.
Memory, CPU and wall-clock limits come from the config (binder.build_*).

uv copies files from its cache instead of hardlinking them (UV_LINK_MODE=copy): a later
build, which can write the cache, must not be able to change a finished environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import BuilderError

BUILDER_USER = "hubstead-builder"
BUILDER_HOME = Path("/var/lib/hubstead-builder")
BUILDER_CACHE = Path("/var/cache/hubstead/builder")
WAIT_MARGIN = 30  # seconds the root part keeps for itself after the worker's limit


def work_dir(build_id):
    return BUILDER_HOME / "work" / str(int(build_id))


def worker_command(config, target, binder, envs, src):
    command = [sys.executable, "-m", "hubstead.builder.worker", "--kind", config.kind,
               "--prefix", str(target), "--src", str(src),
               "--channel-alias", envs["channel_alias"]]
    for channel in envs["channels"]:
        command += ["--default-channel", channel]
    if config.spec_file:
        command += ["--spec", str(src / Path(config.spec_file).relative_to(config.root))]
    if config.python_version:
        command += ["--python-version", config.python_version]
        if binder.get("python_fallback", True):
            command.append("--python-fallback")
    if config.post_build:
        command += ["--post-build", str(src / Path(config.post_build).relative_to(config.root))]
    return command


def unit_properties(record, target, binder, log):
    src_root = work_dir(record.id)
    properties = {
        "User": BUILDER_USER, "Group": BUILDER_USER,
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
        "NoNewPrivileges": "yes", "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes", "UMask": "0022",
        "ReadWritePaths": f"{target} {src_root} {BUILDER_CACHE}",
        "WorkingDirectory": str(src_root / "src"),
        "RuntimeMaxSec": str(binder["build_timeout"]),
        "StandardOutput": f"append:{log}", "StandardError": f"append:{log}",
        "MemoryMax": binder.get("build_memory") or "infinity",
    }
    if binder.get("build_cpu"):
        properties["CPUQuota"] = f"{int(float(binder['build_cpu']) * 100)}%"
    return properties


def environment(src_root):
    return {
        "HOME": str(src_root / "home"),
        "UV_CACHE_DIR": str(BUILDER_CACHE / "uv"),
        "UV_LINK_MODE": "copy",
        "HUBSTEAD_CONDA_CACHE": str(BUILDER_CACHE / "pkgs"),
        "HUBSTEAD_REPODATA_CACHE": str(BUILDER_CACHE / "repodata"),
        "PIP_NO_CACHE_DIR": "1",
        "PYTHONUNBUFFERED": "1",
    }


def prepare(record, target):
    """Hand the build directory, the checkout and a home to the builder account."""
    src_root = work_dir(record.id)
    (src_root / "home").mkdir(parents=True, exist_ok=True)
    BUILDER_CACHE.mkdir(parents=True, exist_ok=True)
    for path in (target, src_root, BUILDER_CACHE):
        subprocess.run(["chown", "-R", f"{BUILDER_USER}:{BUILDER_USER}", str(path)], check=True)


def run_worker(record, config, target, binder, envs):
    """Run the worker in its sandbox and wait; BuilderError with the worker's own last
    error line when it fails, or saying which limit stopped it."""
    from . import records
    from .. import paths
    from .pipeline import unit_name

    prepare(record, target)
    log = records.log_path(record.id)
    src = work_dir(record.id) / "src"
    command = ["systemd-run", f"--unit={unit_name(record.id, 'sandbox')}", "--wait", "--collect",
               f"--description=Hubstead build {record.id} (sandbox)"]
    command += [f"--property={key}={value}" for key, value in unit_properties(record, target, binder, log).items()]
    variables = {**paths.network_environment(), **environment(work_dir(record.id))}
    command += [f"--setenv={key}={value}" for key, value in variables.items()]
    command += ["--", *worker_command(config, target, binder, envs, src)]
    limits = f"memory {binder.get('build_memory') or 'unlimited'}, time {binder['build_timeout']} s"
    print(f"building in {unit_name(record.id, 'sandbox')} as {BUILDER_USER} ({limits})", flush=True)
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except BaseException:
        subprocess.run(["systemctl", "stop", unit_name(record.id, "sandbox")], capture_output=True)
        raise
    if result.returncode == 0:
        return
    raise BuilderError(_failure(result.stderr, log, binder, record.id))


def _failure(systemd_run_output, log, binder, build_id):
    """Why the worker failed, in one line: a limit systemd enforced, or its own error."""
    if "result: timeout" in systemd_run_output:
        return f"the build took longer than binder.build_timeout ({binder['build_timeout']} s) and was stopped"
    if "result: oom-kill" in systemd_run_output:
        return (f"the build ran out of memory (binder.build_memory: {binder.get('build_memory')}) and was "
                "stopped")
    try:
        lines = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if line.startswith("error: "):
            return line[len("error: "):]
    return f"the build failed; see its log (`hubstead build logs {build_id}`)"
