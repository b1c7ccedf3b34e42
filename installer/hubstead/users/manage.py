"""What operators do to users: the one place the CLI calls (the instructors' web
page will call it too; it does not exist yet).

Hub users live in JupyterHub (REST API, as the `hubstead` service); passwords and
approval in NativeAuthenticator's table; locks in hubstead's DB; unix accounts
are created at first spawn and kept when a user is removed, unless purged.
"""

import pwd
import shutil
import sqlite3
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from .. import audit
from .. import config as hubstead_config
from .. import paths
from ..diskspace import full_message, has_room, is_out_of_space, require_room
from ..usernames import unix_name, username_problem
from . import failed_logins, locks, logins, native, passwords
from .unix import UserError

STOP_TIMEOUT = 90


@dataclass
class Account:
    name: str
    admin: bool = False
    approved: bool = False
    locked: bool = False
    server: str | None = None  # running, starting, stopping or None
    last_activity: str | None = None
    groups: list = field(default_factory=list)
    email: str | None = None
    # Failed logins' lock (failed_logins.UserLock.as_dict: until, minutes, addresses, everywhere).
    locked_out: dict | None = None

    @property
    def unix_account(self):
        """The unix account behind the name (hubstead.usernames.unix_name)."""
        return unix_name(self.name)

    @property
    def state(self):
        """pending (a sign-up waiting for approval), approved or locked."""
        return "locked" if self.locked else "approved" if self.approved else "pending"

    def as_dict(self):
        return {**asdict(self), "unix_account": self.unix_account, "state": self.state}


def valid_name(name):
    problem = username_problem(name)
    if problem:
        raise UserError(f"{name!r}: {problem}")
    return name


def list_accounts(hub):
    """Every account the hub or NativeAuthenticator knows, sorted by name."""
    with native.connect() as db:
        sign_ups = native.sign_ups(db)
    locked = locks.locked_users()
    locked_out = failed_logins.user_locks(_login_limits())
    accounts = {}
    for model in hub.users():
        server = model.get("servers", {}).get("")
        accounts[model["name"]] = Account(
            name=model["name"], admin=bool(model.get("admin")), locked=model["name"] in locked,
            server=_server_state(server), last_activity=model.get("last_activity"),
            groups=sorted(model.get("groups", [])))
    for name, sign_up in sign_ups.items():
        account = accounts.setdefault(name, Account(name=name, locked=name in locked))
        account.approved, account.email = sign_up.approved, sign_up.email
    for account in accounts.values():
        account.approved = account.approved or account.admin
        if account.name in locked_out:
            account.locked_out = locked_out[account.name].as_dict()
    return [accounts[name] for name in sorted(accounts)]


def _login_limits():
    return failed_logins.limits_from(hubstead_config.current())


def _server_state(server):
    if not server or server.get("stopped"):
        return None
    if server.get("pending") == "stop":
        return "stopping"
    return "running" if server.get("ready") else "starting"


def exists(hub, name):
    with native.connect() as db:
        return native.find(db, name) is not None or hub.user(name) is not None


def add_user(hub, name, admin=False, password=None, email=None):
    """Create an approved account; return its password (generated unless given), or None
    when the login server, not hubstead, has the passwords (hubstead.users.logins)."""
    valid_name(name)
    require_room(paths.STATE_DIR, UserError)  # before anything: a full disk changes nothing
    if not logins.is_native():
        if password is not None:
            logins.require_native("passwords")
        if hub.user(name) is not None:
            raise UserError(f"{name!r} already exists; see `hubstead user list`.")
        hub.post("users", json={"usernames": [name]})
        audit.record("user.add", name, "admin" if admin else "")
        if admin:
            set_admin(hub, name, True)
        return None
    with native.connect() as db:
        signed_up = native.find(db, name) is not None
    if signed_up:
        raise UserError(f"{name!r} already exists; see `hubstead user list`.")
    if password is not None:
        check_chosen_password(password)
    chosen = password or passwords.generate()
    hashed = passwords.hash_password(chosen, passwords.CHOSEN_COST if password else passwords.GENERATED_COST)
    if hub.user(name) is None:
        _create(hub, [(name, hashed, email)])
    else:
        # A hub user who never signed up (the hub creates those listed in users.admin
        # or users.allowed): only the password is missing.
        with native.connect() as db:
            native.insert(db, name, hashed, approved=True, email=email)
    audit.record("user.add", name, "admin" if admin else "")
    if admin:
        set_admin(hub, name, True)
    return chosen


