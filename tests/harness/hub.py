"""Install Hubstead inside a Container exactly as the README's development install does.

Shared by the `installed_hub` pytest fixture and the benchmark scripts, so both time and
check the same thing.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from .container import CommandTimeout, Container, ContainerError, free_tcp_ports
from .rootfs import log

HUB_UNITS = ("jupyterhub", "configurable-http-proxy")
INSTALL_TIMEOUT = 15 * 60.0
READY_TIMEOUT = 60.0


class InstallFailed(ContainerError):
    pass


@dataclass
class InstalledHub:
    url: str  # http://127.0.0.1:PORT, reachable from the host (shared network)
    port: int
    hub_port: int
    proxy_api_port: int
    web_port: int
    container: Container
    install_seconds: float
    install_output: str


def install_command(port: int, hub_port: int, proxy_api_port: int, web_port: int) -> list[str]:
    """The README's development install; extra ports because containers share the host
    network, so the defaults would collide between containers and with the host."""
    return [
        "python3", "/src/bootstrap.py", "--admin", "alice", "--from", "/src",
        "--http-port", str(port),
        "--hub-port", str(hub_port),
        "--proxy-api-port", str(proxy_api_port),
        "--web-port", str(web_port),
    ]


def http_status(url: str, timeout: float = 5.0) -> int | None:
    """HTTP status of a GET, or None if nothing answers. Ignores proxy variables: the
    target is always on this machine."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


def wait_for_http(url: str, timeout: float, expect: int = 200) -> float:
    """Poll until `url` answers `expect`; return the seconds it took or raise TimeoutError."""
    started = time.monotonic()
    status = None
    while time.monotonic() - started < timeout:
        status = http_status(url)
        if status == expect:
            return time.monotonic() - started
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer {expect} within {timeout:.0f} s "
                       f"(last status: {status or 'no answer'})")


def _tail(text: str, lines: int = 80) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _failure(container: Container, summary: str, output: str) -> InstallFailed:
    return InstallFailed(
        f"{summary}\n--- install output (tail) ---\n{_tail(output)}\n"
        f"--- journalctl -u {' -u '.join(HUB_UNITS)} (tail) ---\n"
        f"{_tail(container.journal(HUB_UNITS, lines=150))}"
    )


def install_hub(container: Container, *, timeout: float = INSTALL_TIMEOUT,
                ready_timeout: float = READY_TIMEOUT, echo: bool = True, extra_args=(),
                cwd: str | None = None, while_installing=None) -> InstalledHub:
    """Run the install in `container`, wait for /hub/api, and describe the result.

    The install's output is echoed to stderr line by line as it arrives (echo=True), so
    a CI log shows where a slow or hanging install is. extra_args go to bootstrap.py;
    while_installing(port) is called every half second until the install ends.
    """
    if not container.path_exists("/src/bootstrap.py"):
        raise InstallFailed("/src/bootstrap.py does not exist in the checkout under test")
    port, hub_port, proxy_api_port, web_port = free_tcp_ports(4)
    cmd = install_command(port, hub_port, proxy_api_port, web_port) + list(extra_args)
    log(f"install: {' '.join(cmd)}")
    started = time.monotonic()
    # Unbuffered, or Python holds the install's progress until exit when writing to a file.
    proc = container.run_background(cmd, env={"PYTHONUNBUFFERED": "1"}, cwd=cwd)
    shown = 0
    while proc.poll() is None and time.monotonic() - started < timeout:
        time.sleep(0.5)
        if while_installing is not None:
            while_installing(port)
        if echo:
            shown = _echo_new(proc.output(), shown)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        output = proc.output()
        raise _failure(container, f"install did not finish within {timeout:.0f} s", output) \
            from CommandTimeout(cmd, None, output, "")
    install_seconds = time.monotonic() - started
    output = proc.output()
    if echo:
        _echo_new(output, shown)
    log(f"install wall time: {install_seconds:.1f} s (exit code {proc.returncode})")
    if proc.returncode != 0:
        raise _failure(container, f"install failed with exit code {proc.returncode}: "
                                  f"{' '.join(cmd)}", output)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_for_http(f"{url}/hub/api", ready_timeout)
    except TimeoutError as error:
        raise _failure(container, f"install succeeded but the hub is not up: {error}", output) from error
    log(f"hub answered on {url}/hub/api {ready:.1f} s after the install finished")
    return InstalledHub(url=url, port=port, hub_port=hub_port, proxy_api_port=proxy_api_port, web_port=web_port,
                        container=container, install_seconds=install_seconds,
                        install_output=output)


def _echo_new(output: str, shown: int) -> int:
    """Print the complete lines of `output` after offset `shown`; return the new offset."""
    end = output.rfind("\n") + 1
    if end > shown:
        for line in output[shown:end].splitlines():
            print(f"[install] {line}", file=sys.stderr, flush=True)
        return end
    return shown
