#!/usr/bin/env python3
"""Install or upgrade Hubstead on this machine.

Contract
--------
- Runs on the system's own ``python3`` (3.10 or newer) using the standard library
  only, so ``curl -L .../bootstrap.py | sudo python3 - --admin alice`` works on a
  fresh VM.
- Supported systems: Debian 12 and 13, Ubuntu 22.04 and 24.04, booted with systemd.
  Anything else is refused in one sentence (``HUBSTEAD_ALLOW_UNSUPPORTED_OS=1``
  tries anyway, at your own risk).
- Needs root, at least 1 GiB of RAM and 3 GiB free under /opt (and /var).
- Steps: check the machine; fetch the Hubstead source (``--from PATH|URL``, or the
  release named below); install Debian packages with apt; build the hub venv at
  /opt/hubstead/hub from the source's hashed locks; run ``hubstead install`` with
  every argument this script does not know (``--admin``, ``--http-port``, ...).
- Re-running is an upgrade; an interrupted run completes when run again.
- Behind a proxy: ``http_proxy``/``https_proxy``/``no_proxy`` are honoured (use
  ``sudo -E`` to keep them), and a site CA bundle is taken from ``SSL_CERT_FILE``,
  ``REQUESTS_CA_BUNDLE`` or ``PIP_CERT`` (default: the system store, which
  ``update-ca-certificates`` fills). ``PIP_INDEX_URL`` selects a PyPI mirror.
- Output of the commands it runs goes to /var/log/hubstead-bootstrap.log; on a
  failure the tail is shown.

Exit codes: 0 done, 1 failed (the message says why and what to do), 2 usage.
"""

import argparse
import importlib.util
import os
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

HUBSTEAD_VERSION = "0.1.0"
RELEASE_URL = f"https://github.com/hubstead/hubstead/archive/refs/tags/v{HUBSTEAD_VERSION}.tar.gz"
HUB_PREFIX = "/opt/hubstead/hub"
LOG_FILE = "/var/log/hubstead-bootstrap.log"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
SUPPORTED_SYSTEMS = {"debian": {"12", "13"}, "ubuntu": {"22.04", "24.04"}}
APT_PACKAGES = ["python3", "python3-venv", "python3-apt", "git", "ca-certificates", "sudo"]
MIN_RAM_BYTES = 1 << 30
MIN_FREE_BYTES = 3 << 30
# An upgrade reuses the hub venv and the environments; it only needs room for the
# packages that changed.
MIN_FREE_BYTES_UPGRADE = 512 << 20
DEFAULT_INDEX = "https://pypi.org/simple/"
VENV_MARKER = ".hubstead-venv-complete"


class BootstrapError(Exception):
    """An expected failure: its message is shown to the user as it is."""


# ---------------------------------------------------------------- host checks


