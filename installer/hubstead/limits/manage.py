"""The operations `hubstead quota` calls: show, list, set, apply."""

import os

from .. import config as hubstead_config
from ..usernames import unix_name
from ..users.unix import UserError
from . import effective_limits, quota
from .sizes import format_size, parse_size


def _hub_user(hub, name):
    model = hub.user(name)
    if model is None:
        raise UserError(f"no hub user named {name!r}; see `hubstead user list`.")
    return model


def user_limits(name, groups, settings=None):
    """{key: Limit} of hub user name, who is in groups."""
    settings = settings or hubstead_config.current()
    return effective_limits(settings["limits"], groups, quota.user_quotas().get(name))


def show(hub, name):
    """A user's effective limits and each one's source, as plain data."""
    model = _hub_user(hub, name)
    found = user_limits(name, model.get("groups", []))
    return {"user": name, "groups": sorted(model.get("groups", [])),
            "limits": {key: limit.as_dict() for key, limit in found.items()}}


def list_usage(hub, home_usage=None):
    """[{user, used, quota, source}] for every hub user: disk used against their quota.

    Where the filesystem keeps quotas its report gives the usage; elsewhere the size of
    each home (du), and no quota is in force."""
    settings, found = hubstead_config.current(), quota.support()
    report = quota.usage(found) if not found.refusal else {}
    rows = []
    for model in sorted(hub.users(), key=lambda item: item["name"]):
        account = unix_name(model["name"])
        limit = user_limits(model["name"], model.get("groups", []), settings)["disk"]
        if found.refusal:
            used, enforced = (home_usage or _home_usage)(account), None
        else:
            used, hard = report.get(account, (0, 0))
            enforced = format_size(hard) if hard else None
        rows.append({"user": model["name"], "used": used, "quota": limit.value, "source": limit.source,
                     "enforced": enforced})
    return rows


def _home_usage(account):
    import pwd
    import subprocess

    try:
        home = pwd.getpwnam(account).pw_dir
    except KeyError:
        return 0
    if not os.path.isdir(home):
        return 0
    result = subprocess.run(["du", "-s", "-k", home], capture_output=True, text=True)
    return int(result.stdout.split()[0]) * 1024 if result.returncode == 0 and result.stdout else 0


def set_quota(hub, name, size):
    """Give one user their own disk quota (size None or "none": back to their groups' or
    the global one), applied now. Refused, with nothing changed, where quotas cannot work."""
    _hub_user(hub, name)
    if size is not None and size.strip().lower() in ("none", "null"):
        size = None
    if size is not None:
        parse_size(size, f"quota for {name}")
        if parse_size(size) <= 0:
            raise UserError(f"quota for {name}: {size!r} is not a size above 0; use e.g. 500M or 10G")
    found = quota.check_supported()
    quota.save_user_quota(name, size)
    model = _hub_user(hub, name)
    limit = user_limits(name, model.get("groups", []))["disk"]
    quota.apply(found, {unix_name(name): limit.value})
    return limit


def apply_all(hub, found=None):
    """Set every hub user's effective disk quota in one batch; the number of users, or
    None when the filesystem keeps no quotas (nothing is asked of the hub then)."""
    found = found or quota.support()
    if found.refusal:
        return None
    settings, own = hubstead_config.current(), quota.user_quotas()
    wanted = {}
    for model in hub.users():
        limit = effective_limits(settings["limits"], model.get("groups", []), own.get(model["name"]))["disk"]
        wanted[unix_name(model["name"])] = limit.value
    existing = {account: size for account, size in wanted.items() if _account_exists(account)}
    quota.apply(found, existing)
    return len(existing)


def _account_exists(account):
    import pwd

    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True


def apply_user(hub, name):
    """Set one user's effective disk quota now (after they join or leave a group), where
    the filesystem keeps quotas; False where it keeps none."""
    found = quota.support()
    if found.refusal or not _account_exists(unix_name(name)):
        return False
    model = _hub_user(hub, name)
    limit = user_limits(name, model.get("groups", []))["disk"]
    quota.apply(found, {unix_name(name): limit.value})
    return True
