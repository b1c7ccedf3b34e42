"""Ports of TLJH's installer tests: integration-tests/test_admin_installer.py and
integration-tests/test_bootstrap.py (jupyterhub/the-littlest-jupyterhub), plus the
installer's --version.

Translated: `bootstrap/bootstrap.py` -> `/src/bootstrap.py --from /src`; a docker image
of an old Ubuntu -> a fresh container whose /etc/os-release says Ubuntu 20.04; a
container without systemd -> /run/systemd hidden from bootstrap.py; hubtraf's dummy
login -> the hub's login form (tests.harness.hubclient). Messages are Hubstead's (on
stderr, `error: ...`). Differences are listed in docs/migrating-from-tljh.md.
"""

import json
import urllib.error
import urllib.request

import pytest

from tests.harness.hub import http_status
from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser, LoginFailed
from tests.harness.tljh_flags import ADMIN, ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

UBUNTU_20_04 = """\
PRETTY_NAME="Ubuntu 20.04.6 LTS"
NAME="Ubuntu"
VERSION_ID="20.04"
VERSION="20.04.6 LTS (Focal Fossa)"
ID=ubuntu
ID_LIKE=debian
"""


def _page(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as answer:
            return answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.read().decode(errors="replace")


def _run_bootstrap(container, shell_prefix=""):
    """bootstrap.py as TLJH's test runs it (--show-progress-page), in a container that has
    not been set up."""
    return container.run(f"{shell_prefix}python3 /src/bootstrap.py --show-progress-page --from /src",
                         check=False, timeout=120)


@pytest.mark.parametrize(
    "username, password, expect_successful_login",
    [
        (ADMIN, ADMIN_PASSWORD, True),
        ("user", "", False),
    ],
)
def test_pre_configured_admin_login(tljh_flags_hub, username, password, expect_successful_login):
    """Port of test_admin_installer.py::test_pre_configured_admin_login: the
    "--admin <username>:<password>" flag allows that user/pass combination and no other
    user can login."""
    user = HubUser(tljh_flags_hub.hub.url)
    try:
        user.login(username, password)
        user_logged_in = user.is_logged_in()
    except LoginFailed:
        user_logged_in = False

    assert user_logged_in == expect_successful_login


def test_pre_configured_admin_is_an_admin_without_signing_up(tljh_flags_hub):
    """What --admin NAME:PASSWORD promises besides the login: NAME is a hub admin, approved,
    and the install's last line says to log in (not to sign up)."""
    hub = tljh_flags_hub.hub
    listed = {item["name"]: item for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}
    assert listed[ADMIN]["admin"] and listed[ADMIN]["approved"]
    assert ADMIN_PASSWORD not in hub.container.read_file("/etc/hubstead/config.yaml")
    assert f"Next: log in as {ADMIN} at http" in hub.install_output


def test_ubuntu_too_old(fresh_container):
    """Port of test_bootstrap.py::test_ubuntu_too_old: error with a useful message when
    running in older Ubuntu."""
    fresh_container.run("rm -f /etc/os-release")
    fresh_container.write_file("/etc/os-release", UBUNTU_20_04)
    output = _run_bootstrap(fresh_container)
    assert output.stderr == (
        "error: Hubstead supports Debian 12/13 and Ubuntu 22.04/24.04, not Ubuntu 20.04.6 LTS. "
        "Use one of those (or set HUBSTEAD_ALLOW_UNSUPPORTED_OS=1 to try anyway).\n")
    assert output.returncode == 1


def test_no_systemd(fresh_container):
    """Port of test_bootstrap.py::test_no_systemd: a machine not booted with systemd is
    refused in one sentence."""
    output = _run_bootstrap(fresh_container, "unshare --mount sh -c 'mount -t tmpfs none /run/systemd && exec \"$@\"' -- ")
    assert "Hubstead needs a machine booted with systemd" in output.stderr
    assert output.returncode == 1


def test_show_progress_page(tljh_flags_hub):
    """Port of test_bootstrap.py::test_show_progress_page: while bootstrap.py
    --show-progress-page installs, the HTTP port answers a progress page; the installer
    stops it before the proxy needs the port, and the hub answers there afterwards."""
    hub = tljh_flags_hub.hub
    assert tljh_flags_hub.progress_pages, "no progress page answered during the install"
    status, body = tljh_flags_hub.progress_pages[-1]
    assert status == "HTTP/1.0 200 OK"
    assert "[1/5] Checking this machine" in body
    assert "Progress page server stopped successfully." in hub.install_output
    assert http_status(f"{hub.url}/hub/api") == 200
    assert "being installed" not in _page(f"{hub.url}/index.html")


def test_installer_version(installed_hub):
    """TLJH's installer takes --version (docs); so do bootstrap.py and `hubstead install`."""
    container = installed_hub.container
    assert container.run(["python3", "/src/bootstrap.py", "--version"]).stdout == "hubstead bootstrap 0.1.0\n"
    assert hubstead(installed_hub, "install", "--version").stdout == "hubstead 0.1.0\n"


def test_user_requirements_txt_url(tljh_flags_hub):
    """--user-requirements-txt-url URL (TLJH's installer flag): the packages listed there are
    in the default environment, as a new locked build the install reports."""
    hub = tljh_flags_hub.hub
    python = "/opt/hubstead/envs/default/current/bin/python"
    hub.container.run([python, "-c", "import humanize"])
    assert "humanize" in hubstead(hub, "env", "export", "default").stdout
    assert "the default environment now serves build" in hub.install_output


def test_the_installers_log_is_root_only(tljh_flags_hub):
    """Issue 10: the installer's log is root-only (commands' output can show tokens)."""
    shown = tljh_flags_hub.hub.container.run(["stat", "-c", "%a %U", "/var/log/hubstead-bootstrap.log"]).stdout
    assert shown.split() == ["600", "root"]
