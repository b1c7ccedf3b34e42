"""What the hub's authenticator (auth.type) leaves to hubstead: NativeAuthenticator keeps
sign-ups and passwords in hubstead's hands; LDAP and OAuth keep them in the login
server, FirstUse in the user's, dummy has none. Commands that need what an authenticator
does not have say so in one line, naming the way it does it.
"""

from .. import config as hubstead_config
from ..config import auth
from .unix import UserError

SERVER = {"ldap": "the LDAP server", "github": "GitHub", "google": "Google",
          "generic": "the OpenID Connect provider", "cilogon": "CILogon"}
APPROVAL = {"firstuse": "anyone who logs in gets in (users.banned keeps people out)",
            "dummy": "anyone who logs in gets in"}
PASSWORDS = {"firstuse": "each user's first login sets their password; they change it at "
                         "/hub/auth/change-password",
             "dummy": "there are no passwords"}


def current_kind():
    return auth.resolve(hubstead_config.current()["auth"]["type"])


def is_native():
    return current_kind() == "native"


def require_native(what):
    """UserError unless NativeAuthenticator logs people in; WHAT is 'approval' or 'passwords'."""
    kind = current_kind()
    if kind == "native":
        return
    if what == "approval":
        how = APPROVAL.get(kind) or (f"{SERVER[kind]} and its allowed_* settings (auth.{_class(kind)}.*) "
                                     "and users.allowed decide who gets in")
    else:
        how = PASSWORDS.get(kind) or f"passwords are {SERVER[kind]}'s"
    raise UserError(f"{what} is NativeAuthenticator's: this hub logs in with {kind} (auth.type), where {how}.")


def _class(kind):
    return auth.AUTHENTICATORS[kind][0].rsplit(".", 1)[1]


def login_words():
    """How a pre-created account logs in, for the CLI's messages."""
    kind = current_kind()
    return f"they log in through {SERVER.get(kind, kind)}; no password is kept here"
