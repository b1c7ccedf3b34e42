"""The sandboxed part of a build: the environment and postBuild, as the builder account.

A repository's postBuild, and the setup.py of any sdist it asks for, run code from the
internet. So that code runs as the unprivileged `hubstead-builder` account in a transient
unit (hubstead-build-ID-sandbox) that sees the system read-only (ProtectSystem=strict),
no homes, a private /tmp, /dev, /dev/shm and IPC, no new privileges, a network namespace
of its own whose only way out is the build's egress proxy (builder.egress), and can write
only two places: the new build directory and its own work directory (the repository's
copy, a home and its download caches).

Caches are per build and thrown away with the work directory: a build that could write
a cache another build reads could change what that build installs (a poisoned wheel in
uv's cache runs as every learner who imports it). Memory, CPU and wall-clock limits come
from the config (binder.build_*). When the unit has ended, root takes the result over
without following anything the build left (builder.handover).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import BuilderError, egress, handover

BUILDER_USER = "hubstead-builder"
BUILDER_HOME = Path("/var/lib/hubstead-builder")
EGRESS_DIR = Path("/run/hubstead-builds")


def work_dir(build_id):
    return BUILDER_HOME / "work" / str(int(build_id))


def egress_socket(build_id):
    return EGRESS_DIR / str(int(build_id)) / "egress.sock"


def spec_path(build_id, config):
    """Where the worker reads the spec root wrote for it (run.build_environment)."""
    return work_dir(build_id) / "spec" / config.spec_name


def worker_command(config, target, binder, envs, src, build_id):
    command = [sys.executable, "-m", "hubstead.builder.worker", "--kind", config.kind,
               "--prefix", str(target), "--src", str(src), "--egress-socket", str(egress_socket(build_id)),
               "--channel-alias", envs["channel_alias"]]
    for channel in envs["channels"]:
        command += ["--default-channel", channel]
    command += ["--spec", str(spec_path(build_id, config))]
    for path in config.install_repo:
        command += ["--install", path]
    if config.r_packages is not None:
        command.append("--r-kernel")
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
        "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
        "RestrictSUIDSGID": "yes", "UMask": "0022",
        # PrivateDevices= alone bind-mounts the machine's /dev/shm: give the build its own.
        "TemporaryFileSystem": "/dev/shm:mode=1777,nosuid,nodev", "PrivateIPC": "yes",
        "PrivateNetwork": "yes",
        "ReadWritePaths": f"{target} {src_root}",
        # systemd 252 leaves /run writable under ProtectSystem=strict with the Protect*
        # options above, and /run/lock is world-writable: a build leaves nothing there.
        "ReadOnlyPaths": "/run",
        "WorkingDirectory": str(src_root / "src"),
        "RuntimeMaxSec": str(binder["build_timeout"]),
        "StandardOutput": f"append:{log}", "StandardError": f"append:{log}",
        "MemoryMax": binder.get("build_memory") or "infinity",
    }
    if binder.get("build_cpu"):
        properties["CPUQuota"] = f"{int(float(binder['build_cpu']) * 100)}%"
    return properties


def environment(src_root):
    from .bridge import proxy_environment
    from .. import paths

    cache = src_root / "cache"
    # The site's CA and index settings go along; its proxy is the egress proxy's to use.
    network = {name: value for name, value in paths.network_environment().items()
               if name.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    if network.get("SSL_CERT_FILE"):  # node reads no system CA setting of its own
        network.setdefault("NODE_EXTRA_CA_CERTS", network["SSL_CERT_FILE"])
    return {
        **network,
        **proxy_environment(egress.PORT_INSIDE),
        "HOME": str(src_root / "home"),
        "UV_CACHE_DIR": str(cache / "uv"),
        "UV_LINK_MODE": "copy",
        # Other tools' caches stay out of the home postBuild leaves to learners.
        "XDG_CACHE_HOME": str(cache / "xdg"),
        "NPM_CONFIG_CACHE": str(cache / "npm"),
        "HUBSTEAD_CONDA_CACHE": str(cache / "pkgs"),
        "HUBSTEAD_REPODATA_CACHE": str(cache / "repodata"),
        "PIP_NO_CACHE_DIR": "1",
        "PYTHONUNBUFFERED": "1",
    }


def builder_ids():
    import pwd

    entry = pwd.getpwnam(BUILDER_USER)
    return entry.pw_uid, entry.pw_gid


def prepare(record, target):
    """Hand the build directory and the work directory (checkout, home, caches: made by
    root just now, nothing of the builder's in them yet) to the builder account."""
    src_root = work_dir(record.id)
    for name in ("home", "cache"):
        (src_root / name).mkdir(parents=True, exist_ok=True)
    for path in (target, src_root):
        subprocess.run(["chown", "-R", "--no-dereference", f"{BUILDER_USER}:{BUILDER_USER}", str(path)], check=True)


def start_egress(record, binder):
    """The build's way out (builder.egress), on a socket only root and the builder reach."""
    path = egress_socket(record.id)
    EGRESS_DIR.mkdir(mode=0o755, exist_ok=True)
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(mode=0o750)
    os.chown(path.parent, 0, builder_ids()[1])
    policy = egress.Policy(allow=binder.get("network_allow") or ())
    return egress.EgressProxy(path, policy, log=lambda line: print(line, flush=True)).start(
        socket_mode=0o660, group=builder_ids()[1])


def run_worker(record, config, target, binder, envs):
    """Run the worker in its sandbox and wait; BuilderError with the worker's own last
    error line when it fails, or saying which limit stopped it."""
    from . import records
    from .pipeline import unit_name

    prepare(record, target)
    proxy = start_egress(record, binder)
    log = records.log_path(record.id)
    src = work_dir(record.id) / "src"
    command = ["systemd-run", f"--unit={unit_name(record.id, 'sandbox')}", "--wait", "--collect",
               f"--description=Hubstead build {record.id} (sandbox)"]
    command += [f"--property={key}={value}" for key, value in unit_properties(record, target, binder, log).items()]
    command += [f"--setenv={key}={value}" for key, value in environment(work_dir(record.id)).items()]
    command += ["--", *worker_command(config, target, binder, envs, src, record.id)]
    limits = f"memory {binder.get('build_memory') or 'unlimited'}, time {binder['build_timeout']} s"
    print(f"building in {unit_name(record.id, 'sandbox')} as {BUILDER_USER} ({limits})", flush=True)
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except BaseException:
        subprocess.run(["systemctl", "stop", unit_name(record.id, "sandbox")], capture_output=True)
        raise
    finally:
        proxy.stop()
        shutil.rmtree(egress_socket(record.id).parent, ignore_errors=True)
    if result.returncode != 0:
        raise BuilderError(_failure(result.stderr, log, binder, record.id))
    # systemd-run --wait returns once the unit is gone: no process of the build is left
    # to change the tree while root takes it over.
    handover.take_over(target, builder_ids()[0], allowed_files=("conda-lock.yml", "requirements.lock.txt"))


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
