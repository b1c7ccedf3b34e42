"""The course folder and the group folders, and how a user's server sees them.

- /srv/hubstead/course (key shared.course): writable by admins and members of the
  `instructors` hub group (unix group hubstead-course), read-only for everyone else.
- /srv/hubstead/groups/NAME: made with hub group NAME, read-write for its members only
  (owner root, unix group hubstead-g-NAME, mode 2770: setgid, so files stay the group's).
  Kept when the group is removed, unless purged.

Unix membership follows hub membership when a server starts (`prepare`), as
users.extra_user_groups does. A learner's unit sees /srv read-only (ProtectSystem=
strict), so the folders the user may write are added to its ReadWritePaths=.

~/course and ~/groups/NAME are links the server makes AS THE USER inside its own unit
before it starts (folder_links.sh): root never writes in a home by path, since a
learner could have replaced ~/groups with a link to /etc.
"""

import grp
import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HubsteadError

ROOT = Path("/srv/hubstead")
GROUPS_ROOT = ROOT / "groups"
DEFAULT_COURSE = str(ROOT / "course")
COURSE_GROUP = "hubstead-course"
COURSE_WRITERS = "instructors"  # the hub group whose members write the course folder
UNIX_GROUP_PREFIX = "hubstead-g-"
UNIX_GROUP_MAX = 32  # groupadd's limit
LINKS_SCRIPT = Path(__file__).with_name("folder_links.sh")
# Files a user makes in a shared folder are group-writable; their home stays 0700.
SERVER_UMASK = "0002"


class FolderError(HubsteadError):
    """A shared folder cannot be made or used; the message says why."""


def unix_group(name):
    """The unix group behind hub group NAME (a hashed tail when the name is long)."""
    plain = UNIX_GROUP_PREFIX + name
    if len(plain) <= UNIX_GROUP_MAX:
        return plain
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{plain[:UNIX_GROUP_MAX - 7]}-{digest}"


def ensure_unix_group(group):
    """The gid of unix group GROUP, made (as a system group) if missing."""
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", group], check=True, capture_output=True)
        return grp.getgrnam(group).gr_gid


def _open_root_dir(path):
    """An fd of directory PATH, which must be root's and writable by root only: what is
    made inside it then cannot have been swapped by someone else."""
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    info = os.fstat(fd)
    if info.st_uid != 0 or info.st_mode & 0o022:
        os.close(fd)
        raise FolderError(f"{path} must belong to root and be writable by root only; fix it with "
                          f"`chown root: {path} && chmod 755 {path}`.")
    return fd


def _ensure_folder(parent, name, gid, mode):
    """Directory PARENT/NAME owned by root:GID with MODE, made or repaired without
    following a link."""
    parent_fd = _open_root_dir(parent)
    try:
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            pass
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
        try:
            os.fchown(fd, 0, gid)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    finally:
        os.close(parent_fd)
    return parent / name


def ensure_group_folder(name):
    """/srv/hubstead/groups/NAME for hub group NAME, with its unix group."""
    return _ensure_folder(GROUPS_ROOT, name, ensure_unix_group(unix_group(name)), 0o2770)


def ensure_course_folder(path=DEFAULT_COURSE):
    path = Path(path)
    return _ensure_folder(path.parent, path.name, ensure_unix_group(COURSE_GROUP), 0o2775)


def remove_group_folder(name, purge=False):
    """After hub group NAME is removed: keep its folder (and unix group, so the files keep
    a named owner), or with purge delete both. Returns what was done, for the operator."""
    folder = GROUPS_ROOT / name
    if not purge:
        return f"kept its folder {folder} (`hubstead group remove {name} --purge` deletes it)" \
            if folder.is_dir() else ""
    if folder.is_dir() and not folder.is_symlink():
        # rm does not follow links inside; --one-file-system keeps it on this filesystem.
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(folder)], check=True)
    try:
        grp.getgrnam(unix_group(name))
    except KeyError:
        pass
    else:
        subprocess.run(["groupdel", unix_group(name)], check=True, capture_output=True)
    return f"deleted its folder {folder}"


@dataclass
class ServerFolders:
    """What one server start gets: writable folders, links to make, as `prepare` found."""
    course: str = ""
    groups: list = field(default_factory=list)
    writable: list = field(default_factory=list)

    def unit_properties(self, properties):
        """PROPERTIES with the writable folders added to ReadWritePaths= (learners' units
        only: admins' are not read-only) and a umask that keeps shared files group-writable."""
        updated = {**properties, "UMask": SERVER_UMASK}
        if "ReadWritePaths" in properties and self.writable:
            # "-": a folder removed meanwhile does not stop the server from starting.
            updated["ReadWritePaths"] = " ".join([properties["ReadWritePaths"], *(f"-{p}" for p in self.writable)])
        return updated

    def command(self, server_command):
        """The server command, after folder_links.sh has made the links in the home."""
        return ["/bin/sh", str(LINKS_SCRIPT), self.course, str(GROUPS_ROOT), *self.groups, "--", *server_command]


def _sync_membership(account, hub_groups, course_writer):
    from .users.unix import set_membership

    wanted = {unix_group(name) for name in hub_groups}
    for entry in grp.getgrall():
        if entry.gr_name.startswith(UNIX_GROUP_PREFIX):
            set_membership(account, entry.gr_name, entry.gr_name in wanted)
    set_membership(account, COURSE_GROUP, course_writer, system=True)


def prepare(account, hub_groups, admin, course=DEFAULT_COURSE):
    """As root, before a server of unix user ACCOUNT starts: folders of its hub groups
    exist, its unix groups match them; what the unit needs is returned."""
    hub_groups = sorted(hub_groups)
    for name in hub_groups:
        ensure_group_folder(name)
    writer = admin or COURSE_WRITERS in hub_groups
    if course:
        ensure_course_folder(course)
    _sync_membership(account, hub_groups, writer)
    writable = [str(GROUPS_ROOT / name) for name in hub_groups] + ([course] if course and writer else [])
    return ServerFolders(course=course or "", groups=hub_groups, writable=writable)

