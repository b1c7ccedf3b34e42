"""Disk quotas with the filesystem's own support: Debian's quota tools (setquota) on
ext4, xfs_quota on XFS. Quotas are per unix account (jupyter-NAME) on the filesystem
that holds /home.

`support()` looks at that filesystem now; `record()` (run by the install) keeps the
finding in /var/lib/hubstead/quota-support.json for `hubstead status`. Applying goes
in one process for every user (setquota -b reads them all from its input; xfs_quota
takes one -c per user), so 200 users cost one program start, not 200.
"""

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import paths
from ..errors import HubsteadError
from .sizes import parse_size

HOME = Path("/home")
SUPPORT_FILE = "quota-support.json"
USER_QUOTAS_FILE = "user-quotas.json"
QUOTA_OPTIONS = {"ext4": ("usrquota", "usrjquota", "quota"), "ext3": ("usrquota", "usrjquota", "quota"),
                 "xfs": ("usrquota", "uquota", "uqnoenforce")}
OPTION_HINT = {"xfs": "uquota", "ext4": "usrquota", "ext3": "usrquota"}


class QuotaError(HubsteadError):
    """A disk quota this machine cannot keep, or a quota command that failed."""


@dataclass(frozen=True)
class Support:
    """What the filesystem of /home can do. refusal: why no quota can be set, or None."""

    mountpoint: str
    filesystem: str
    device: str
    refusal: object = None

    def as_dict(self):
        return asdict(self)


def mount_of(path=HOME, mountinfo="/proc/self/mountinfo"):
    """(mount point, filesystem type, source, every option) of the mount holding path."""
    target, best = str(Path(path).resolve()), None
    for line in Path(mountinfo).read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        point = fields[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            options = set(fields[5].split(",")) | {item.split("=")[0] for item in tail[2].split(",")}
            best = (point, tail[0], tail[1], options)
    return best


def support(path=HOME, mountinfo="/proc/self/mountinfo"):
    """The Support of the filesystem holding path, judged now."""
    point, kind, device, options = mount_of(path, mountinfo)
    refusal = None
    if kind not in QUOTA_OPTIONS:
        refusal = (f"{path} is on {kind} (mounted at {point}), which keeps no disk quotas here; "
                   f"put {path} on ext4 mounted with usrquota, or XFS with uquota, then run `hubstead install`")
    elif not set(QUOTA_OPTIONS[kind]) & options:
        refusal = (f"{point} ({kind}) is mounted without user quotas; add {OPTION_HINT[kind]} to its "
                   f"options in /etc/fstab, mount it again, then run `hubstead install`")
    elif not shutil.which("xfs_quota" if kind == "xfs" else "setquota"):
        refusal = (f"the {'xfsprogs' if kind == 'xfs' else 'quota'} package is missing; "
                   "run `hubstead install`, which installs it")
    elif kind != "xfs" and not quotas_on(point):
        refusal = f"user quotas are off on {point}; run `hubstead install` (it runs quotacheck and quotaon)"
    return Support(point, kind, device, refusal)


def quotas_on(point):
    result = subprocess.run(["quotaon", "-p", "-u", point], capture_output=True, text=True)
    # quotaon -p exits 1 when quotas are on, as its manual says.
    return " is on" in result.stdout


def record(state_dir=None):
    """Write what support() finds to the state directory; return it."""
    found = support()
    target = Path(state_dir or paths.STATE_DIR) / SUPPORT_FILE
    target.write_text(json.dumps(found.as_dict(), indent=2) + "\n")
    return found


def recorded(state_dir=None):
    """The install's finding (a dict), or None before the first install that looked."""
    target = Path(state_dir or paths.STATE_DIR) / SUPPORT_FILE
    return json.loads(target.read_text()) if target.exists() else None


def refusal():
    """Why no disk quota can be set on this machine now, or None."""
    return support().refusal


def check_supported():
    found = support()
    if found.refusal:
        raise QuotaError(f"cannot set a disk quota: {found.refusal}")
    return found


# -- one user's own quota (hubstead quota set) -------------------------------------

def user_quotas(state_dir=None):
    """{hub user: size} of the quotas `hubstead quota set` gave."""
    target = Path(state_dir or paths.STATE_DIR) / USER_QUOTAS_FILE
    return json.loads(target.read_text()) if target.exists() else {}


def save_user_quota(user, size, state_dir=None):
    """Keep (or with size None, drop) one user's own quota."""
    quotas = user_quotas(state_dir)
    if size is None:
        quotas.pop(user, None)
    else:
        quotas[user] = size
    target = Path(state_dir or paths.STATE_DIR) / USER_QUOTAS_FILE
    temp = target.with_suffix(".new")
    temp.write_text(json.dumps(quotas, indent=2, sort_keys=True) + "\n")
    temp.chmod(0o600)
    temp.replace(target)


# -- applying and reading them ------------------------------------------------------

def apply(found, limits_by_account):
    """Set every account's block limit ({unix account: size or None}) in one process."""
    if not limits_by_account:
        return
    kib = {account: (parse_size(size) // 1024 if size else 0) for account, size in limits_by_account.items()}
    if found.filesystem == "xfs":
        command = ["xfs_quota", "-x"]
        for account, limit in kib.items():
            command += ["-c", f"limit -u bsoft={limit}k bhard={limit}k {account}"]
        run(command + [found.mountpoint])
    else:
        lines = "".join(f"{account} {limit} {limit} 0 0\n" for account, limit in kib.items())
        run(["setquota", "-u", "-b", found.mountpoint], stdin=lines)


def usage(found):
    """{unix account: (used bytes, hard limit bytes or 0)} from the filesystem's quota report."""
    if found.filesystem == "xfs":
        output = run(["xfs_quota", "-x", "-c", "report -u -N -b -n", found.mountpoint])
        rows = [line.split() for line in output.splitlines()]
        # -n: numeric ids. Columns: #ID used soft hard warn grace.
        return {_account(row[0].lstrip("#")): (int(row[1]) * 1024, int(row[3]) * 1024)
                for row in rows if len(row) >= 4 and row[1].isdigit()}
    output = run(["repquota", "-u", "-n", "-p", found.mountpoint])
    report = {}
    for row in (line.split() for line in output.splitlines()):
        # #UID  --  used soft hard grace files soft hard grace
        if len(row) >= 5 and row[0].startswith("#") and row[2].isdigit():
            report[_account(row[0][1:])] = (int(row[2]) * 1024, int(row[4]) * 1024)
    return report


def _account(uid):
    import pwd

    try:
        return pwd.getpwuid(int(uid)).pw_name
    except (KeyError, ValueError):
        return uid


def run(command, stdin=None):
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, text=True)
    except FileNotFoundError:
        raise QuotaError(f"{command[0]} is missing; run `hubstead install`, which installs it") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise QuotaError(f"{command[0]} failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}")
    return result.stdout


def install_needs(path=HOME, mountinfo="/proc/self/mountinfo"):
    """What the install does for quotas here: {mountpoint, filesystem, package (or None
    when /home is not mounted with user quotas), turn_on (ext4: quotacheck + quotaon)}."""
    point, kind, _device, options = mount_of(path, mountinfo)
    mounted_with = kind in QUOTA_OPTIONS and bool(set(QUOTA_OPTIONS[kind]) & options)
    package = ("xfsprogs" if kind == "xfs" else "quota") if mounted_with else None
    return {"mountpoint": point, "filesystem": kind, "package": package,
            "turn_on": mounted_with and kind != "xfs"}
