"""A real OpenID Connect provider for login tests: django-oidc-provider (PyPI) in a small
Django project this module writes, run by Django's own server on 127.0.0.1.

    with OidcProvider(people={"maria": ["learners"]}, redirect_uri=hub.url + "/hub/oauth_callback") as op:
        op.endpoints()  # authorize_url, token_url, userdata_url (GenericOAuthenticator trait names)
        op.client_id, op.client_secret, op.password("maria")

Why this provider: it installs from PyPI with a hashed lock (tests/oidc-provider.txt) in
a venv of its own, starts in seconds with SQLite, and serves the whole code flow
(authorize, token, userinfo, discovery) with a login form of Django's. Keycloak is not in
Debian, and lemonldap-ng needs a web server and its manager set up. Our code only
configures it: settings, a login template, the people, their groups, and a `groups`
scope whose claim lists each person's Django groups.

The hub's containers share the host's network, so the hub reaches the provider on
127.0.0.1 as the browser does. Its cookies have names of their own: cookies do not
separate ports, and the hub's are on 127.0.0.1 too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from .rootfs import cache_dir

LOCK = Path(__file__).resolve().parents[1] / "oidc-provider.txt"
PYTHON = "/usr/bin/python3"
UV = str(Path(sys.executable).with_name("uv"))

SETTINGS = """\
SECRET_KEY = "hubstead-tests-oidc-provider"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "oidc_provider"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware"]
ROOT_URLCONF = "op_urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [__TEMPLATES__],
              "APP_DIRS": True, "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": __DATABASE__}}
USE_TZ = True
LOGIN_URL = "/accounts/login/"
SESSION_COOKIE_NAME = "oidc_provider_session"
CSRF_COOKIE_NAME = "oidc_provider_csrftoken"
OIDC_USERINFO = "op_claims.userinfo"
OIDC_EXTRA_SCOPE_CLAIMS = "op_claims.GroupsClaims"
"""

URLS = """\
from django.contrib.auth.views import LoginView
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", LoginView.as_view()),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
"""

CLAIMS = """\
from oidc_provider.lib.claims import ScopeClaims


def userinfo(claims, user):
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    return claims


class GroupsClaims(ScopeClaims):
    info_groups = ("Groups", "The groups you are in.")

    def scope_groups(self):
        return {"groups": sorted(group.name for group in self.user.groups.all())}
"""

LOGIN_TEMPLATE = """\
<!doctype html><title>Test provider: sign in</title>
<h1>Test OpenID provider</h1>
{% if form.errors %}<p class="provider-error">Wrong username or password.</p>{% endif %}
<form method="post">{% csrf_token %}
<input id="provider-username" name="username"><input id="provider-password" name="password" type="password">
<input type="hidden" name="next" value="{{ next }}"><button id="provider-submit" type="submit">Sign in</button>
</form>
"""

POPULATE = """\
import json, sys
import django
django.setup()
from django.contrib.auth.models import Group, User
from oidc_provider.models import Client, ResponseType

spec = json.load(sys.stdin)
for name, groups in spec["people"].items():
    user = User.objects.create_user(name, email=spec["emails"][name], password=spec["passwords"][name])
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
client = Client.objects.create(name="hub", client_type="confidential", client_id=spec["client_id"],
                               client_secret=spec["client_secret"], require_consent=False,
                               reuse_consent=True)
client.redirect_uris = [spec["redirect_uri"]]
client.scope = ["openid", "profile", "email", "groups"]
client.save()
client.response_types.add(ResponseType.objects.get(value="code"))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def provider_venv() -> Path:
    """The provider's venv, from the hashed lock; reused while the lock is unchanged."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]
    venv = cache_dir() / "oidc-provider" / f"venv-{digest}"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([UV, "venv", "--quiet", "--python", PYTHON, str(venv)], check=True, timeout=300)
        subprocess.run([UV, "pip", "install", "--quiet", "--require-hashes", "--python", str(venv / "bin/python"),
                        "-r", str(LOCK)], check=True, timeout=600)
        (venv / ".complete").touch()
    return venv


class OidcProvider:
    """django-oidc-provider with PEOPLE ({name: [groups]}) and one confidential client."""

    def __init__(self, people: dict[str, list[str]], redirect_uri: str):
        self.people, self.redirect_uri = people, redirect_uri
        self.client_id, self.client_secret = "hubstead-hub", "oidc-client-secret-" + os.urandom(6).hex()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process = self._directory = None

    @staticmethod
    def password(name: str) -> str:
        return f"{name}-oidc-pass-7"

    @staticmethod
    def email(name: str) -> str:
        return f"{name}@uni.example"

    def endpoints(self) -> dict[str, str]:
        base = self.url + "/openid"
        return {"authorize_url": base + "/authorize", "token_url": base + "/token",
                "userdata_url": base + "/userinfo"}

    def __enter__(self) -> OidcProvider:
        venv = provider_venv()
        self._directory = Path(tempfile.mkdtemp(prefix="hubstead-oidc-provider-"))
        project = self._directory
        (project / "templates/registration").mkdir(parents=True)
        (project / "templates/registration/login.html").write_text(LOGIN_TEMPLATE)
        (project / "op_settings.py").write_text(SETTINGS.replace("__TEMPLATES__", repr(str(project / "templates"))).replace(
            "__DATABASE__", repr(str(project / "db.sqlite3"))))
        (project / "op_urls.py").write_text(URLS)
        (project / "op_claims.py").write_text(CLAIMS)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "op_settings", "PYTHONPATH": str(project)}
        python = str(venv / "bin/python")
        manage = [python, "-m", "django"]
        for command in (["migrate", "--verbosity", "0"], ["creatersakey"]):
            subprocess.run([*manage, *command], env=env, cwd=project, check=True, capture_output=True, timeout=300)
        spec = {"people": self.people, "redirect_uri": self.redirect_uri, "client_id": self.client_id,
                "client_secret": self.client_secret, "emails": {name: self.email(name) for name in self.people},
                "passwords": {name: self.password(name) for name in self.people}}
        subprocess.run([python, "-c", POPULATE], input=json.dumps(spec), text=True, env=env, cwd=project,
                       check=True, capture_output=True, timeout=120)
        self._log = open(project / "server.log", "wb")  # noqa: SIM115 (closed in __exit__)
        self._process = subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{self.port}"],
                                         env=env, cwd=project, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_until_serving()
        return self

    def _wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited: {self.log()[-2000:]}")
            try:
                if requests.get(self.url + "/openid/.well-known/openid-configuration", timeout=5).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the OIDC provider did not answer within {timeout} s: {self.log()[-2000:]}")

    def log(self) -> str:
        return (self._directory / "server.log").read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._log.close()
        shutil.rmtree(self._directory, ignore_errors=True)