def parse_os_release(text):
    """Return the key/value pairs of an os-release file."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key] = value.strip().strip("\"'")
    return values


def check_os(os_release, allow_unsupported=False):
    """Refuse systems Hubstead is not tested on; return a short description."""
    distro = os_release.get("ID", "").lower()
    version = os_release.get("VERSION_ID", "")
    name = os_release.get("PRETTY_NAME") or f"{distro} {version}".strip() or "an unknown system"
    if version in SUPPORTED_SYSTEMS.get(distro, ()):
        return name
    if allow_unsupported:
        log(f"warning: {name} is not supported; continuing because HUBSTEAD_ALLOW_UNSUPPORTED_OS is set")
        return name
    raise BootstrapError(
        f"Hubstead supports Debian 12/13 and Ubuntu 22.04/24.04, not {name}. "
        "Use one of those (or set HUBSTEAD_ALLOW_UNSUPPORTED_OS=1 to try anyway)."
    )


def check_root(euid):
    if euid != 0:
        raise BootstrapError("bootstrap.py must run as root: try `sudo python3 bootstrap.py ...`.")


def check_python(version_info):
    if tuple(version_info[:2]) < (3, 10):
        found = ".".join(str(part) for part in version_info[:3])
        raise BootstrapError(f"Hubstead needs Python 3.10 or newer; this python3 is {found}.")


def check_systemd(run_dir="/run/systemd/system"):
    if not os.path.isdir(run_dir):
        raise BootstrapError(
            "Hubstead needs a machine booted with systemd (each user's server is a systemd unit); "
            "this one is not."
        )


def check_memory(meminfo_text, minimum=MIN_RAM_BYTES):
    for line in meminfo_text.splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) * 1024
            if total < minimum:
                raise BootstrapError(
                    f"Hubstead needs at least {minimum >> 20} MiB of RAM; this machine has {total >> 20} MiB."
                )
            return total
    raise BootstrapError("Cannot read the amount of RAM from /proc/meminfo.")


def existing_parent(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def disk_needed(hub_prefix=HUB_PREFIX):
    """Bytes a run needs free: a first install builds everything, an upgrade little."""
    if os.path.exists(os.path.join(hub_prefix, VENV_MARKER)):
        return MIN_FREE_BYTES_UPGRADE
    return MIN_FREE_BYTES


def _size(count):
    return f"{count / 2**30:.0f} GiB" if count >= 1 << 30 else f"{count >> 20} MiB"


def check_disk(paths=("/opt/hubstead", "/var/lib/hubstead"), minimum=None, statvfs=os.statvfs):
    """Refuse to start when any target file system has too little room left."""
    minimum = disk_needed() if minimum is None else minimum
    for path in paths:
        where = existing_parent(path)
        stats = statvfs(where)
        free = stats.f_bavail * stats.f_frsize
        if free < minimum:
            raise BootstrapError(
                f"Not enough disk space for {path}: {free / 2**30:.1f} GiB free on {where}, "
                f"{_size(minimum)} needed. Free some space or grow the disk, then run again."
            )


def validate_admin_names(names, source_dir):
    """Check admin names with the package's own username rule, before any change."""
    module_path = os.path.join(source_dir, "installer", "hubstead", "usernames.py")
    spec = importlib.util.spec_from_file_location("hubstead_usernames", module_path)
    usernames = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(usernames)
    for entry in names:
        name = entry.partition(":")[0]  # --admin NAME:PASSWORD (TLJH's form)
        problem = usernames.username_problem(name)
        if problem:
            raise BootstrapError(f"--admin {name!r}: {problem}")


# ------------------------------------------------------------ network, proxy


def network_environment(environ):
    """Return the environment for child processes: one CA bundle for every tool."""
    env = dict(environ)
    bundle = next(
        (env[key] for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT") if env.get(key)),
        None,
    )
    if bundle is None and os.path.exists(SYSTEM_CA_BUNDLE):
        bundle = SYSTEM_CA_BUNDLE
    if bundle:
        for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
            env.setdefault(key, bundle)
    env["DEBIAN_FRONTEND"] = "noninteractive"
    env["PATH"] = f"{HUB_PREFIX}/bin:" + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("UV_HTTP_TIMEOUT", "120")
    return env


def ssl_context(env):
    cafile = env.get("SSL_CERT_FILE")
    return ssl.create_default_context(cafile=cafile if cafile and os.path.exists(cafile) else None)


def open_url(url, env, timeout=30):
    # urllib reads http(s)_proxy and no_proxy from the environment by itself.
    handlers = [urllib.request.ProxyHandler(), urllib.request.HTTPSHandler(context=ssl_context(env))]
    return urllib.request.build_opener(*handlers).open(url, timeout=timeout)


def check_index_reachable(env):
    index = env.get("UV_INDEX_URL") or env.get("PIP_INDEX_URL") or DEFAULT_INDEX
    url = index.rstrip("/") + "/uv/"
    try:
        with open_url(url, env, timeout=20) as response:
            response.read(1)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise BootstrapError(
            f"Cannot reach the Python package index at {index} ({reason}). Check the network; "
            "behind a proxy, set https_proxy (with `sudo -E`) and SSL_CERT_FILE for its CA."
        ) from None


def fetch_source(source, env, workdir):
    """Return a directory holding the Hubstead source tree."""
    if os.path.isdir(source):
        return os.path.abspath(source)
    if not source.startswith(("https://", "http://", "file://")):
        raise BootstrapError(f"--from {source}: not a directory or an http(s) URL of a source archive.")
    archive = os.path.join(workdir, "hubstead.tar.gz")
    try:
        with open_url(source, env, timeout=60) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as error:
        raise BootstrapError(f"Cannot download Hubstead from {source}: {getattr(error, 'reason', error)}") from None
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(workdir)
    tops = [entry for entry in os.listdir(workdir) if os.path.isdir(os.path.join(workdir, entry))]
    if len(tops) != 1 or not os.path.exists(os.path.join(workdir, tops[0], "pyproject.toml")):
        raise BootstrapError(f"{source} does not look like a Hubstead source archive.")
    return os.path.join(workdir, tops[0])


# ------------------------------------------------------------------ commands


def log(message):
    print(message, flush=True)


def open_log(log_file):
    """The log for appending, root-only: commands' output can show tokens and site
    details. An older install's world-readable log is made 0600 too."""
    descriptor = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "a")


