"""Disk quota support as the filesystem of /home allows it, and one batch for every user.

The mount tables are written out (real lines of /proc/self/mountinfo's format): this
machine's own /home cannot be remounted with quotas here. Applying is checked against
stand-in setquota / xfs_quota scripts on PATH that record how they were called, since
no filesystem with quotas exists on this machine (the VM tests run the real tools)."""

import os
import stat

import pytest

from hubstead.limits import quota

pytestmark = pytest.mark.unit

OVERLAY = "25 1 0:22 / / rw,relatime - overlay overlay rw,lowerdir=/a,upperdir=/b\n"
EXT4 = "30 25 254:1 / /home rw,relatime - ext4 /dev/vda2 rw{options}\n"
XFS = "31 25 254:2 / /home rw,relatime - xfs /dev/vdb rw,attr2,inode64{options}\n"


def mountinfo(tmp_path, *lines):
    path = tmp_path / "mountinfo"
    path.write_text(OVERLAY + "".join(lines))
    return str(path)


def test_the_mount_holding_home_is_the_longest_prefix(tmp_path):
    table = mountinfo(tmp_path, EXT4.format(options=",usrquota"))
    point, kind, device, options = quota.mount_of("/home/jupyter-a", table)
    assert (point, kind, device) == ("/home", "ext4", "/dev/vda2") and "usrquota" in options
    assert quota.mount_of("/srv", table)[:2] == ("/", "overlay")


def test_a_filesystem_without_quotas_is_refused_saying_what_to_do(tmp_path):
    found = quota.support("/home", mountinfo(tmp_path))
    assert found.refusal == ("/home is on overlay (mounted at /), which keeps no disk quotas here; put /home "
                             "on ext4 mounted with usrquota, or XFS with uquota, then run `hubstead install`")


@pytest.mark.parametrize("line, option", [(EXT4, "usrquota"), (XFS, "uquota")])
def test_a_mount_without_the_quota_option_is_refused_naming_it(tmp_path, line, option):
    found = quota.support("/home", mountinfo(tmp_path, line.format(options="")))
    assert f"is mounted without user quotas; add {option} to its options in /etc/fstab" in found.refusal


def fake_tool(tmp_path, monkeypatch, name):
    """A stand-in for the quota tool NAME that appends its arguments and input to a log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / f"{name}.log"
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "ARGS $*" >> {log}\ncat >> {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_applying_200_users_is_one_setquota_batch(tmp_path, monkeypatch):
    log = fake_tool(tmp_path, monkeypatch, "setquota")
    found = quota.Support("/home", "ext4", "/dev/vda2")
    quota.apply(found, {f"jupyter-u{number}": "50M" for number in range(200)} | {"jupyter-free": None})
    lines = log.read_text().splitlines()
    assert lines[0] == "ARGS -u -b /home", "one process reads every user from its input"
    assert len(lines) == 202 and lines[1] == "jupyter-u0 51200 51200 0 0"
    assert lines[-1] == "jupyter-free 0 0 0 0", "no quota: the limit is lifted"


def test_xfs_quotas_are_one_xfs_quota_call(tmp_path, monkeypatch):
    log = fake_tool(tmp_path, monkeypatch, "xfs_quota")
    quota.apply(quota.Support("/home", "xfs", "/dev/vdb"), {"jupyter-a": "1G", "jupyter-b": "50M"})
    assert log.read_text().splitlines()[0] == ("ARGS -x -c limit -u bsoft=1048576k bhard=1048576k jupyter-a "
                                               "-c limit -u bsoft=51200k bhard=51200k jupyter-b /home")


def test_a_failing_quota_tool_is_one_line(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "setquota").write_text("#!/bin/sh\necho 'setquota: Cannot find filesystem' >&2\nexit 1\n")
    (bin_dir / "setquota").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(quota.QuotaError, match=r"^setquota failed: setquota: Cannot find filesystem$"):
        quota.apply(quota.Support("/home", "ext4", "/dev/vda2"), {"jupyter-a": "1G"})


def test_one_users_own_quota_is_kept_and_dropped(tmp_path):
    quota.save_user_quota("ana", "50M", tmp_path)
    quota.save_user_quota("ben", "1G", tmp_path)
    quota.save_user_quota("ana", None, tmp_path)
    assert quota.user_quotas(tmp_path) == {"ben": "1G"}
    assert stat.S_IMODE((tmp_path / quota.USER_QUOTAS_FILE).stat().st_mode) == 0o600


def test_the_install_needs_the_tools_only_where_quotas_are_mounted(tmp_path):
    assert quota.install_needs("/home", mountinfo(tmp_path, EXT4.format(options=",usrquota"))) == {
        "mountpoint": "/home", "filesystem": "ext4", "package": "quota", "turn_on": True}
    assert quota.install_needs("/home", mountinfo(tmp_path, XFS.format(options=",usrquota")))["package"] == "xfsprogs"
    assert quota.install_needs("/home", mountinfo(tmp_path))["package"] is None
