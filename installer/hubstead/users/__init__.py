"""Hub users: their unix accounts, sign-ups and passwords, locks, bulk import.

- unix: the `jupyter-NAME` account behind each user (created before the first spawn).
- native: NativeAuthenticator's sign-up table (approval, password hashes).
- locks: hubstead's own record of locked users, consulted by the hub at login.
- failed_logins: failed logins and the locks they cause (per user and address, per address).
- passwords, roster: generated passwords and workshop rosters with their sheets.
- manage: the operations the CLI and the web page call.
"""

from .unix import (ADMIN_GROUP, USER_GROUP, UserError, ensure_unix_user, pre_spawn_hook, set_admin_membership,
                   spawn_hook)

__all__ = ["ADMIN_GROUP", "USER_GROUP", "UserError", "ensure_unix_user", "pre_spawn_hook", "set_admin_membership",
           "spawn_hook"]