def run(command, env, log_file, what):
    """Run one command, its output to the log; on failure show the tail and stop."""
    with open_log(log_file) as log_handle:
        log_handle.write(f"\n$ {' '.join(command)}\n")
        log_handle.flush()
        result = subprocess.run(command, env=env, stdout=log_handle, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        with open(log_file) as log_handle:
            tail = log_handle.readlines()[-15:]
        sys.stderr.write("".join(tail))
        raise BootstrapError(f"{what} failed (exit {result.returncode}); the full log is in {log_file}.")


def missing_apt_packages(packages, env):
    query = ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *packages]
    result = subprocess.run(query, env=env, capture_output=True, text=True)
    installed = {line.split()[0] for line in result.stdout.splitlines() if line.endswith(" installed")}
    return [package for package in packages if package not in installed]


def install_apt_packages(env, log_file):
    missing = missing_apt_packages(APT_PACKAGES, env)
    if not missing:
        return "already installed"
    # An apt run killed half-way leaves dpkg waiting for this before it installs anything.
    run(["dpkg", "--configure", "-a"], env, log_file, "Finishing an interrupted dpkg run")
    run(["apt-get", "update", "-q"], env, log_file, "apt-get update")
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env, log_file,
        f"Installing {' '.join(missing)} with apt")
    return "installed " + " ".join(missing)


def venv_python(prefix):
    """(major, minor) of the Python the venv at PREFIX was made with, from pyvenv.cfg."""
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8") as config:
            lines = config.read().splitlines()
    except OSError:
        return None
    values = {key.strip(): value.strip() for key, _, value in (line.partition("=") for line in lines)}
    parts = (values.get("version_info") or values.get("version") or "").split(".")
    return (int(parts[0]), int(parts[1])) if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() else None


def ensure_hub_venv(source_dir, env, log_file):
    """Build or upgrade the hub venv from the hashed locks."""
    python = os.path.join(HUB_PREFIX, "bin", "python")
    made_with = venv_python(HUB_PREFIX)
    if made_with and made_with != tuple(sys.version_info[:2]):
        # A Debian release upgrade changed python3 (12 -> 13: 3.11 -> 3.13); the venv's
        # packages are for the old one. The venv holds only packages from the locks.
        log(f"The hub venv was made with Python {made_with[0]}.{made_with[1]}; this machine's is "
            f"{sys.version_info[0]}.{sys.version_info[1]}: building it again.")
        if os.path.exists(os.path.join(HUB_PREFIX, VENV_MARKER)):
            os.remove(os.path.join(HUB_PREFIX, VENV_MARKER))
    if not os.path.exists(os.path.join(HUB_PREFIX, VENV_MARKER)):
        # No marker: new, or a run was interrupted while creating it; start clean.
        run([sys.executable, "-m", "venv", "--clear", HUB_PREFIX], env, log_file, "Creating the hub venv")
        run([python, "-m", "pip", "install", "-q", "--require-hashes", "--no-deps",
             "-r", os.path.join(source_dir, "locks", "bootstrap.txt")], env, log_file, "Installing uv")
        open(os.path.join(HUB_PREFIX, VENV_MARKER), "w").close()
    uv = os.path.join(HUB_PREFIX, "bin", "uv")
    run([python, "-m", "pip", "install", "-q", "--require-hashes", "--no-deps",
         "-r", os.path.join(source_dir, "locks", "bootstrap.txt")], env, log_file, "Checking uv")
    run([uv, "pip", "install", "--python", python, "--require-hashes", "--compile-bytecode",
         "-r", os.path.join(source_dir, "locks", "hub.txt")], env, log_file, "Installing the hub's packages")
    run([uv, "pip", "install", "--python", python, "--no-deps", "--no-build-isolation",
         "--reinstall-package", "hubstead", source_dir], env, log_file, "Installing hubstead")


# ------------------------------------------------------------ progress page


