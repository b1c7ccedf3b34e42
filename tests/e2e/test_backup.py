"""Backups that restore onto a new machine (issue 15).

Hub 1 is the shared installed hub: an admin, a roster in a group, a learner's files
written from her running server, a PyPI environment; `backup create --homes` runs while
that server runs. Hub 2 is a freshly installed container (one install for this module)
that refuses bad archives and then restores hub 1's: every account logs in with its
password, the files are back with their owner, the environment imports its package,
the group has its members. What hub 1's tests made is removed afterwards.
"""

import csv
import io
import json
import shutil
import time
from pathlib import Path

import pytest

from tests.harness.container import Container
from tests.harness.hub import InstallFailed, install_hub
from tests.harness.hubcli import hubstead
from tests.harness.hubclient import HubUser, LoginFailed

pytestmark = pytest.mark.e2e

ADMIN, ADMIN_PASSWORD = "bk-admin", "Backup-Admin-Pass-1"
ROSTER = ["bk-ann", "bk-ben", "bk-cid"]
GROUP, ENV = "bk-day1", "bk-figlet"
NOTE = "ann's notes, kept across machines\n"


def one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def host_path(hub, inside):
    """A file inside a container, as the host sees it (its PID 1's root)."""
    return Path(f"/proc/{hub.container.pid}/root{inside}")


def hub_users(hub):
    return {item["name"]: item for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}


@pytest.fixture(scope="module")
def hub1_backup(installed_hub, tmp_path_factory):
    """Hub 1's people, files and environment, backed up with homes; removed afterwards."""
    hub = installed_hub
    passwords = {}
    try:
        hubstead(hub, "user", "add", ADMIN, "--admin", "--password-stdin", input=ADMIN_PASSWORD + "\n")
        passwords[ADMIN] = ADMIN_PASSWORD
        hub.container.write_file("/root/bk-roster.csv", "username,group\n" + "".join(f"{n},{GROUP}\n" for n in ROSTER))
        hubstead(hub, "user", "import", "/root/bk-roster.csv", "--sheet", "/root/bk-sheet.csv")
        sheet = csv.DictReader(io.StringIO(hub.container.read_file("/root/bk-sheet.csv")))
        passwords.update({row["username"]: row["password"] for row in sheet})
        hub.container.write_file("/root/bk-figlet.txt", "pyfiglet\n")
        hubstead(hub, "env", "create", ENV, "--file", "/root/bk-figlet.txt", "--description", "backup test")
        ann = HubUser(hub.url)
        ann.login("bk-ann", passwords["bk-ann"])
        ann.start_server(timeout=180)
        ann.run_code(f"import os; os.makedirs('work', exist_ok=True); open('work/notes.txt', 'w').write({NOTE!r}); "
                     "os.symlink('work/notes.txt', 'latest')")
        # Taken while ann's server runs: a live hub.
        created = hubstead(hub, "backup", "create", "--homes", "--to", "/root/bk-hub1.tar.gz")
        assert "Wrote /root/bk-hub1.tar.gz" in created.stdout, created.stdout
        copy = tmp_path_factory.mktemp("backup") / "hub1.tar.gz"
        shutil.copyfile(host_path(hub, "/root/bk-hub1.tar.gz"), copy)
        yield copy, passwords
    finally:
        for name in [ADMIN, *ROSTER]:
            hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)
        hubstead(hub, "group", "remove", GROUP, "--yes", check=False)
        hubstead(hub, "env", "remove", ENV, "--yes", check=False)
        hub.container.run("rm -f /root/bk-*", check=False)


@pytest.fixture(scope="module")
def hub2(base_rootfs):
    """A second machine with a fresh install (the one fresh install of this module)."""
    with Container(base_rootfs) as container:
        try:
            yield install_hub(container)
        except InstallFailed as error:
            pytest.fail(str(error), pytrace=False)


def put(hub, data_path, inside):
    shutil.copyfile(data_path, host_path(hub, inside))


def test_the_archive_is_private_and_verifies(installed_hub, hub1_backup):
    mode = installed_hub.container.run(["stat", "-c", "%a", "/root/bk-hub1.tar.gz"]).stdout.strip()
    assert mode == "600"
    verified = hubstead(installed_hub, "backup", "verify", "/root/bk-hub1.tar.gz")
    assert "intact" in verified.stdout and "with homes" in verified.stdout