def check_chosen_password(password):
    settings = hubstead_config.current()
    minimum = settings["auth"]["native"]["minimum_password_length"]
    if len(password) < minimum:
        raise UserError(f"the password is too short: at least {minimum} characters (auth.native.minimum_password_length).")


def _create(hub, accounts):
    """Sign-up rows and hub users for [(name, hash, email)], all or none."""
    names = [name for name, _, _ in accounts]
    try:
        with native.connect() as db:  # one transaction: a full disk rolls every row back
            for name, hashed, email in accounts:
                native.insert(db, name, hashed, approved=True, email=email)
    except sqlite3.OperationalError as error:
        if is_out_of_space(error):
            raise UserError(full_message(paths.STATE_DIR) + "; nothing was changed.") from error
        raise
    try:
        hub.post("users", json={"usernames": names})
    except Exception as error:
        with native.connect() as db:
            for name in names:
                native.delete(db, name)
        # The hub's DB is in the state directory too; its HTTP 500 on a full disk says only "error".
        if not has_room(paths.STATE_DIR):
            raise UserError(full_message(paths.STATE_DIR) + "; nothing was changed.") from error
        raise


def import_roster(hub, roster_path, sheet_path, hub_url):
    """Create every account of a roster, approved, with generated passwords; write the sheets
    (hubstead.users.workshop)."""
    from .workshop import import_roster as run

    return run(hub, roster_path, sheet_path, hub_url)


def _known_name(hub, name):
    """NAME if the hub or a sign-up has it, even one the username rule refuses (made
    before the rule applied at sign-up), so that it can still be rejected or removed."""
    if exists(hub, name):
        return name
    valid_name(name)
    raise UserError(f"no user named {name!r}; see `hubstead user list`.")


def approve(name):
    logins.require_native("approval")
    with native.connect() as db:
        native.set_approved(db, valid_name(name), True)
    audit.record("user.approve", name)


def approve_all():
    """Approve every sign-up that waits; their names."""
    logins.require_native("approval")
    with native.connect() as db:
        waiting = sorted(name for name, sign_up in native.sign_ups(db).items() if not sign_up.approved)
        for name in waiting:
            native.set_approved(db, name, True)
    for name in waiting:
        audit.record("user.approve", name)
    return waiting


def reject(hub, name):
    """Discard a sign-up that waits for approval."""
    logins.require_native("approval")
    with native.connect() as db:
        sign_up = native.find(db, _known_name(hub, name))
        if sign_up is None:
            raise UserError(f"no sign-up named {name!r}; see `hubstead user list`.")
        if sign_up.approved:
            raise UserError(f"{name!r} is already approved; use `hubstead user remove {name}` instead.")
        native.delete(db, name)
    if hub.user(name) is not None:
        hub.delete(f"users/{quote(name)}")
    audit.record("user.reject", name)


def reset_password(name, password=None):
    """Set a new password (generated unless given); return it."""
    logins.require_native("passwords")
    valid_name(name)
    with native.connect() as db:
        if native.find(db, name) is None:
            raise UserError(f"{name!r} has no password yet (never signed up); give them one with "
                            f"`hubstead user add {name}`.")
    if password is not None:
        check_chosen_password(password)
    chosen = password or passwords.generate()
    hashed = passwords.hash_password(chosen, passwords.CHOSEN_COST if password else passwords.GENERATED_COST)
    with native.connect() as db:
        native.set_password_hash(db, name, hashed)
    audit.record("user.reset-password", name)
    return chosen


