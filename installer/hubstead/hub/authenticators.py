"""The authenticators other than NativeAuthenticator (hubstead.hub.authenticator), with
hubstead's rules on top, whichever class auth.type names:

- admins' locks: a locked user cannot log in and their sessions end at the next auth
  refresh; admin is the hub DB's flag (as for NativeAuthenticator);
- auth.group_map: the provider's groups (LDAP groups, an OAuth groups claim) put people
  in hub groups at each login (JupyterHub's manage_groups), once the login is allowed
  (allowed_groups match the provider's groups); hub groups the map does not name are
  left as they are, so a hub moved from native keeps its course groups;
- a login server that cannot be reached says so on the login page, instead of an
  error page, and the hub keeps running.
"""

import inspect

from ..config.auth import import_class
from ..users import locks

UNREACHABLE = ("The login server ({server}) cannot be reached, so nobody can log in right now; "
               "try again in a moment, or tell the hub's admin.")


class HubsteadRules:
    """Mixed in before the authenticator's class (hubstead_class)."""

    group_map = ()  # [(hub group, provider group)], set by hubstead.hub.hubconfig

    async def authenticate(self, handler, data):
        name = self.normalize_username((data or {}).get("username", ""))
        if name and locks.is_locked(name):
            self.log.warning("refused login of locked user %s", name)
            return None
        try:
            model = await super().authenticate(handler, data)
        except Exception as error:
            server = self.unreachable_server(error)
            if server is None:
                raise
            self.log.error("login of %s: %s cannot be reached: %s", name, server, error)
            if handler is not None:
                handler.hubstead_login_error = UNREACHABLE.format(server=server)
            return None
        return model

    async def run_post_auth_hook(self, handler, auth_model):
        # After check_allowed: OAuthenticator's allowed_groups match the provider's groups,
        # so hub groups replace them only once the login is allowed.
        if self.group_map:
            auth_model["groups"] = self.mapped_groups(handler, auth_model)
        return await super().run_post_auth_hook(handler, auth_model)

    def unreachable_server(self, error):
        """The server a connection error is about (LDAP: ldap3's socket errors), else None."""
        if type(error).__module__.startswith("ldap3") and "Socket" in type(error).__name__:
            return f"LDAP at {self.server_address}:{self.server_port}"
        return None

    def mapped_groups(self, handler, model):
        provider = set((model.get("auth_state") or {}).get("ldap_groups") or []) | set(model.get("groups") or [])
        managed = {hub for hub, _ in self.group_map}
        wanted = {hub for hub, group in self.group_map if group in provider}
        user = handler.find_user(model["name"]) if handler is not None else None
        kept = {group.name for group in user.groups} - managed if user is not None else set()
        return sorted(kept | wanted)

    async def refresh_user(self, user, handler=None):
        if locks.is_locked(user.name):
            return False
        refreshed = super().refresh_user(user, handler)
        return await refreshed if inspect.isawaitable(refreshed) else refreshed

    def is_admin(self, handler, authentication):
        # Admin is the hub DB's flag (users.admin at hub start, `hubstead user admin`).
        return None

    def get_handlers(self, app):
        handlers = []
        for pattern, handler in super().get_handlers(app):
            if pattern.rstrip("$") == "/login":
                handler = type("Hubstead" + handler.__name__, (LoginErrorMixin, handler), {})
            handlers.append((pattern, handler))
        return handlers


class LoginErrorMixin:
    # Set by HubsteadRules.authenticate when it has something clearer to say.
    hubstead_login_error = None

    def _render(self, login_error=None, username=None, **kwargs):
        return super()._render(login_error=self.hubstead_login_error or login_error, username=username, **kwargs)


_classes = {}


def hubstead_class(path):
    """The authenticator class at PATH with HubsteadRules mixed in (one class per path)."""
    if path not in _classes:
        cls = import_class(path)
        _classes[path] = type("Hubstead" + cls.__name__, (HubsteadRules, cls), {"__module__": __name__})
    return _classes[path]
