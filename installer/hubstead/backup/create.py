"""`hubstead backup create`: gather what a hub holds into one archive (archive.py).

Works while the hub and learners' servers run: the SQLite databases are copied with
SQLite's online backup API (a consistent snapshot), and homes are read by file
descriptors that never follow a symbolic link, so nothing a learner swaps in during the
backup makes root read a file outside that learner's home.
"""

import grp
import json
import os
import pwd
import sqlite3
import stat
import tarfile
import time
from pathlib import Path

from .. import paths
from ..usernames import ACCOUNT_COMMENT
from . import BackupError
from .archive import ArchiveWriter

DATABASES = ("jupyterhub.sqlite", "hubstead.sqlite")
STATE_SECRETS = ("jupyterhub_cookie_secret", "proxy.env", "hubstead-api-token", "web_cookie_secret")
CONFIG_SECRETS = ("auth-secrets.json",)
BACKUP_DIR = paths.STATE_DIR / "backups"


def default_path(directory=None):
    return Path(directory or BACKUP_DIR) / time.strftime("hubstead-%Y%m%d-%H%M%S.tar.gz", time.gmtime())


def database_snapshot(path):
    """The bytes of a consistent copy of the SQLite DB at PATH (online backup API)."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(":memory:")
    try:
        source.backup(copy)
        return copy.serialize()
    finally:
        source.close()
        copy.close()


def hub_accounts():
    """The unix accounts behind hub users (their comment says so): name, ids, groups."""
    groups = grp.getgrall()
    accounts = []
    for entry in sorted(pwd.getpwall(), key=lambda item: item.pw_uid):
        if not entry.pw_gecos.startswith(ACCOUNT_COMMENT):
            continue
        accounts.append({
            "name": entry.pw_name, "uid": entry.pw_uid, "gid": entry.pw_gid, "comment": entry.pw_gecos,
            "group": grp.getgrgid(entry.pw_gid).gr_name, "home": entry.pw_dir, "shell": entry.pw_shell,
            "groups": sorted(group.gr_name for group in groups if entry.pw_name in group.gr_mem),
        })
    wanted = {name for account in accounts for name in account["groups"]}
    group_ids = {group.gr_name: group.gr_gid for group in groups if group.gr_name in wanted}
    return {"accounts": accounts, "groups": group_ids}


def environments():
    """(name, files {archive name: path}, facts) for each environment's current build."""
    from ..envs import store

    for environment in store.all_environments():
        build_dir = store.env_dir(environment.name) / environment.current
        build = next((item for item in environment.builds if item.id == environment.current), None)
        if build is None:
            continue  # current is not a complete build: nothing consistent to keep
        files = {}
        for name in {build.spec_file, build.lock_file, store.BUILD_INFO, "requirements.lock.txt",
                     "conda-lock.yml"} - {""}:
            if (build_dir / name).is_file():
                files[name] = build_dir / name
        facts = {**store.env_info(environment.name), "name": environment.name, "build": environment.current,
                 "kind": build.kind, "spec_file": build.spec_file, "lock_file": build.lock_file,
                 "description": environment.description}
        yield environment.name, files, facts


def add_home(out, account, home):
    """Add HOME under homes/ACCOUNT/, never following a symbolic link; return the file count."""
    root = f"homes/{account}"
    try:
        top = os.lstat(home)
    except FileNotFoundError:
        return 0  # an account made but never started: no home yet
    if not stat.S_ISDIR(top.st_mode):
        return 0
    out.add_stream(_info(root, top), None)
    count = 0
    for directory, dirnames, filenames, dirfd in os.fwalk(home, follow_symlinks=False):
        relative = os.path.relpath(directory, home)
        prefix = root if relative == "." else f"{root}/{relative}"
        for name in sorted(dirnames + filenames):
            try:
                count += _add_entry(out, f"{prefix}/{name}", name, dirfd)
            except OSError as error:
                # Name the home's file: ArchiveWriter would blame the archive's path.
                raise BackupError(f"cannot read {directory}/{name}: {error.strerror or error}; "
                                  "nothing was left behind.") from None
    return count


