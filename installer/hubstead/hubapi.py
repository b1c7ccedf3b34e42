"""JupyterHub's REST API, as hubstead's own hub service.

The token is generated once at install (`/var/lib/hubstead/hubstead-api-token`,
root only) and registered as the `hubstead` service with the scopes in
SERVICE_SCOPES, so the CLI works as root on the machine without any user's login.
"""

from dataclasses import dataclass
from urllib.parse import quote

from . import paths
from .errors import HubsteadError

SERVICE_NAME = "hubstead"
TOKEN_FILE = "hubstead-api-token"
SERVICE_SCOPES = [
    "admin:users", "admin:servers", "admin:groups", "tokens", "read:hub",
    "list:users", "list:groups", "read:users", "read:groups", "read:servers",
]


class HubUnavailable(HubsteadError):
    """The hub did not answer; the message says how to find out why."""


class HubAPIError(HubsteadError):
    """The hub answered with an error; the message is the hub's own."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def read_token(state_dir=None):
    """hubstead's own API token for the hub (written at install, root-only); a
    HubUnavailable saying what to do when it is missing or unreadable."""
    path = (state_dir or paths.STATE_DIR) / TOKEN_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise HubUnavailable(f"{path} is missing: run `hubstead install` first.") from None
    except PermissionError:
        raise HubUnavailable(f"cannot read {path}: run hubstead as root (sudo).") from None


@dataclass
class Hub:
    """A session with the hub's API at http://127.0.0.1:PORT/BASE_URL/hub/api."""

    port: int
    token: str
    timeout: float = 30
    base_url: str = "/"

    @classmethod
    def from_config(cls, settings=None):
        """A session with this machine's hub: its port and base URL from the config
        (default: the current one), the token from the state directory."""
        from . import config

        settings = settings or config.current()
        return cls(port=settings["internal"]["hub_port"], token=read_token(),
                   base_url=config.base_url(settings))

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}{self.base_url}hub/api"

    def request(self, method, path, json=None, ok=(200, 201, 202, 204), params=None):
        """The decoded JSON answer (None when empty) to METHOD on PATH under the API. A
        hub that does not answer is a HubUnavailable; a status outside OK a HubAPIError
        with the hub's own message. Never through a proxy: the hub is on loopback."""
        import requests

        url = f"{self.base}/{path.lstrip('/')}"
        try:
            answer = requests.request(method, url, json=json, params=params, timeout=self.timeout,
                                      headers={"Authorization": f"token {self.token}"},
                                      proxies={"http": None, "https": None})
        except requests.ConnectionError:
            raise HubUnavailable(f"the hub does not answer at {self.base}: "
                                 "see `hubstead status` and `hubstead logs hub`.") from None
        if answer.status_code not in ok:
            raise HubAPIError(answer.status_code, _message(answer))
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    # -- the resources hubstead uses -------------------------------------------------

    def users(self):
        """Every user model the hub has, all pages of them."""
        return self.paginated("users")

    def user(self, name):
        """NAME's user model, or None when the hub has no such user."""
        try:
            return self.get(f"users/{quote(name)}")
        except HubAPIError as error:
            if error.status == 404:
                return None
            raise

    def groups(self):
        return self.paginated("groups")

    def paginated(self, path, params=None):
        """Every item of a list endpoint, asked for 200 at a time (the hub's own page
        size limit), whether the hub answers a list or a page with items."""
        items, offset = [], 0
        while True:
            page = self.get(path, params={**(params or {}), "offset": offset, "limit": 200})
            # JupyterHub answers a plain list unless asked for pagination info.
            batch = page["items"] if isinstance(page, dict) else page
            items.extend(batch)
            if len(batch) < 200:
                return items
            offset += len(batch)


def _message(answer):
    try:
        return answer.json().get("message") or answer.reason
    except ValueError:
        return f"HTTP {answer.status_code} {answer.reason}"
