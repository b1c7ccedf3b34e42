"""Logins through a real OpenID Connect provider, in Chromium (issue 10).

The provider is django-oidc-provider (tests/harness/oidc_provider.py) on 127.0.0.1, with
three people and a `groups` claim:

- oidcmaria (in learners), oidcteo (in learners and teachers), oidcotto (in neither);
- the shared hub is switched to `auth.type generic` with the provider's endpoints, the
  client, username_claim email (an e-mail is no unix name: the account is derived),
  allowed_groups learners and teachers from the groups claim, and auth.group_map making
  teachers the hub group `instructors`; the module puts auth back to native afterwards.
"""

import json
import re
from urllib.parse import unquote, urlsplit

import pytest
from hubstead.usernames import unix_name

from tests.harness.browser import new_notebook, run_cell, start_from_spawn_page, wait_for_jupyterlab
from tests.harness.hub import wait_for_http
from tests.harness.hubcli import hubstead
from tests.harness.oidc_provider import OidcProvider

PEOPLE = {"oidcmaria": ["learners"], "oidcteo": ["learners", "teachers"], "oidcotto": []}
SECTION = "auth.GenericOAuthenticator"
SECRET_KEY = f"{SECTION}.client_secret"


def restart_hub(hub):
    hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=180)
    wait_for_http(hub.url + "/hub/api", timeout=90)


def clear_auth(hub):
    hubstead(hub, "config", "unset", "auth", check=False)
    hubstead(hub, "config", "unset", SECRET_KEY, check=False)


@pytest.fixture(scope="module")
def oidc(installed_hub):
    """(hub, provider): the shared hub logging in through the provider."""
    hub = installed_hub
    with OidcProvider(PEOPLE, redirect_uri=hub.url + "/hub/oauth_callback") as provider:
        try:
            hubstead(hub, "config", "set", "auth.type", "generic")
            settings = {**provider.endpoints(), "client_id": provider.client_id,
                        "client_secret": provider.client_secret,
                        "oauth_callback_url": hub.url + "/hub/oauth_callback",
                        "username_claim": "email", "auth_state_groups_key": "oauth_user.groups",
                        "login_service": "Test University"}
            for trait, value in settings.items():
                hubstead(hub, "config", "set", f"{SECTION}.{trait}", value)
            for scope in ("openid", "profile", "email", "groups"):
                hubstead(hub, "config", "add-item", f"{SECTION}.scope", scope)
            for group in ("learners", "teachers"):
                hubstead(hub, "config", "add-item", f"{SECTION}.allowed_groups", group)
            hubstead(hub, "config", "add-item", "auth.group_map", "instructors:teachers")
            restart_hub(hub)
            yield hub, provider
        finally:
            clear_auth(hub)
            restart_hub(hub)
            for name in PEOPLE:
                hubstead(hub, "group", "remove-user", "instructors", provider.email(name), check=False)
                hubstead(hub, "user", "remove", provider.email(name), "--yes", check=False)


def hub_users(hub):
    return {item["name"]: item for item in json.loads(hubstead(hub, "user", "list", "--json").stdout)}


def to_provider_form(page, hub, provider):
    """Open the hub as a visitor and click its sign-in button: the provider's login form."""
    page.goto(hub.url + "/hub/")
    assert urlsplit(page.url).path == "/hub/login"
    button = page.get_by_role("button", name="Sign in with Test University")
    with page.expect_navigation():
        button.click()
    page.wait_for_url(re.compile("^" + re.escape(provider.url) + "/accounts/login/"))
    assert page.locator("#provider-username").is_visible()


def provider_login(page, name, password):
    page.fill("#provider-username", name)
    page.fill("#provider-password", password)
    with page.expect_navigation():
        page.click("#provider-submit")


def hub_error(page):
    """The heading of the hub's error page ("403 : Forbidden"), or None on any other page."""
    heading = page.locator(".error h1, #error-message h1, h1")
    text = heading.first.inner_text().strip() if heading.count() else ""
    return text if re.match(r"^\d{3} : ", text) else None


def stop_server(page, hub):
    """With the home page's Stop My Server button, as the person would."""
    page.goto(hub.url + "/hub/home")
    page.locator("#stop").click()
    page.locator("#start").wait_for(state="visible", timeout=60_000)


def test_a_person_logs_in_at_the_provider_and_gets_a_server_as_the_derived_unix_account(oidc, page):
    hub, provider = oidc
    name = provider.email("oidcmaria")
    account = unix_name(name)
    assert account != "jupyter-" + name  # an e-mail is no unix name
    to_provider_form(page, hub, provider)
    provider_login(page, "oidcmaria", provider.password("oidcmaria"))
    assert hub_error(page) is None, page.locator("body").inner_text()
    start_from_spawn_page(page)
    wait_for_jupyterlab(page)
    assert unquote(urlsplit(page.url).path).startswith(f"/user/{name}/lab")
    try:
        new_notebook(page)
        assert run_cell(page, "import getpass, os; print(getpass.getuser(), os.getcwd())") == (
            f"{account} /home/{account}")
    finally:
        stop_server(page, hub)
    listed = hub_users(hub)
    assert listed[name]["unix_account"] == account
    assert "instructors" not in listed[name].get("groups", [])


def test_a_wrong_password_stays_on_the_provider(oidc, page):
    hub, provider = oidc
    to_provider_form(page, hub, provider)
    provider_login(page, "oidcteo", "not-his-password")
    assert page.url.startswith(provider.url + "/accounts/login/")
    assert page.locator(".provider-error").inner_text() == "Wrong username or password."
    assert provider.email("oidcteo") not in hub_users(hub)


def test_a_person_outside_the_allowed_groups_is_refused_with_a_clear_hub_page(oidc, page):
    hub, provider = oidc
    to_provider_form(page, hub, provider)
    provider_login(page, "oidcotto", provider.password("oidcotto"))
    assert page.url.startswith(hub.url + "/hub/oauth_callback")
    assert hub_error(page) == "403 : Forbidden"
    assert "Sorry, you are not currently authorized to use this hub." in page.locator("body").inner_text()
    assert provider.email("oidcotto") not in hub_users(hub)


def test_a_provider_group_makes_an_instructor(oidc, page):
    hub, provider = oidc
    name = provider.email("oidcteo")
    to_provider_form(page, hub, provider)
    provider_login(page, "oidcteo", provider.password("oidcteo"))
    assert hub_error(page) is None, page.locator("body").inner_text()
    page.wait_for_url(re.compile("^" + re.escape(hub.url) + "/(hub|user)/"))
    members = json.loads(hubstead(hub, "group", "members", "instructors", "--json").stdout)
    assert name in members
    page.goto(hub.url + "/hub/home")
    assert name in page.locator("body").inner_text()


def test_the_client_secret_is_root_only_and_masked(oidc):
    hub, provider = oidc
    assert provider.client_secret not in hub.container.read_file("/etc/hubstead/config.yaml")
    assert hub.container.run(["stat", "-c", "%a %U", "/etc/hubstead/auth-secrets.json"]).stdout.split() == [
        "600", "root"]
    shown = hubstead(hub, "config", "show").stdout + hubstead(hub, "config", "show", "--json").stdout
    assert provider.client_secret not in shown and f"{SECRET_KEY}: ********" in shown
