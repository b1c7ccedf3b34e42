"""`hubstead backup restore`: check an archive, say what it will do, then put a hub back.

Order: the archive is read once, every member checked against its manifest while homes
are staged (homes.py); only then is anything on the machine touched. The hub and its
proxy are stopped while the databases and secrets are swapped, accounts are made with
their old uid/gid, homes renamed in, environments rebuilt from their locks, and the hub
started again. Each step is idempotent, so an interrupted restore is simply run again.
"""

import json
import os
import pwd
import grp
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import config as hubstead_config
from .. import paths
from . import BackupError, rebuild
from .archive import digest, read_manifest
from .create import CONFIG_SECRETS, DATABASES, STATE_SECRETS
from .homes import HomeStager

# Sections that describe this machine, not the hub: a restore keeps the target's.
MACHINE_SECTIONS = ("http", "https", "internal")
UNITS = ("jupyterhub", "configurable-http-proxy")


@dataclass
class Restore:
    path: Path
    manifest: object
    files: dict  # archive name -> bytes, everything but homes
    accounts: list
    archive_users: dict  # hub user -> admin
    here_only: list = field(default_factory=list)  # hub users here that the archive lacks
    stager: HomeStager | None = None

    @property
    def environments(self):
        return [json.loads(data) for name, data in sorted(self.files.items())
                if name.startswith("envs/") and name.endswith("/environment.json")]

    def env_files(self, name):
        prefix = f"envs/{name}/build/"
        return {key[len(prefix):]: data for key, data in self.files.items() if key.startswith(prefix)}

    def discard(self):
        """Remove what prepare() staged (after a refusal, or once applied)."""
        if self.stager:
            self.stager.discard()

    def summary(self):
        """What the restore will do, one line each."""
        admins = sorted(name for name, admin in self.archive_users.items() if admin)
        homes = len(self.stager.staged) if self.stager else 0
        return [f"archive of Hubstead {self.manifest.version}, made "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(self.manifest.created))}",
                f"replace the hub's users with its {len(self.archive_users)} (admins: {', '.join(admins) or 'none'}), "
                "their passwords and groups; the config (keeping this machine's ports and HTTPS) and secrets",
                f"make {len(self.accounts)} unix account(s) with their uid/gid; restore {homes} home(s)",
                f"rebuild {len(self.environments)} environment(s) from their locks: "
                f"{', '.join(facts['name'] for facts in self.environments) or 'none'}",
                "stop and start the hub and its proxy (running servers keep running)"]


def users_of(db_bytes=None, db_path=None):
    """{hub user: admin} in a hub DB given as bytes or a path."""
    connection = sqlite3.connect(":memory:") if db_bytes is not None else \
        sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if db_bytes is not None:
            connection.deserialize(db_bytes)
        return {name: bool(admin) for name, admin in connection.execute("SELECT name, admin FROM users")}
    except sqlite3.Error as error:
        raise BackupError(f"cannot read the hub's users ({error}); nothing was changed.") from None
    finally:
        connection.close()


def prepare(path, report=None):
    """Verify the archive (staging its homes) and work out the restore; nothing on the
    machine changes. The caller runs apply() or discard()."""
    report = report or (lambda message: None)
    files, state = {}, {"stager": None}

    def handle(info, tar):
        if info.name.startswith("homes/"):
            if state["stager"] is None:
                accounts = json.loads(files.get("accounts.json", b"{}")).get("accounts", [])
                state["stager"] = HomeStager(accounts)
                report("homes: checking and staging")
            return state["stager"].add(info, tar)
        chunks = []
        result = digest(tar, info, sink=chunks.append)
        if info.isreg():
            files[info.name] = b"".join(chunks)
        return result

    report(f"verifying {path}")
    try:
        manifest = read_manifest(path, handle)
    except BaseException:
        if state["stager"]:
            state["stager"].discard()
        raise
    return _plan(Path(path), manifest, files, state["stager"])


def _plan(path, manifest, files, stager):
    if "state/jupyterhub.sqlite" not in files or "accounts.json" not in files:
        raise BackupError(f"{path} holds no hub database or accounts; it cannot be restored.")
    accounts = json.loads(files["accounts.json"])
    restore = Restore(path, manifest, files, accounts["accounts"], users_of(files["state/jupyterhub.sqlite"]),
                      stager=stager)
    restore.groups = accounts.get("groups", {})
    try:
        here = paths.STATE_DIR / "jupyterhub.sqlite"
        restore.here_only = sorted(set(users_of(db_path=here)) - set(restore.archive_users)) if here.exists() else []
        for account in restore.accounts:
            _check_account(account)
    except BaseException:
        restore.discard()
        raise
    return restore


def _check_account(account):
    """Refuse (before any change) an account whose name or uid is taken differently here."""
    name, uid = account["name"], account["uid"]
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry and entry.pw_uid != uid:
        raise BackupError(f"{name} has uid {entry.pw_uid} here but {uid} in the archive, so its files would "
                          "belong to someone else; nothing was changed (remove that account here, or restore "
                          "onto a fresh hub).")
    try:
        holder = pwd.getpwuid(uid).pw_name
    except KeyError:
        holder = name
    if holder != name:
        raise BackupError(f"uid {uid} of {name} belongs to {holder} here; nothing was changed.")


