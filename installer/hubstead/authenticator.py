"""NativeAuthenticator plus hubstead's locks: a locked user cannot log in, and their
open sessions end at the next auth refresh (`Authenticator.auth_refresh_age`)."""

from nativeauthenticator import NativeAuthenticator

from .users import locks


class HubsteadAuthenticator(NativeAuthenticator):
    async def authenticate(self, handler, data):
        if locks.is_locked(self.normalize_username(data.get("username", ""))):
            self.log.warning("refused login of locked user %s", data.get("username"))
            return None
        return await super().authenticate(handler, data)

    async def refresh_user(self, user, handler=None):
        return not locks.is_locked(user.name)
