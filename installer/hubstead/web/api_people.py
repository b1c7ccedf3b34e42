"""The instructors' API for people: who asks, users, groups (docs/reference/web-api.md)."""

from __future__ import annotations

from tornado import web

from .. import access
from ..users import groups, manage
from .base import InstructorAPIHandler

NAME = r"([^/]+)"


def user_answer(account):
    """An account (hubstead.users.manage.Account) as api/users lists it."""
    return {"name": account.name, "state": account.state, "admin": account.admin,
            "instructor": access.INSTRUCTORS_GROUP in account.groups, "groups": account.groups,
            "last_activity": account.last_activity, "server": account.server, "email": account.email,
            "locked_out": account.locked_out}


class Me(InstructorAPIHandler):
    def get(self):
        self.answer({"name": self.username, "admin": bool(self.actor.get("admin")),
                     "instructor": access.is_instructor(self.actor), "xsrf": _text(self.xsrf_token)})


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


class Users(InstructorAPIHandler):
    async def get(self):
        await self.respond(lambda: [user_answer(account) for account in manage.list_accounts(self.hub)])

    async def post(self):
        body = self.body_json()
        name, admin = str(body.get("name") or "").strip(), bool(body.get("admin"))
        if not name:
            raise web.HTTPError(400, "give the new user's name: {\"name\": \"...\"}")
        if admin:
            self.require_power_over(None, "grant admin")
        email = body.get("email") or None
        await self.respond(lambda: {"name": name, "password": manage.add_user(self.hub, name, admin=admin,
                                                                             email=email and str(email))},
                           status=201)


class UserAction(InstructorAPIHandler):
    """POST api/users/NAME/ACTION: approve, reject, reset-password, lock, unlock, admin."""

    GUARDED = {"reset-password": "reset the password of", "lock": "lock", "admin": "grant admin"}

    async def post(self, name, action):
        if action in self.GUARDED:
            self.require_power_over(await self.blocking(self.hub.user, name), self.GUARDED[action])
        body = self.body_json()
        if action == "admin" and not isinstance(body.get("admin"), bool):
            raise web.HTTPError(400, "send {\"admin\": true} or {\"admin\": false}")
        await self.respond(getattr(self, "_" + action.replace("-", "_")), name, body)

    def _approve(self, name, body):
        manage.approve(name)
        return {"name": name, "state": "approved"}

    def _reject(self, name, body):
        manage.reject(self.hub, name)
        return {"name": name, "state": None}

    def _reset_password(self, name, body):
        return {"name": name, "password": manage.reset_password(name)}

    def _lock(self, name, body):
        manage.lock(self.hub, name, str(body.get("reason") or ""))
        return {"name": name, "state": "locked"}

    def _unlock(self, name, body):
        manage.unlock(name)
        return {"name": name, "state": "approved"}

    def _admin(self, name, body):
        manage.set_admin(self.hub, name, body["admin"])
        return {"name": name, "admin": body["admin"]}


class ApproveAll(InstructorAPIHandler):
    async def post(self):
        await self.respond(lambda: {"approved": manage.approve_all()})


class User(InstructorAPIHandler):
    async def delete(self, name):
        self.require_power_over(await self.blocking(self.hub.user, name), "remove")
        purge = self.get_argument("purge", "0") in ("1", "true", "yes")

        def remove():
            removal = manage.remove(self.hub, name, purge=purge)
            return {"name": name, "server_stopped": removal.server_stopped, "home": removal.home,
                    "purged": removal.purged}

        await self.respond(remove)


class Membership(InstructorAPIHandler):
    async def post(self, name, group):
        await self.respond(self._change, name, group, True)

    async def delete(self, name, group):
        await self.respond(self._change, name, group, False)

    def _change(self, name, group, join):
        if join:
            groups.add_member(self.hub, groups.valid_group(group), name, create=True)
        else:
            groups.remove_member(self.hub, group, name)
        model = self.hub.user(name) or {}
        return {"name": name, "groups": sorted(model.get("groups") or [])}


class Groups(InstructorAPIHandler):
    async def get(self):
        await self.respond(lambda: [{"name": group.name, "users": sorted(group.users)}
                                    for group in groups.list_groups(self.hub)])


def routes(base_url):
    api = f"{base_url}api/"
    return [
        (rf"{api}me", Me),
        (rf"{api}users", Users),
        (rf"{api}users/approve-all", ApproveAll),
        (rf"{api}users/{NAME}/(approve|reject|reset-password|lock|unlock|admin)", UserAction),
        (rf"{api}users/{NAME}/groups/{NAME}", Membership),
        (rf"{api}users/{NAME}", User),
        (rf"{api}groups", Groups),
    ]
