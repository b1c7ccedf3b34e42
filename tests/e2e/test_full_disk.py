"""A full disk on an installed hub: `hubstead status` calls it a problem and exits 1, and
`hubstead user add` says in one line that the disk is full and where, and creates nothing.

How a full disk is made, truthfully and without filling the machine: a small tmpfs is
mounted over the directory inside the hub's container (its own mount namespace) and
filled with dd until the kernel answers ENOSPC. For the hub's state directory the hub is
stopped first, a copy of the state is put on the small tmpfs mounted over it, and the hub
runs from that; afterwards the tmpfs goes and the hub restarts on its original state,
which the tmpfs hid and nothing changed.
"""

import json
import shlex

import pytest

from tests.harness.hub import wait_for_http
from tests.harness.hubcli import hubstead

pytestmark = pytest.mark.e2e

STATE = "/var/lib/hubstead"
STATE_COPY = "/run/hubstead-e2e-state-copy"
FILL = ".hubstead-e2e-fill"


def fill(container, directory):
    """Write zeros until the file system holding DIRECTORY has no room left."""
    container.run(f"dd if=/dev/zero of={shlex.quote(directory)}/{FILL} bs=64k status=none; sync; true")
    free = container.run(["df", "--output=avail", "-B1", directory]).stdout.split()[-1]
    assert int(free) < 64 * 1024, f"{directory} still has {free} bytes free"


def one_error_line(result):
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_status_reports_a_full_home_disk_and_exits_1(installed_hub):
    container = installed_hub.container
    before = json.loads(hubstead(installed_hub, "status", "--json", check=False).stdout)
    assert not [problem for problem in before["problems"] if "disk" in problem], before["problems"]
    container.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "hubstead-e2e-full", "/home"])
    try:
        fill(container, "/home")
        as_json = hubstead(installed_hub, "status", "--json", check=False)
        shown = hubstead(installed_hub, "status", check=False)
    finally:
        container.run("umount /home || umount --lazy /home")  # lazy: a server may have its cwd there
    assert as_json.returncode == 1 and shown.returncode == 1, as_json.stdout
    report = json.loads(as_json.stdout)
    assert report["healthy"] is False
    disk_problems = [problem for problem in report["problems"] if "disk" in problem]
    assert len(disk_problems) == 1, report["problems"]
    assert "/home" in disk_problems[0] and "full" in disk_problems[0]
    assert "not healthy" in shown.stdout and "the disk holding /home is full" in shown.stdout
    after = hubstead(installed_hub, "status", "--json", check=False)
    assert not [problem for problem in json.loads(after.stdout)["problems"] if "disk" in problem]


@pytest.fixture
def hub_on_a_small_state_disk(installed_hub):
    """The running hub with /var/lib/hubstead on a tmpfs 32 MiB larger than its state; restored after."""
    container = installed_hub.container
    container.run(["systemctl", "stop", "jupyterhub"])
    try:
        container.run(f"""set -e
            rm -rf {STATE_COPY}
            cp -a {STATE} {STATE_COPY}
            used=$(du -sm {STATE} | cut -f1)
            mount -t tmpfs -o size=$((used + 32))m,mode=$(stat -c %a {STATE}) hubstead-e2e-state {STATE}
            cp -a {STATE_COPY}/. {STATE}/
            systemctl start jupyterhub""")
        wait_for_http(f"{installed_hub.url}/hub/api", timeout=60)
        yield installed_hub
    finally:
        # The original state was hidden, never changed: unmounting brings it back. A
        # process that outlived the hub may still hold the tmpfs; then detach it (lazy).
        container.run(f"""systemctl stop jupyterhub
            umount {STATE} || umount --lazy {STATE}
            rm -rf {STATE_COPY}
            systemctl start jupyterhub""")
        wait_for_http(f"{installed_hub.url}/hub/api", timeout=60)


def test_user_add_on_a_full_state_disk_says_so_and_creates_nothing(hub_on_a_small_state_disk):
    hub = hub_on_a_small_state_disk
    fill(hub.container, STATE)
    result = hubstead(hub, "user", "add", "fulldisk", check=False)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "disk is full" in line and STATE in line, line
    assert result.stdout == "", "no password printed for an account that was not made"
    hub.container.run(["rm", f"{STATE}/{FILL}"])
    names = [account["name"] for account in json.loads(hubstead(hub, "user", "list", "--json").stdout)]
    assert "fulldisk" not in names, "no half-made account"
    # With room again the same command works: nothing of the failed try is in its way.
    hubstead(hub, "user", "add", "fulldisk")
    hubstead(hub, "user", "remove", "fulldisk", "--yes")
