"""HTTPS with Caddy in front of the proxy, as an operator turns it on, changes and off.

One fresh container gets its own install (these tests change the hub's ports and would
break the session's shared hub); the tests below run in order on it: Caddy's local
authority (`https.self_signed`), then the operator's own certificate, then the local
authority with no domain (reached by address), then HTTPS off.
Requests go from this process to 127.0.0.1 but name the hub `hub.test` (SNI and Host),
as a browser would, and verify the certificate against the authority in use.

Let's Encrypt itself cannot be reached from the test machines, so ACME mode is covered
only by the unit tests of the rendered Caddyfile (tests/unit/test_https.py).
"""

import socket
import time

import pytest
import requests

from tests.harness.container import Container, free_tcp_ports
from tests.harness.hub import InstallFailed, install_hub, wait_for_http
from tests.harness.hubclient import HubUser

pytestmark = pytest.mark.e2e

HOSTNAME = "hub.test"
CADDY_ROOT_CA = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
ALICE_PASSWORD = "Correct-Horse-42"
DIRECT = {"http": None, "https": None}  # the hub is on this machine: never via a proxy


class HttpsHub:
    def __init__(self, installed):
        self.installed = installed
        self.container = installed.container
        self.http_port = installed.port
        self.https_port, self.proxy_port = free_tcp_ports(2)

    @property
    def url(self):
        return f"https://{HOSTNAME}:{self.https_port}"

    def hubstead(self, *args, check=True):
        return self.container.run(["hubstead", *args], check=check, timeout=600)

    def reload(self):
        """`hubstead config reload`; its output, and its time printed for the log."""
        started = time.monotonic()
        output = self.hubstead("config", "reload").stderr
        print(f"config reload: {time.monotonic() - started:.1f} s")
        return output

    def config_file(self):
        return self.container.read_file("/etc/hubstead/config.yaml")


@pytest.fixture(scope="module")
def hub(base_rootfs):
    with Container(base_rootfs) as container:
        try:
            installed = install_hub(container)
        except InstallFailed as error:
            pytest.fail(str(error), pytrace=False)
        yield HttpsHub(installed)


@pytest.fixture(autouse=True)
def hub_test_is_this_machine(monkeypatch):
    """Resolve hub.test to 127.0.0.1 in this process only (requests and websocket-client
    both look names up through socket.getaddrinfo), so the name still reaches Caddy as
    SNI and Host; the host's /etc/hosts is not the test's to edit."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1" if host == HOSTNAME else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, f"{HOSTNAME},127.0.0.1,localhost")


def wait_for_https(url, ca_file, timeout=60.0):
    """GET url verified against ca_file until it answers 200; the response."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = requests.get(url, verify=ca_file, proxies=DIRECT, timeout=10)
            if answer.status_code == 200:
                return answer
            last = f"status {answer.status_code}"
        except requests.RequestException as error:
            last = repr(error)
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s: {last}")
        time.sleep(0.5)