def _add_entry(out, member, name, dirfd):
    try:
        status = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        if stat.S_ISDIR(status.st_mode):
            out.add_stream(_info(member, status), None)
        elif stat.S_ISLNK(status.st_mode):
            info = _info(member, status, tarfile.SYMTYPE)
            info.linkname = os.readlink(name, dir_fd=dirfd)
            out.add_stream(info, None)
        elif stat.S_ISREG(status.st_mode):
            descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dirfd)
            with os.fdopen(descriptor, "rb") as stream:
                status = os.fstat(descriptor)
                if not stat.S_ISREG(status.st_mode):
                    return 0
                out.add_stream(_info(member, status), stream)
        else:
            return 0  # sockets, FIFOs and devices are not a learner's work
    except FileNotFoundError:
        return 0  # removed while we read: a live home
    return 1


def _info(name, status, kind=None):
    info = tarfile.TarInfo(name)
    info.type = kind or (tarfile.DIRTYPE if stat.S_ISDIR(status.st_mode) else tarfile.REGTYPE)
    info.mode, info.uid, info.gid = stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid
    info.mtime = int(status.st_mtime)
    info.size = status.st_size if info.type == tarfile.REGTYPE else 0
    return info


def create(target=None, homes=False, report=None):
    """Write a backup archive at TARGET (default: /var/lib/hubstead/backups/...); return its path."""
    report = report or (lambda message: None)
    target = Path(target) if target else default_path()
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give the archive's file name, e.g. {default_path(target)}.")
    if target.parent == BACKUP_DIR:
        BACKUP_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    accounts = hub_accounts()
    with ArchiveWriter(target, homes=homes) as out:
        _add_state(out, report)
        report("config, drop-ins and secrets")
        _add_config(out)
        report("environments: specs and locks")
        _add_environments(out)
        out.add_bytes("accounts.json", json.dumps(accounts, indent=1).encode())
        if homes:
            for account in accounts["accounts"]:
                count = add_home(out, account["name"], account["home"])
                report(f"home of {account['name']}: {count} entries")
    return target


def _add_state(out, report):
    for name in DATABASES:
        path = paths.STATE_DIR / name
        if path.exists():
            report(f"database {name} (online backup)")
            try:
                out.add_bytes(f"state/{name}", database_snapshot(path))
            except sqlite3.Error as error:
                raise BackupError(f"cannot read {path}: {error}.") from None
    for name in STATE_SECRETS:
        if (paths.STATE_DIR / name).is_file():
            out.add_file(f"secrets/{name}", paths.STATE_DIR / name, 0o600)


def _add_config(out):
    config_dir = paths.CONFIG_PATH.parent
    if paths.CONFIG_PATH.is_file():
        out.add_file("config/config.yaml", paths.CONFIG_PATH, 0o644)
    for name in CONFIG_SECRETS:
        if (config_dir / name).is_file():
            out.add_file(f"secrets/{name}", config_dir / name, 0o600)
    if paths.DROPIN_DIR.is_dir():
        for path in sorted(paths.DROPIN_DIR.glob("*.py")):
            if path.is_file() and not path.is_symlink():
                out.add_file(f"config/jupyterhub_config.d/{path.name}", path)


def _add_environments(out):
    for name, files, facts in environments():
        out.add_bytes(f"envs/{name}/environment.json", json.dumps(facts, indent=1).encode(), 0o644)
        for file_name, path in sorted(files.items()):
            out.add_file(f"envs/{name}/build/{file_name}", path, 0o644)
    binder = paths.ENVS_DIR / ".binder"
    if binder.is_dir():
        # Launch links' kept start scripts (root's copies, builder/run.py).
        for path in sorted(binder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out.add_file(f"binder/{path.relative_to(binder)}", path)
