"""Upgrades (issue 15): a hub installed from a pinned earlier commit of this repository,
with a user, her files, an environment and her running server, is installed over from
the checkout; users, files, environments and the running server are kept.

One fresh container for the module: the old tree (from `git archive`) is bound at /src,
where the harness installs from, and the checkout at /new for the re-run.
"""

import subprocess

import pytest

from tests.harness.container import REPO_ROOT, Container
from tests.harness.hub import InstallFailed, install_command, install_hub
from tests.harness.hubcli import hubstead, learner_with_work
from tests.harness.hubclient import HubUser

# Slow tier: two installs (136 s on two idle cores, caches warm; 9 min cold); scripts/test says when it is left out.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The last commit of 2026-11-24 (the second session's end): the CLI and environments
# as they were before issues 12-16.
OLD_COMMIT = "44ac65ae8db5519aec2845b6a2cd2508a9069477"
NAME, PASSWORD, ENV = "up-ann", "Upgrade-Ann-Pass-1", "up-figlet"
NOTE = "written before the upgrade\n"


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("old-hubstead")
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", OLD_COMMIT], capture_output=True, check=False)
    assert archive.returncode == 0, f"git archive {OLD_COMMIT} failed: {archive.stderr.decode()[-300:]}"
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def unit_started(hub, unit):
    return hub.container.run(["systemctl", "show", "-p", "ActiveEnterTimestampMonotonic", "--value", unit]).stdout.strip()


@pytest.fixture(scope="module")
def upgraded(base_rootfs, old_tree):
    """(hub, before): the old install with ann's work, then the checkout's install over it."""
    with Container(base_rootfs, binds_ro={old_tree: "/src", REPO_ROOT: "/new"}) as container:
        try:
            hub = install_hub(container)
        except InstallFailed as error:
            pytest.fail(f"installing {OLD_COMMIT[:10]}: {error}", pytrace=False)
        learner_with_work(hub, NAME, PASSWORD, ENV, NOTE, "made before")
        before = {"server": unit_started(hub, f"jupyter-{NAME}-singleuser")}
        command = install_command(hub.port, hub.hub_port, hub.proxy_api_port, hub.web_port)
        command = [part.replace("/src", "/new") for part in command]
        again = container.run(command, check=False, timeout=1800)
        assert again.returncode == 0, f"the upgrade's install failed:\n{again.stdout[-2000:]}\n{again.stderr[-2000:]}"
        yield hub, before


def test_the_upgrade_keeps_users_files_environments_and_running_servers(upgraded):
    hub, before = upgraded
    version = hub.container.run(["/opt/hubstead/hub/bin/python", "-c",
                                 "import hubstead.backup, hubstead.export; print('new code')"], check=False)
    assert version.stdout.strip() == "new code", "the hub venv does not run the checkout's hubstead"
    assert unit_started(hub, f"jupyter-{NAME}-singleuser") == before["server"], "ann's server was restarted"
    ann = HubUser(hub.url)
    ann.login(NAME, PASSWORD)
    assert ann.server_status().ready
    assert ann.run_code("print(open('notes.txt').read(), end='')") == NOTE
    assert ann.run_code("import pyfiglet, sys; print(sys.prefix)").strip().startswith(f"/opt/hubstead/envs/{ENV}/")
    listed = hubstead(hub, "env", "list").stdout
    assert ENV in listed and "made before" in listed
    ann.stop_server()
    ann.start_server({"environment": ENV}, timeout=180)
    assert ann.run_code("print(open('notes.txt').read(), end='')") == NOTE