def test_bad_targets_and_bad_archives_are_refused_and_change_nothing(hub2, hub1_backup):
    archive, _ = hub1_backup
    container = hub2.container
    assert "Read-only file system" in one_error_line(hubstead(hub2, "backup", "create", "--to", "/src/x.tar.gz",
                                                               check=False))
    container.run("mkdir -p /mnt/bk-full && mount -t tmpfs -o size=64k bk-full /mnt/bk-full")
    try:
        full = hubstead(hub2, "backup", "create", "--to", "/mnt/bk-full/a.tar.gz", check=False)
        assert "No space left on device" in one_error_line(full)
        assert container.run("ls -A /mnt/bk-full").stdout.strip() == ""
    finally:
        container.run("umount /mnt/bk-full", check=False)
    before = hub_users(hub2)
    data = archive.read_bytes()
    host_path(hub2, "/root/truncated.tar.gz").write_bytes(data[: len(data) // 2])
    refused = one_error_line(hubstead(hub2, "backup", "restore", "/root/truncated.tar.gz", "--yes", check=False))
    assert "truncated" in refused
    container.write_file("/root/notes.tar.gz", "not an archive\n")
    assert "not a Hubstead backup" in one_error_line(
        hubstead(hub2, "backup", "restore", "/root/notes.tar.gz", "--yes", check=False))
    assert hub_users(hub2).keys() == before.keys()


def test_a_second_machine_restores_everything(hub2, hub1_backup):
    archive, passwords = hub1_backup
    put(hub2, archive, "/root/hub1.tar.gz")
    hubstead(hub2, "user", "add", "bk-only-here", check=False)
    before = hub_users(hub2)
    refused = hubstead(hub2, "backup", "restore", "/root/hub1.tar.gz", check=False)
    assert "bk-only-here" in one_error_line(refused) and "--yes" in refused.stderr
    assert hub_users(hub2) == before
    restored = hubstead(hub2, "backup", "restore", "/root/hub1.tar.gz", "--yes", timeout=1800)
    assert "This restore will:" in restored.stdout and "Restored /root/hub1.tar.gz" in restored.stdout
    users = hub_users(hub2)
    assert users[ADMIN]["admin"] and not users["bk-ann"]["admin"] and "bk-only-here" not in users
    for name, password in passwords.items():
        person = HubUser(hub2.url)
        person.login(name, password)
        assert person.is_logged_in(), name
    with pytest.raises(LoginFailed):
        HubUser(hub2.url).login("bk-ben", passwords["bk-ann"])
    notes = "/home/jupyter-bk-ann/work/notes.txt"
    assert hub2.container.read_file(notes) == NOTE
    assert hub2.container.run(["stat", "-c", "%U %a", notes]).stdout.split()[0] == "jupyter-bk-ann"
    assert hub2.container.run(["stat", "-c", "%U %a", "/home/jupyter-bk-ann"]).stdout.split() == \
        ["jupyter-bk-ann", "700"]
    assert hub2.container.run(["readlink", "/home/jupyter-bk-ann/latest"]).stdout.strip() == "work/notes.txt"
    members = json.loads(hubstead(hub2, "group", "members", GROUP, "--json").stdout)
    assert sorted(item["name"] if isinstance(item, dict) else item for item in members) == ROSTER
    ann = HubUser(hub2.url)
    ann.login("bk-ann", passwords["bk-ann"])
    ann.start_server({"environment": ENV}, timeout=180)
    try:
        assert ann.run_code("import pyfiglet, sys; print(sys.prefix)").strip().startswith(f"/opt/hubstead/envs/{ENV}/")
        assert ann.run_code("print(open('work/notes.txt').read(), end='')") == NOTE
    finally:
        ann.stop_server()


def test_an_interrupted_restore_run_again_completes(hub2, hub1_backup):
    """Killed (SIGKILL, as a lost machine would) once the databases are swapped and the
    hub is down; the same command run again finishes the job."""
    archive, passwords = hub1_backup
    put(hub2, archive, "/root/hub1.tar.gz")
    restore = ["hubstead", "backup", "restore", "/root/hub1.tar.gz", "--yes"]
    running = hub2.container.run_background(restore, env={"PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 900
    while "config, secrets and databases written" not in running.output():
        assert running.poll() is None, f"the restore ended before it could be interrupted:\n{running.output()}"
        assert time.monotonic() < deadline, running.output()
        time.sleep(0.2)
    running.kill()
    running.wait()
    again = hubstead(hub2, *restore[1:], timeout=1800)
    assert "Restored" in again.stdout
    assert hub2.container.read_file("/home/jupyter-bk-ann/work/notes.txt") == NOTE
    HubUser(hub2.url).login(ADMIN, passwords[ADMIN])
    assert hub2.container.run(["ls", "-A", "/home/.hubstead-restore"], check=False).returncode != 0
