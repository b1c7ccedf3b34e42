"""Hub groups (JupyterHub's own), for instructors, cohorts and sharing."""

from dataclasses import dataclass, field
from urllib.parse import quote

from .. import audit
from .roster import group_problem
from .unix import UserError

PROTECTED = frozenset({"instructors"})  # the instructors' web page keys on it


@dataclass
class Group:
    name: str
    users: list = field(default_factory=list)

    def as_dict(self):
        return {"name": self.name, "users": self.users}


def valid_group(name):
    """NAME when it may name a group (lowercase letters, digits, - and _; at most 64
    characters); a UserError saying what is wrong otherwise."""
    problem = group_problem(name)
    if problem:
        raise UserError(f"{name!r}: {problem}")
    return name


def list_groups(hub):
    """The hub's groups by name, each with its members sorted."""
    return [Group(model["name"], sorted(model.get("users", []))) for model in
            sorted(hub.groups(), key=lambda model: model["name"])]


def get_group(hub, name):
    """The group NAME with its members; a UserError when the hub has none by that name."""
    from ..hubapi import HubAPIError

    try:
        model = hub.get(f"groups/{quote(valid_group(name))}")
    except HubAPIError as error:
        if error.status == 404:
            raise UserError(f"no group named {name!r}; see `hubstead group list`.") from None
        raise
    return Group(model["name"], sorted(model.get("users", [])))


def add_group(hub, name):
    """Create a group and its folder (/srv/hubstead/groups/NAME); False when it existed already."""
    from .. import shared_folders
    from ..hubapi import HubAPIError

    try:
        hub.post(f"groups/{quote(valid_group(name))}")
    except HubAPIError as error:
        if error.status == 409:
            shared_folders.ensure_group_folder(name)
            return False
        raise
    shared_folders.ensure_group_folder(name)
    audit.record("group.add", name)
    return True


def remove_group(hub, name, purge=False):
    """Delete a group; its folder is kept unless PURGE. Returns what became of the folder."""
    from .. import shared_folders

    if name in PROTECTED:
        raise UserError(f"the {name!r} group is part of every hub and cannot be removed.")
    get_group(hub, name)
    hub.delete(f"groups/{quote(name)}")
    audit.record("group.remove", name)
    return shared_folders.remove_group_folder(name, purge)


def add_member(hub, group, user, create=False):
    """Add USER to GROUP (made first when create and it does not exist)."""
    if hub.user(user) is None:
        raise UserError(f"no hub user named {user!r}; see `hubstead user list`.")
    if create:
        add_group(hub, group)
    get_group(hub, group)
    hub.post(f"groups/{quote(group)}/users", json={"users": [user]})
    audit.record("group.add-member", user, group)
    _apply_disk_quota(hub, user)


def remove_member(hub, group, user):
    """Take USER out of GROUP; their disk quota follows (refused when not a member)."""
    if user not in get_group(hub, group).users:
        raise UserError(f"{user!r} is not in group {group!r}.")
    hub.request("DELETE", f"groups/{quote(group)}/users", json={"users": [user]})
    audit.record("group.remove-member", user, group)
    _apply_disk_quota(hub, user)


def _apply_disk_quota(hub, user):
    """A group's disk quota (limits.groups.NAME.disk) follows its members at once."""
    from ..limits.manage import apply_user

    apply_user(hub, user)
