"""Logins from a real LDAP server: Debian's slapd, installed and filled by this module in
the shared hub's container, with three people and two groups:

- ldaplena (in learners), ldapted (in learners and teachers), ldapotto (in neither);
- auth.LDAPAuthenticator.allowed_groups = learners, teachers; auth.group_map makes
  teachers the hub group `instructors`; tls_strategy insecure (slapd here has no
  certificate; TLS is ldapauthenticator's own business).

ldaplena first has a native account, a home with a file and a hub group: the module
switches that hub from native to LDAP (a TLJH config.yaml through `config import-tljh`,
then `hubstead config add-item auth.group_map ...`), and switches it back afterwards,
removing what it made.
"""

import json

import pytest

from tests.harness.hub import http_status, wait_for_http
from tests.harness.hubcli import hubstead, new_user
from tests.harness.hubclient import HubUser, LoginFailed

pytestmark = pytest.mark.e2e

PORT = 3899  # not 389: the container shares the host's network
BASE = "dc=hub,dc=test"
ADMIN_PASSWORD = "slapd-admin-pass"
PEOPLE = {"ldaplena": ["learners"], "ldapted": ["learners", "teachers"], "ldapotto": []}
GROUP_DN = "cn={},ou=groups," + BASE
COURSE = "ldapcourse"
NOTE = "kept through the switch to LDAP\n"
# tls_strategy insecure: this slapd has no certificate (ldapauthenticator's default is STARTTLS).
TLJH_LDAP = f"""\
auth:
  type: ldapauthenticator.LDAPAuthenticator
  LDAPAuthenticator:
    server_address: 127.0.0.1
    server_port: {PORT}
    tls_strategy: insecure
    bind_dn_template:
      - uid={{username}},ou=people,{BASE}
    allowed_groups:
      - {GROUP_DN.format("learners")}
      - {GROUP_DN.format("teachers")}
"""


def password(name):
    return f"{name}-ldap-pass-7"


def ldif():
    entries = [f"dn: ou={unit},{BASE}\nobjectClass: organizationalUnit\nou: {unit}\n" for unit in ("people", "groups")]
    for name in PEOPLE:
        entries.append(f"dn: uid={name},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {name}\n"
                       f"cn: {name}\nsn: {name}\nuserPassword: {password(name)}\n")
    for group in ("learners", "teachers"):
        members = "".join(f"member: uid={name},ou=people,{BASE}\n" for name, groups in PEOPLE.items()
                          if group in groups)
        entries.append(f"dn: {GROUP_DN.format(group)}\nobjectClass: groupOfNames\ncn: {group}\n{members}")
    return "\n".join(entries)


def install_slapd(container):
    """slapd from Debian, serving dc=hub,dc=test on 127.0.0.1:PORT only."""
    container.run(["debconf-set-selections"], input="".join(
        f"slapd {key}\n" for key in ("slapd/domain string hub.test", "shared/organization string Hub Test",
                                     f"slapd/password1 password {ADMIN_PASSWORD}",
                                     f"slapd/password2 password {ADMIN_PASSWORD}",
                                     "slapd/no_configuration boolean false")))
    # Not started by the package (it would listen on the host's port 389 meanwhile).
    container.write_file("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", mode=0o755)
    try:
        container.run(["apt-get", "install", "-y", "-q", "slapd", "ldap-utils"],
                      env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=600)
    finally:
        container.run(["rm", "-f", "/usr/sbin/policy-rc.d"])
    container.run(["sed", "-i", f's|^SLAPD_SERVICES=.*|SLAPD_SERVICES="ldap://127.0.0.1:{PORT}/ ldapi:///"|',
                   "/etc/default/slapd"])
    container.run(["systemctl", "restart", "slapd"])
    admin = ["-x", "-H", f"ldap://127.0.0.1:{PORT}", "-D", f"cn=admin,{BASE}", "-w", ADMIN_PASSWORD]
    # slapd's init script may return before it answers.
    container.run(["sh", "-c", f"for i in $(seq 60); do ldapsearch -x -H ldap://127.0.0.1:{PORT} -b {BASE} "
                   "-s base dn >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1"])
    # A module run before on this machine left its entries: start from none.
    container.run(["sh", "-c", f"ldapsearch -x -H ldap://127.0.0.1:{PORT} -b {BASE} -s one dn | grep -q '^dn:' "
                   f"|| exit 0; ldapdelete {' '.join(admin)} -r ou=people,{BASE} ou=groups,{BASE}"])
    container.run(["ldapadd", *admin], input=ldif())


def restart_hub(hub):
    hub.container.run(["systemctl", "restart", "jupyterhub"], timeout=180)
    wait_for_http(hub.url + "/hub/api", timeout=90)


def members(hub, group):
    return json.loads(hubstead(hub, "group", "members", group, "--json").stdout)


