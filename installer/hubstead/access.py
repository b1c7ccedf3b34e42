"""Who may use the instructors' page and its API: the one rule, in one place.

Hub admins and members of the `instructors` group may; nobody else. Instructors who
are not admins may not grant admin, nor lock, remove or reset the password of an admin.
"""

from __future__ import annotations

from .errors import HubsteadError

INSTRUCTORS_GROUP = "instructors"
WHO_MAY = f"Only hub admins and members of the {INSTRUCTORS_GROUP!r} group may use the instructors' page."


class NotAllowed(HubsteadError):
    """The person asking may not do this (HTTP 403)."""

    status = 403


def is_instructor(model):
    return INSTRUCTORS_GROUP in ((model or {}).get("groups") or [])


def may_instruct(model):
    """True for a hub admin or a member of the instructors group (a hub user model)."""
    return bool(model) and (bool(model.get("admin")) or is_instructor(model))


def require_instructor(model):
    if not may_instruct(model):
        name = (model or {}).get("name")
        raise NotAllowed(f"{name} may not use this. {WHO_MAY}" if name else WHO_MAY)


def require_power_over(actor, target, action):
    """Refuse an instructor who is not an admin acting on an admin (lock, remove,
    reset password) or granting admin; `target` is the hub's model of the user or None."""
    if actor.get("admin"):
        return
    if action == "grant admin" or (target or {}).get("admin"):
        what = "grant or revoke admin" if action == "grant admin" else f"{action} an admin ({target['name']})"
        raise NotAllowed(f"only an admin may {what}; {actor['name']} is an instructor, not an admin.")
