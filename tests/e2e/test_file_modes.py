"""On an installed hub, the installer's log and the default environment's uv lock are
root's alone, and an upgrade fixes them on a machine installed before (issue 17, item 7)."""

import pytest

from tests.harness.hub import install_command, wait_for_http

pytestmark = pytest.mark.e2e

LOG = "/var/log/hubstead-bootstrap.log"
LOCK = "/opt/hubstead/envs/default/current/.lock"


def mode_and_owner(container, path):
    return container.run(["stat", "-L", "-c", "%a %U", path]).stdout.strip()


def readable_by_nobody(container, path):
    return container.run(["runuser", "-u", "nobody", "--", "cat", path], check=False).returncode == 0


def test_the_log_and_the_environment_lock_are_root_only(installed_hub):
    container = installed_hub.container
    assert mode_and_owner(container, LOG) == "600 root"
    assert not readable_by_nobody(container, LOG)
    assert container.path_exists(LOCK), "uv leaves its lock in the environment"
    assert mode_and_owner(container, LOCK) == "600 root"
    assert container.run(["runuser", "-u", "nobody", "--", "sh", "-c", f"echo x >> {LOCK}"],
                         check=False).returncode != 0


def test_an_upgrade_makes_files_of_an_older_install_root_only(installed_hub):
    hub = installed_hub
    container = hub.container
    container.run(["chmod", "0644", LOG])
    container.run(["chmod", "0666", LOCK])
    try:
        container.run(install_command(hub.port, hub.hub_port, hub.proxy_api_port, hub.web_port), timeout=900)
        assert mode_and_owner(container, LOG) == "600 root"
        assert mode_and_owner(container, LOCK) == "600 root"
    finally:
        container.run(["chmod", "0600", LOG, LOCK], check=False)  # never leave them open
        wait_for_http(f"{hub.url}/hub/api", timeout=90)
