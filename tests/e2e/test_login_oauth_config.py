"""The OAuth classes TLJH offers, configured with `hubstead config` (and CILogon through
`config import-tljh` of a TLJH config.yaml): the hub starts with each, its login page
offers the provider, and /hub/oauth_login sends the browser to the provider's authorize
page with the configured client and callback.

GitHub, Google and CILogon cannot be reached from the test machines (only PyPI and
Debian's mirror answer), so these tests check Hubstead's configuration of the classes and
the redirect the hub makes, not a login at those providers. GoogleOAuthenticator goes
through the same code as GitHub's (auth.type, auth.<ClassName>.<trait>, the secret): it
is left out here to save a hub restart of CI time.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.harness.hub import wait_for_http
from tests.harness.hubcli import hubstead

pytestmark = pytest.mark.e2e

CALLBACK = "http://hub.example.org/hub/oauth_callback"
CILOGON_TLJH = """\
auth:
  type: oauthenticator.CILogonOAuthenticator
  CILogonOAuthenticator:
    client_id: cilogon:/client_id/e2e-client
    client_secret: cilogon-very-secret
    oauth_callback_url: {callback}
    allowed_idps:
      http://github.com/login/oauth/authorize:
        username_derivation:
          username_claim: email
""".format(callback=CALLBACK)


def restart_hub(hub):
    hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=180)
    wait_for_http(hub.url + "/hub/api", timeout=90)


SECRETS = ("auth.GitHubOAuthenticator.client_secret", "auth.CILogonOAuthenticator.client_secret")


def clear_auth(hub):
    """Back to no auth settings at all (native), secrets included; no restart."""
    hubstead(hub, "config", "unset", "auth")
    for key in SECRETS:
        hubstead(hub, "config", "unset", key)


@pytest.fixture(scope="module")
def oauth_hub(installed_hub):
    """The shared hub; each test sets the class it checks, the hub is native again after."""
    yield installed_hub
    clear_auth(installed_hub)
    restart_hub(installed_hub)


def authorize_redirect(hub):
    answer = requests.get(hub.url + "/hub/oauth_login", allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text[:300]
    location = urlsplit(answer.headers["Location"])
    return location, {key: values[0] for key, values in parse_qs(location.query).items()}


def test_github_by_tljh_class_name_sends_the_browser_to_github(oauth_hub):
    hub, section = oauth_hub, "GitHubOAuthenticator"
    clear_auth(hub)
    hubstead(hub, "config", "set", "auth.type", "oauthenticator.GitHubOAuthenticator")
    hubstead(hub, "config", "set", f"auth.{section}.client_id", "e2e-client-id")
    hubstead(hub, "config", "set", f"auth.{section}.client_secret", "e2e-client-secret")
    hubstead(hub, "config", "set", f"auth.{section}.oauth_callback_url", CALLBACK)
    restart_hub(hub)
    login_page = requests.get(hub.url + "/hub/login", timeout=30).text
    assert "Sign in with" in login_page
    location, query = authorize_redirect(hub)
    assert location.netloc + location.path == "github.com/login/oauth/authorize"
    assert query["client_id"] == "e2e-client-id" and query["redirect_uri"] == CALLBACK
    assert "e2e-client-secret" not in hub.container.read_file("/etc/hubstead/config.yaml")


def test_cilogon_from_a_tljh_config_keeps_its_idps_and_asks_for_the_secret(oauth_hub):
    hub = oauth_hub
    clear_auth(hub)
    hub.container.write_file("/tmp/tljh-cilogon.yaml", CILOGON_TLJH)
    imported = hubstead(hub, "config", "import-tljh", "/tmp/tljh-cilogon.yaml", "--yes")
    assert "auth.CILogonOAuthenticator.client_secret: a secret:" in imported.stdout
    assert "cilogon-very-secret" not in imported.stdout + hub.container.read_file("/etc/hubstead/config.yaml")
    hubstead(hub, "config", "set", "auth.CILogonOAuthenticator.client_secret", "cilogon-very-secret")
    restart_hub(hub)
    location, query = authorize_redirect(hub)
    assert location.netloc + location.path == "cilogon.org/authorize"
    assert query["client_id"] == "cilogon:/client_id/e2e-client" and query["redirect_uri"] == CALLBACK
    assert query["selected_idp"] == "http://github.com/login/oauth/authorize"