def listening_addresses(port):
    """The local addresses with a TCP socket listening on `port` (the containers share
    this machine's network namespace, so its /proc/net/tcp* lists theirs too)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    raw = bytes.fromhex(address)
                    # The kernel prints each 32-bit word in host (little-endian) order.
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
                    found.add(socket.inet_ntop(family, words))
    return found


def redirect_of(hub, path):
    answer = requests.get(f"http://127.0.0.1:{hub.http_port}{path}", headers={"Host": HOSTNAME},
                          allow_redirects=False, proxies=DIRECT, timeout=10)
    return answer.status_code, answer.headers.get("Location")


def unit_state(hub, unit):
    return [hub.container.run(["systemctl", verb, unit], check=False).stdout.strip()
            for verb in ("is-active", "is-enabled")]


def test_applying_https_without_a_domain_is_refused_and_changes_nothing(hub):
    # TLJH's instructions turn HTTPS on before naming the domain: `set` takes it, and
    # applying it is refused until there is a name, a certificate or self_signed.
    before = hub.config_file()
    hub.hubstead("config", "set", "https.enabled", "true")
    result = hub.hubstead("config", "reload", check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: https.enabled: "), result.stderr
    assert unit_state(hub, "caddy")[0] != "active"
    hub.hubstead("config", "unset", "https.enabled")
    assert hub.config_file() == before


def test_self_signed_https_serves_the_hub_with_websockets(hub, tmp_path):
    hub.hubstead("config", "set", "internal.proxy_port", str(hub.proxy_port))
    hub.hubstead("config", "set", "https.self_signed", "true")
    hub.hubstead("config", "add-item", "https.domains", HOSTNAME)
    hub.hubstead("config", "set", "https.port", str(hub.https_port))
    hub.hubstead("config", "set", "https.enabled", "true")
    output = hub.reload()
    assert f"Hubstead is running at {hub.url}" in output, output

    ca_file = tmp_path / "caddy-root.crt"
    ca_file.write_text(hub.container.read_file(CADDY_ROOT_CA))
    assert wait_for_https(f"{hub.url}/hub/api", str(ca_file)).json()["version"]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{hub.url}/hub/api", proxies=DIRECT, timeout=10)  # the system's CAs: no

    alice = HubUser(hub.url, verify=str(ca_file))
    assert alice.signup("alice", ALICE_PASSWORD).outcome == "created"
    alice.login("alice", ALICE_PASSWORD)
    assert alice.user_model()["admin"] is True
    # A Secure login cookie: the hub saw the request as HTTPS (Caddy's X-Forwarded-Proto,
    # which the proxy would otherwise have turned into http).
    secure = {cookie.name: cookie.secure for cookie in alice.http.cookies}
    assert secure["jupyterhub-hub-login"] and secure["jupyterhub-session-id"], secure
    alice.start_server(timeout=180)
    assert alice.run_code("print(6 * 7)").strip() == "42", "a kernel's websocket through Caddy"
    alice.stop_server()

    assert redirect_of(hub, "/hub/login?next=%2Fhub%2F") == (
        308, f"{hub.url}/hub/login?next=%2Fhub%2F")
    assert listening_addresses(hub.proxy_port) == {"127.0.0.1"}, "the proxy hides behind Caddy"
    assert unit_state(hub, "caddy") == ["active", "enabled"]
    assert "Nothing changed" in hub.reload(), "a second run changes nothing"


def test_own_certificate_is_served_once_its_files_are_there(hub, tmp_path):
    hub.container.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", "/root/hub.key", "-out", "/root/hub.crt", "-subj", f"/CN={HOSTNAME}",
         "-addext", f"subjectAltName=DNS:{HOSTNAME}"])
    hub.container.run(["chmod", "600", "/root/hub.key"])  # root's only, as keys are
    hub.hubstead("config", "set", "https.self_signed", "false")
    hub.hubstead("config", "set", "https.tls.cert", "/root/hub.crt")
    hub.hubstead("config", "set", "https.tls.key", "/root/missing.key")
    refused = hub.hubstead("config", "reload", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: https.tls.key: /root/missing.key does not exist"

    hub.hubstead("config", "set", "https.tls.key", "/root/hub.key")
    hub.reload()
    ca_file = tmp_path / "hub.crt"
    ca_file.write_text(hub.container.read_file("/root/hub.crt"))
    wait_for_https(f"{hub.url}/hub/api", str(ca_file))
    alice = HubUser(hub.url, verify=str(ca_file))
    alice.login("alice", ALICE_PASSWORD)
    assert alice.is_logged_in()
    assert redirect_of(hub, "/hub/api")[0] == 308
    assert "Nothing changed" in hub.reload()


def test_self_signed_without_a_domain_answers_by_address(hub, tmp_path):
    hub.hubstead("config", "unset", "https.tls")
    hub.hubstead("config", "set", "https.self_signed", "true")
    hub.hubstead("config", "remove-item", "https.domains", HOSTNAME)
    output = hub.reload()
    assert "Hubstead is running at https://" in output and f":{hub.https_port}" in output, output
    ca_file = tmp_path / "caddy-root.crt"
    ca_file.write_text(hub.container.read_file(CADDY_ROOT_CA))
    # No SNI for an address: Caddy's authority certifies the address it was reached on.
    by_address = f"https://127.0.0.1:{hub.https_port}"
    wait_for_https(f"{by_address}/hub/api", str(ca_file))
    HubUser(by_address, verify=str(ca_file)).login("alice", ALICE_PASSWORD)
    assert not hub.container.path_exists("/etc/caddy/hubstead"), "the key's copy is gone"


def test_disabling_https_gives_plain_http_back_to_the_proxy(hub):
    hub.hubstead("config", "set", "https.enabled", "false")
    output = hub.reload()
    assert "Hubstead is running at http://" in output and f":{hub.http_port}" in output, output
    wait_for_http(f"http://127.0.0.1:{hub.http_port}/hub/api", timeout=30)
    HubUser(f"http://127.0.0.1:{hub.http_port}").login("alice", ALICE_PASSWORD)
    assert unit_state(hub, "caddy") == ["inactive", "disabled"]
    assert not listening_addresses(hub.https_port), "nothing answers on the HTTPS port"
    assert not listening_addresses(hub.proxy_port)
    assert "Nothing changed" in hub.reload()