def set_admin(hub, name, admin):
    """Grant or revoke admin now (REST API) and for good (users.admin in the config)."""
    if hub.user(valid_name(name)) is None:
        raise UserError(f"no hub user named {name!r}; see `hubstead user list`.")
    current = hubstead_config.load(paths.CONFIG_PATH)
    admins = list(hubstead_config.get_value(current, "users.admin", []) or [])
    if admin:
        wanted = admins if name in admins else admins + [name]
    else:
        wanted = [other for other in admins if other != name]
    if wanted != admins:
        hubstead_config.save(paths.CONFIG_PATH, hubstead_config.set_value(current, "users.admin", wanted))
    hub.patch(f"users/{quote(name)}", json={"admin": admin})
    audit.record("user.admin" if admin else "user.unadmin", name)


def stop_server(hub, name, timeout=STOP_TIMEOUT):
    """Stop NAME's server and wait until the hub says it is gone; True if one was running."""
    model = hub.user(name)
    if not model or not model.get("servers", {}).get(""):
        return False
    hub.delete(f"users/{quote(name)}/server")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = hub.user(name)
        if not model or not model.get("servers", {}).get(""):
            audit.record("server.stop", name)
            return True
        time.sleep(0.5)
    raise UserError(f"{name}'s server did not stop within {timeout} s; see `hubstead logs user {name}`.")


def lock(hub, name, reason=""):
    """Lock NAME out: no login, sessions end, server stopped, API tokens revoked."""
    if not exists(hub, valid_name(name)):
        raise UserError(f"no user named {name!r}; see `hubstead user list`.")
    changed = locks.lock(name, reason)
    stop_server(hub, name)
    if hub.user(name) is not None:
        for token in hub.get(f"users/{quote(name)}/tokens").get("api_tokens", []):
            hub.delete(f"users/{quote(name)}/tokens/{token['id']}")
    audit.record("user.lock", name, reason)
    return changed


def unlock(name):
    """End NAME's locks, an admin's and failed logins'; True if there was one."""
    valid_name(name)
    unlocked = locks.unlock(name)
    changed = failed_logins.clear_user(name) or unlocked
    if changed:
        audit.record("user.unlock", name)
    return changed


def unblock_address(address):
    """End the failed-login lock of an address; True if it had failed logins."""
    return failed_logins.clear_address(address)


@dataclass
class Removal:
    server_stopped: bool
    home: str | None  # kept home directory, or None
    purged: bool


def remove(hub, name, purge=False):
    """Remove NAME from the hub and from users.admin and users.allowed (else whoever signs
    up next under the name is approved, as an admin). The home (and unix account) stay
    unless purge. users.banned keeps the name: a ban outlives the account."""
    _known_name(hub, name)
    stopped = stop_server(hub, name)
    if hub.user(name) is not None:
        hub.delete(f"users/{quote(name)}")  # NativeAuthenticator drops its row with the user
    with native.connect() as db:
        native.delete(db, name)
    locks.unlock(name)
    failed_logins.clear_user(name)
    _drop_from_lists(name)
    home = _home_of(name)
    audit.record("user.remove", name, "purge" if purge else "home kept")
    if purge and home:
        subprocess.run(["userdel", "--remove", unix_name(name)], check=True, capture_output=True)
        if Path(home).exists():
            shutil.rmtree(home)
        return Removal(stopped, None, True)
    return Removal(stopped, home, False)


def _drop_from_lists(name, keys=("users.admin", "users.allowed")):
    current = hubstead_config.load(paths.CONFIG_PATH)
    if any(name in (hubstead_config.get_value(current, key) or []) for key in keys):
        changed = current
        for key in keys:  # remove_items keeps the file's comments
            changed = hubstead_config.remove_items(changed, key, [name])
        hubstead_config.save(paths.CONFIG_PATH, changed)


def _home_of(name):
    try:
        return pwd.getpwnam(unix_name(name)).pw_dir
    except KeyError:
        return None