PROGRESS_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Installing Hubstead</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Hubstead is being installed on this machine</h1>
<p>This page refreshes itself; the hub answers here when the install is done.</p>
<pre>{steps}</pre></body></html>
"""


def progress_page_html(steps):
    import html

    return PROGRESS_PAGE.format(steps=html.escape("\n".join(steps) or "starting"))


def start_progress_page(port, steps_file):
    """--show-progress-page: serve the install's steps on the HTTP port (for someone who opens
    the address during a cloud-init install) in a child process; return its pid, or None
    when the port is taken (an upgrade: the hub answers there already). Only the step
    lines are shown: the log is root-only."""
    import http.server
    import socketserver

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            try:
                with open(steps_file) as handle:
                    steps = handle.read().splitlines()
            except OSError:
                steps = []
            body = progress_page_html(steps).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    socketserver.TCPServer.allow_reuse_address = True
    try:
        server = socketserver.TCPServer(("", port), Page)
    except OSError:
        log(f"Progress page: port {port} is in use; not showing one.")
        return None
    parent = os.getpid()
    pid = os.fork()
    if pid:
        server.server_close()
        return pid
    # The child: serve until the installer stops it, or the bootstrap is gone. It lets go
    # of the terminal's (or a caller's pipe's) descriptors, so they end with the install.
    try:
        quiet = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(quiet, descriptor)
        server.timeout = 1
        while os.getppid() == parent:
            server.handle_request()
    finally:
        os._exit(0)


def stop_progress_page(pid):
    if pid:
        try:
            os.kill(pid, 15)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def http_port(passthrough):
    ports = argparse.ArgumentParser(add_help=False)
    ports.add_argument("--http-port", type=int, default=80)
    return ports.parse_known_args(passthrough)[0].http_port


# ---------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bootstrap.py",
        description="Install or upgrade Hubstead. Unknown options go to `hubstead install`.",
    )
    parser.add_argument("--from", dest="source", default=os.environ.get("HUBSTEAD_SOURCE", RELEASE_URL),
                        help="a source checkout (PATH) or source archive (URL) to install from")
    parser.add_argument("--log-file", default=LOG_FILE, help="where the commands' output goes")
    parser.add_argument("--version", action="version", version=f"hubstead bootstrap {HUBSTEAD_VERSION}")
    parser.add_argument("--show-progress-page", action="store_true",
                        help="serve a page showing the install's progress on the HTTP port until the hub is up")
    known, passthrough = parser.parse_known_args(argv)
    admins = argparse.ArgumentParser(add_help=False)
    admins.add_argument("--admin", action="append", default=[])
    known.admins = admins.parse_known_args(passthrough)[0].admin
    return known, passthrough


def check_host(environ):
    check_root(os.geteuid())
    check_python(sys.version_info)
    with open("/etc/os-release") as handle:
        system = check_os(parse_os_release(handle.read()), bool(environ.get("HUBSTEAD_ALLOW_UNSUPPORTED_OS")))
    check_systemd()
    with open("/proc/meminfo") as handle:
        check_memory(handle.read())
    check_disk()
    return system


def main(argv=None):
    options, passthrough = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    env = network_environment(os.environ)
    with tempfile.TemporaryDirectory(prefix="hubstead-bootstrap-") as workdir:
        steps_file = os.path.join(workdir, "steps.txt")
        page = None

        def step(message):
            log(message)
            with open(steps_file, "a") as handle:
                handle.write(message + "\n")

        try:
            check_root(os.geteuid())
            if options.show_progress_page:
                page = start_progress_page(http_port(passthrough), steps_file)
            step(f"[1/5] Checking this machine: {check_host(os.environ)}")
            source_dir = fetch_source(options.source, env, workdir)
            validate_admin_names(options.admins, source_dir)
            check_index_reachable(env)
            step(f"[2/5] Source: {source_dir}")
            step(f"[3/5] Debian packages: {install_apt_packages(env, options.log_file)}")
            step(f"[4/5] Hub environment in {HUB_PREFIX} (log: {options.log_file})")
            ensure_hub_venv(source_dir, env, options.log_file)
            step(f"[5/5] Applying the machine's configuration ({time.monotonic() - started:.0f} s so far)")
            hubstead = os.path.join(HUB_PREFIX, "bin", "hubstead")
            extra = ["--progress-page-pid", str(page)] if page else []
            return subprocess.run([hubstead, "install", *passthrough, *extra], env=env).returncode
        except BootstrapError as error:
            sys.stderr.write(f"error: {error}\n")
            return 1
        except KeyboardInterrupt:
            sys.stderr.write("interrupted: run the same command again to finish.\n")
            return 1
        finally:
            stop_progress_page(page)


if __name__ == "__main__":
    sys.exit(main())