def apply(restore, confirmed=False, report=None):
    """Do what summary() says; safe to run again after an interruption. Refuses, with
    nothing changed, to drop hub users the archive lacks unless CONFIRMED."""
    report = report or (lambda message: None)
    if restore.here_only and not confirmed:
        raise BackupError(f"this hub has user(s) the archive does not: {', '.join(restore.here_only)}; "
                          "the restore would remove them. Nothing was changed; pass --yes to restore anyway.")
    report("stopping the hub and its proxy")
    _systemctl("stop", *UNITS)
    try:
        _write_state(restore)
        report("config, secrets and databases written")
        _make_accounts(restore, report)
        if restore.stager:
            restore.stager.finish()
            for account in sorted(restore.stager.staged):
                previous = restore.stager.swap_in(account)
                report(f"home of {account} restored" + (f" (the one here kept as {previous})" if previous else ""))
        _ensure_homes(restore)
        _write_binder(restore)
        not_rebuilt = _rebuild_environments(restore, report)
    finally:
        report("starting the proxy and the hub")
        _systemctl("start", *reversed(UNITS))
        restore.discard()
    _wait_for_hub()
    return not_rebuilt


def _systemctl(action, *units):
    result = subprocess.run(["systemctl", action, *units], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"systemctl {action} {' '.join(units)} failed: {result.stderr.strip()[-300:]}")


def _write_atomically(path, data, mode):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.restore-")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _write_state(restore):
    files = restore.files
    for name in DATABASES:
        if f"state/{name}" in files:
            _write_atomically(paths.STATE_DIR / name, files[f"state/{name}"], 0o600)
    for name in STATE_SECRETS:
        if f"secrets/{name}" in files:
            _write_atomically(paths.STATE_DIR / name, files[f"secrets/{name}"], 0o600)
    for name in CONFIG_SECRETS:
        if f"secrets/{name}" in files:
            _write_atomically(paths.CONFIG_PATH.parent / name, files[f"secrets/{name}"], 0o600)
    if "config/config.yaml" in files:
        _write_atomically(paths.CONFIG_PATH, _merged_config(files["config/config.yaml"]), 0o644)
    for name, data in files.items():
        if name.startswith("config/jupyterhub_config.d/") and name.count("/") == 2:
            _write_atomically(paths.DROPIN_DIR / Path(name).name, data, 0o644)


def _merged_config(archived):
    """The archive's config with this machine's own ports, addresses and HTTPS."""
    with tempfile.NamedTemporaryFile(suffix=".yaml") as scratch:
        scratch.write(archived)
        scratch.flush()
        config = hubstead_config.load(scratch.name)
    here = hubstead_config.load(paths.CONFIG_PATH)
    for section in MACHINE_SECTIONS:
        config.pop(section, None)
        if section in here:
            config[section] = here[section]
    hubstead_config.validate(config)
    return hubstead_config.dumps(config).encode()


def _make_accounts(restore, report):
    from ..users.unix import set_membership

    for account in restore.accounts:
        name, uid, gid, group = account["name"], account["uid"], account["gid"], account["group"]
        try:
            grp.getgrgid(gid)
        except KeyError:
            _run(["groupadd", "--gid", str(gid), group])
        try:
            pwd.getpwnam(name)
        except KeyError:
            _run(["useradd", "--no-create-home", "--uid", str(uid), "--gid", str(gid), "--home-dir",
                  account["home"], "--shell", account["shell"], "--comment", account["comment"], name])
            report(f"account {name} (uid {uid})")
        for extra in account["groups"]:
            set_membership(name, extra, True, system=extra.startswith("jupyterhub-"))


def _ensure_homes(restore):
    """An account whose home the archive does not hold gets an empty private one."""
    for account in restore.accounts:
        home = Path(account["home"])
        if not home.exists() and not home.is_symlink():
            home.mkdir(mode=0o700, parents=True)
            os.chown(home, account["uid"], account["gid"])


def _run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{' '.join(command[:1])} failed: {result.stderr.strip()}")


def _write_binder(restore):
    for name, data in restore.files.items():
        if name.startswith("binder/"):
            relative = Path(name).relative_to("binder")
            if ".." in relative.parts:
                continue
            _write_atomically(paths.ENVS_DIR / ".binder" / relative, data, 0o755)


def _rebuild_environments(restore, report):
    """Rebuild each environment; one that cannot be (its packages unreachable from here,
    no lock) is reported and the others go on: [(name, why)]."""
    not_rebuilt = []
    for facts in restore.environments:
        if not rebuild.needs_rebuild(facts):
            continue
        try:
            if rebuild.rebuild(facts, restore.env_files(facts["name"]), report) is None:
                not_rebuilt.append((facts["name"], "it keeps no lock that builds it alone (e.g. a postBuild)"))
        except Exception as error:  # noqa: BLE001 - one environment must not stop the restore
            not_rebuilt.append((facts["name"], (str(error).splitlines() or [type(error).__name__])[0]))
    return not_rebuilt


def _wait_for_hub(timeout=120):
    import requests

    settings = hubstead_config.current()
    url = f"http://127.0.0.1:{settings['internal']['hub_port']}{hubstead_config.base_url(settings)}hub/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise BackupError(f"the hub did not answer at {url} within {timeout} s after the restore; "
                      "see `hubstead logs hub`, then run the restore again.")