@pytest.fixture(scope="module")
def ldap_hub(installed_hub):
    hub, container = installed_hub, installed_hub.container
    # Before: a native account with a home, a file in it and a hub group.
    lena = new_user(hub, "ldaplena")
    lena.start_server()
    container.run(["sh", "-c", f"printf '{NOTE}' > ~jupyter-ldaplena/notes.txt && "
                   "chown jupyter-ldaplena: ~jupyter-ldaplena/notes.txt"])
    lena.stop_server()
    hubstead(hub, "group", "add", COURSE)
    hubstead(hub, "group", "add-user", COURSE, "ldaplena")
    try:
        install_slapd(container)
        # As a TLJH operator brings it: their config.yaml through `config import-tljh`.
        container.write_file("/tmp/tljh-ldap.yaml", TLJH_LDAP)
        hubstead(hub, "config", "import-tljh", "/tmp/tljh-ldap.yaml", "--yes")
        hubstead(hub, "config", "add-item", "auth.group_map", f"instructors:{GROUP_DN.format('teachers')}")
        restart_hub(hub)
        yield hub
    finally:
        container.run(["systemctl", "start", "slapd"], check=False)
        hubstead(hub, "config", "unset", "auth", check=False)
        restart_hub(hub)
        hubstead(hub, "group", "remove-user", "instructors", "ldapted", check=False)
        hubstead(hub, "group", "remove", COURSE, "--yes", check=False)
        for name in PEOPLE:
            hubstead(hub, "user", "remove", name, "--yes", check=False)
        container.run(["systemctl", "disable", "--now", "slapd"], check=False)


def test_an_ldap_person_logs_in_and_spawns_and_keeps_home_and_groups_from_native(ldap_hub):
    hub = ldap_hub
    lena = HubUser(hub.url)
    lena.login("ldaplena", password("ldaplena"))
    assert lena.is_logged_in()
    lena.start_server()
    try:
        assert lena.run_code("print(open('notes.txt').read(), end='')") == NOTE
    finally:
        lena.stop_server()
    assert "ldaplena" in members(hub, COURSE)
    assert "ldaplena" not in members(hub, "instructors")


def test_an_ldap_group_makes_an_instructor(ldap_hub):
    ted = HubUser(ldap_hub.url)
    ted.login("ldapted", password("ldapted"))
    assert ted.is_logged_in()
    assert "ldapted" in members(ldap_hub, "instructors")
    assert "instructors" in ted.user_model()["groups"]


def test_a_wrong_password_and_a_person_outside_the_allowed_groups_are_refused(ldap_hub):
    with pytest.raises(LoginFailed) as wrong:
        HubUser(ldap_hub.url).login("ldaplena", "not-her-password")
    assert "Invalid username or password" in wrong.value.message
    with pytest.raises(LoginFailed) as outsider:
        HubUser(ldap_hub.url).login("ldapotto", password("ldapotto"))
    assert "Invalid username or password" in outsider.value.message


def test_the_ldap_server_stopped_gives_a_clear_page_and_the_hub_keeps_running(ldap_hub):
    hub = ldap_hub
    hub.container.run(["systemctl", "stop", "slapd"])
    try:
        with pytest.raises(LoginFailed) as refused:
            HubUser(hub.url).login("ldaplena", password("ldaplena"))
        assert refused.value.status == 403  # the login page again, as for any refused login; not a 500
        assert f"The login server (LDAP at 127.0.0.1:{PORT}) cannot be reached" in refused.value.message
        assert http_status(hub.url + "/hub/api") == 200
        assert hub.container.run(["systemctl", "is-active", "jupyterhub"]).stdout.strip() == "active"
    finally:
        hub.container.run(["systemctl", "start", "slapd"])
    lena = HubUser(hub.url)
    lena.login("ldaplena", password("ldaplena"))
    assert lena.is_logged_in()


def test_unknown_ldap_settings_are_refused_in_one_line(ldap_hub):
    refused = hubstead(ldap_hub, "config", "set", "auth.LDAPAuthenticator.server_adress", "x", check=False)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1].startswith(
        "error: unknown key auth.LDAPAuthenticator.server_adress: LDAPAuthenticator has no setting")
    assert "server_adress" not in ldap_hub.container.read_file("/etc/hubstead/config.yaml")


def test_the_bind_password_is_kept_root_only_and_masked(ldap_hub):
    hub, key = ldap_hub, "auth.LDAPAuthenticator.lookup_dn_search_password"
    hubstead(hub, "config", "set", key, "bind-secret-42")
    try:
        assert "bind-secret-42" not in hub.container.read_file("/etc/hubstead/config.yaml")
        assert hub.container.run(["stat", "-c", "%a %U", "/etc/hubstead/auth-secrets.json"]).stdout.split() == [
            "600", "root"]
        shown = hubstead(hub, "config", "show").stdout + hubstead(hub, "config", "show", "--json").stdout
        assert "bind-secret-42" not in shown and f"{key}: ********" in shown
        assert hubstead(hub, "config", "get", key).stdout.strip() == "********"
    finally:
        hubstead(hub, "config", "unset", key)
    assert "bind-secret-42" not in hub.container.read_file("/etc/hubstead/auth-secrets.json")
