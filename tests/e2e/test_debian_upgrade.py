"""A Debian release upgrade under a running hub (issue 15): Hubstead installed on Debian
12 with a learner, her files and a PyPI environment; the machine is upgraded to Debian 13
the way Debian's release notes say (sources to trixie, `apt full-upgrade`), which moves
python3 from 3.11 to 3.13 under the hub's venv and every PyPI environment; then the
README's install command is run again. Everything comes back on the new Python.

The container is not rebooted (the harness boots each container once); systemd
re-executes itself during the upgrade, and the install restarts the hub's units.
"""

import pytest

from tests.harness.container import Container
from tests.harness.hub import InstallFailed, install_command, install_hub
from tests.harness.hubcli import hubstead, learner_with_work
from tests.harness.hubclient import HubUser

# Slow tier: an install, a release upgrade (~400 packages) and the install again, all
# in the first test's setup (hence its own timeout, over pytest.ini's 1800 s).
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(5400)]

NAME, PASSWORD, ENV = "du-ann", "Upgrade-Debian-Pass-1", "du-figlet"
NOTE = "written on Debian 12\n"
APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confold",
       "-o", "Dpkg::Options::=--force-confdef"]


def python_of(container, python):
    return container.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).stdout.strip()


@pytest.fixture(scope="module")
def upgraded(base_rootfs):
    """(hub, install output): the hub on Debian 12 with ann's work, upgraded to 13, installed again."""
    if "bookworm" not in str(base_rootfs):
        pytest.fail("this test starts from Debian 12: run it without HUBSTEAD_TEST_SUITE", pytrace=False)
    with Container(base_rootfs) as container:
        try:
            hub = install_hub(container)
        except InstallFailed as error:
            pytest.fail(f"installing on Debian 12: {error}", pytrace=False)
        assert python_of(container, "/usr/bin/python3") == "3.11"
        learner_with_work(hub, NAME, PASSWORD, ENV, NOTE, "made on 12").stop_server(timeout=120)
        container.run(["sh", "-c", "sed -i 's/bookworm/trixie/g' /etc/apt/sources.list "
                       "$(ls /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null)"])
        container.run(APT + ["update"], timeout=600)
        upgrade = container.run(APT + ["full-upgrade"], check=False, timeout=2400)
        assert upgrade.returncode == 0, f"apt full-upgrade failed:\n{upgrade.stdout[-1500:]}\n{upgrade.stderr[-1500:]}"
        command = install_command(hub.port, hub.hub_port, hub.proxy_api_port, hub.web_port)
        again = container.run(command, check=False, timeout=2400)
        assert again.returncode == 0, f"the install after the upgrade failed:\n{again.stdout[-2500:]}\n{again.stderr[-1500:]}"
        yield hub, again.stdout + again.stderr


def test_the_machine_and_the_hub_run_debian_13_s_python(upgraded):
    hub, output = upgraded
    assert 'VERSION_ID="13"' in hub.container.read_file("/etc/os-release")
    assert python_of(hub.container, "/usr/bin/python3") == "3.13"
    assert python_of(hub.container, "/opt/hubstead/hub/bin/python") == "3.13"
    assert "building it again" in output, "bootstrap says why it rebuilt the hub venv"
    status = hubstead(hub, "status", check=False)
    assert status.returncode == 0, status.stdout + status.stderr


def test_the_learner_her_files_and_her_environment_come_back_on_the_new_python(upgraded):
    hub, output = upgraded
    assert f"environment {ENV} was built again for this machine's Python" in output
    ann = HubUser(hub.url)
    ann.login(NAME, PASSWORD)
    ann.start_server({"environment": ENV}, timeout=300)
    assert ann.run_code("print(open('notes.txt').read(), end='')") == NOTE
    shown = ann.run_code("import pyfiglet, sys; print('%d.%d' % sys.version_info[:2], sys.prefix)").split()
    assert shown[0] == "3.13" and shown[1].startswith(f"/opt/hubstead/envs/{ENV}/")
    listed = hubstead(hub, "env", "list").stdout
    assert ENV in listed and "made on 12" in listed
    ann.stop_server(timeout=120)


def test_the_default_environment_serves_on_the_new_python(upgraded):
    hub, _ = upgraded
    ann = HubUser(hub.url)
    ann.login(NAME, PASSWORD)
    ann.start_server(timeout=300)
    assert ann.run_code("import sys; print('%d.%d' % sys.version_info[:2])").strip() == "3.13"
    ann.stop_server(timeout=120)
