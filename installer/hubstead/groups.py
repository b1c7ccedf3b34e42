"""Hub groups (JupyterHub's own), for instructors, cohorts and sharing."""

from dataclasses import dataclass, field
from urllib.parse import quote

from .users.roster import group_problem
from .users.unix import UserError

PROTECTED = frozenset({"instructors"})  # the instructors' web page keys on it


@dataclass
class Group:
    name: str
    users: list = field(default_factory=list)

    def as_dict(self):
        return {"name": self.name, "users": self.users}


def valid_group(name):
    problem = group_problem(name)
    if problem:
        raise UserError(f"{name!r}: {problem}")
    return name


def list_groups(hub):
    return [Group(model["name"], sorted(model.get("users", []))) for model in
            sorted(hub.groups(), key=lambda model: model["name"])]


def get_group(hub, name):
    from .hubapi import HubAPIError

    try:
        model = hub.get(f"groups/{quote(valid_group(name))}")
    except HubAPIError as error:
        if error.status == 404:
            raise UserError(f"no group named {name!r}; see `hubstead group list`.") from None
        raise
    return Group(model["name"], sorted(model.get("users", [])))


def add_group(hub, name):
    """Create a group; False when it existed already."""
    from .hubapi import HubAPIError

    try:
        hub.post(f"groups/{quote(valid_group(name))}")
    except HubAPIError as error:
        if error.status == 409:
            return False
        raise
    return True


def remove_group(hub, name):
    if name in PROTECTED:
        raise UserError(f"the {name!r} group is part of every hub and cannot be removed.")
    get_group(hub, name)
    hub.delete(f"groups/{quote(name)}")


def add_member(hub, group, user):
    if hub.user(user) is None:
        raise UserError(f"no hub user named {user!r}; see `hubstead user list`.")
    get_group(hub, group)
    hub.post(f"groups/{quote(group)}/users", json={"users": [user]})


def remove_member(hub, group, user):
    if user not in get_group(hub, group).users:
        raise UserError(f"{user!r} is not in group {group!r}.")
    hub.request("DELETE", f"groups/{quote(group)}/users", json={"users": [user]})
