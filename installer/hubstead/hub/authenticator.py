"""NativeAuthenticator with hubstead's rules on top:

- the one username rule (hubstead.usernames) at sign-up, with its reason on the page,
  and at login;
- admins' locks: a locked user cannot log in, and their open sessions end at the next
  auth refresh (`Authenticator.auth_refresh_age`);
- failed-login locks kept in hubstead's DB (hubstead.users.failed_logins), per user and
  address and per address, said as such on the login page. NativeAuthenticator's own
  count lives in the hub's memory, where the CLI could neither show nor clear it, so
  its hooks for that count are turned into no-ops here;
- a deleted user leaves the hub's admin and allowed sets, so whoever signs up next under
  the name waits for approval like anyone else; a login never grants admin by itself.
"""

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator import handlers as native_handlers
from traitlets import Integer

from ..usernames import username_problem
from ..users import failed_logins, locks


def username_refusal(name):
    """The sign-up page's message for a name hubstead refuses, as the CLI words it; or None."""
    problem = username_problem(name)
    return f"{name!r}: {problem}" if problem else None


class SignUpHandler(native_handlers.SignUpHandler):
    def get_result_message(self, user, *args, **kwargs):
        refusal = username_refusal(self.get_body_argument("username", "", strip=False))
        if refusal:
            return "alert-danger", refusal
        return super().get_result_message(user, *args, **kwargs)


class LoginHandler(native_handlers.LoginHandler):
    # Set by HubsteadAuthenticator.authenticate when a lock refused the try.
    hubstead_login_error = None

    def _render(self, login_error=None, username=None):
        return super()._render(login_error=self.hubstead_login_error or login_error, username=username)


class HubsteadAuthenticator(NativeAuthenticator):
    failed_logins_per_address = Integer(
        30, config=True, help="Failed logins from one address, whatever the names, before it is refused (0: never).")

    def _limits(self):
        return failed_logins.Limits(self.allowed_failed_logins, self.failed_logins_per_address,
                                    self.seconds_before_next_try)

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        address = failed_logins.client_address(handler.request) if handler is not None else ""
        refusal = failed_logins.refusal(name, address, self._limits())
        if refusal:
            self.log.warning("refused login of %s from %s: %s", name, address, refusal)
            if handler is not None:
                handler.hubstead_login_error = refusal
            return None
        if locks.is_locked(name):
            self.log.warning("refused login of locked user %s", name)
            return None
        username = await super().authenticate(handler, data)
        if username:
            failed_logins.record_success(name, address)
        else:
            failed_logins.record_failure(name, address, self._limits())
        return username

    # NativeAuthenticator's in-memory count: replaced by hubstead.users.failed_logins.
    def is_blocked(self, username):
        return False

    def add_login_attempt(self, username):
        pass

    def successful_login(self, username):
        pass

    async def refresh_user(self, user, handler=None):
        return not locks.is_locked(user.name)

    def validate_username(self, username):
        return username_problem(username) is None and super().validate_username(username)

    def create_user(self, username, password, **kwargs):
        # The name as typed: 'Zed' is refused (as the CLI refuses it), not made 'zed'.
        if username_problem(username):
            return None
        return super().create_user(username, password, **kwargs)

    def is_admin(self, handler, authentication):
        # Admin is the hub DB's flag, set from users.admin at hub start and by `hubstead
        # user admin grant|revoke`. The set the hub started with would grant it again at
        # every login to someone revoked since.
        return None

    def delete_user(self, user):
        # JupyterHub's own delete_user drops the name from allowed_users only.
        self.admin_users.discard(user.name)
        return super().delete_user(user)

    def get_handlers(self, app):
        ours = {native_handlers.LoginHandler: LoginHandler, native_handlers.SignUpHandler: SignUpHandler}
        return [(pattern, ours.get(handler, handler)) for pattern, handler in super().get_handlers(app)]
