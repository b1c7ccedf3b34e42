"""Bad input and bad luck during install: a clear line or two, a non-zero exit, and
nothing half-installed that the next run cannot finish. Each test gets a fresh machine."""

import signal
import time

import pytest

from tests.harness.hub import install_command, wait_for_http
from tests.harness.container import free_tcp_ports

pytestmark = pytest.mark.e2e

BOOTSTRAP = ["python3", "/src/bootstrap.py", "--from", "/src"]


def assert_refused(result, *phrases):
    assert result.returncode == 1, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for phrase in phrases:
        assert phrase in errors[0]
    assert "Traceback" not in result.stderr


def assert_nothing_installed(container):
    assert not container.path_exists("/opt/hubstead")
    assert not container.path_exists("/etc/hubstead")
    assert not container.path_exists("/var/lib/hubstead")
    status = container.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "python3-venv"], check=False)
    assert status.stdout != "installed", "apt ran before the checks"


def test_not_root_is_refused(fresh_container):
    result = fresh_container.run([*BOOTSTRAP, "--admin", "alice"], user="nobody", cwd="/tmp", check=False)
    assert_refused(result, "must run as root", "sudo")
    assert_nothing_installed(fresh_container)


def test_unsupported_system_is_refused(fresh_container):
    fresh_container.run(["rm", "/etc/os-release"])
    fresh_container.write_file("/etc/os-release", 'ID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n')
    result = fresh_container.run([*BOOTSTRAP, "--admin", "alice"], check=False)
    assert_refused(result, "Debian 12/13 and Ubuntu 22.04/24.04", "Fedora Linux 40")
    assert_nothing_installed(fresh_container)


@pytest.mark.parametrize("name, why", [("Bob Smith", "lowercase letters"), ("root", "reserved")])
def test_invalid_admin_name_is_refused(fresh_container, name, why):
    result = fresh_container.run([*BOOTSTRAP, "--admin", name], check=False)
    assert_refused(result, f"--admin {name!r}", why)
    assert_nothing_installed(fresh_container)


def test_no_network_is_refused(fresh_container):
    result = fresh_container.run(["unshare", "--net", *BOOTSTRAP, "--admin", "alice"], check=False)
    assert_refused(result, "Cannot reach the Python package index", "https_proxy")
    assert_nothing_installed(fresh_container)


def test_full_disk_is_refused(fresh_container):
    fresh_container.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", "/opt"])
    result = fresh_container.run([*BOOTSTRAP, "--admin", "alice"], check=False)
    assert_refused(result, "Not enough disk space for /opt/hubstead", "GiB needed")
    assert not fresh_container.path_exists("/opt/hubstead")


def test_interrupted_install_completes_when_run_again(fresh_container):
    """Kill the install while Ansible applies the roles, then run the same command again."""
    port, hub_port, api_port, web_port = free_tcp_ports(4)
    command = install_command(port, hub_port, api_port, web_port)
    first = fresh_container.run_background(command)
    deadline = time.monotonic() + 600
    while not fresh_container.path_exists("/var/lib/hubstead/ansible") and first.poll() is None:
        assert time.monotonic() < deadline, first.output()
        time.sleep(0.5)
    time.sleep(4)  # well inside the roles: packages, units, the user environment
    assert first.poll() is None, f"the install ended before it could be interrupted:\n{first.output()}"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    # A dropped SSH session also takes ansible-playbook down: nothing of the first run remains.
    fresh_container.run("pkill -KILL -f '[a]nsible-playbook'; pkill -KILL -f '[h]ubstead install'; true")

    second = fresh_container.run(command, timeout=900, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    wait_for_http(f"http://127.0.0.1:{port}/hub/api", timeout=60)
    third = fresh_container.run(command, timeout=600)
    assert "Nothing changed" in third.stderr
