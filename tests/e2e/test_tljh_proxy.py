"""TLJH's integration-tests/test_proxy.py, ported to Hubstead (issue 10), on the shared hub.

Translated: TLJH's set_config_value/reload_component are `sudo tljh-config set ...` and
`sudo tljh-config reload proxy`; /etc/tljh-ssl-test is /etc/hubstead-ssl-test. The
containers share the host's network, so HTTPS gets a free port instead of 443 and the
proxy, behind Caddy, a free internal.proxy_port instead of 8000. openssl runs on the
host (the container is a minimal Debian) and the files are written into the container.

test_extra_traefik_config is a deliberate difference (docs/migrating-from-tljh.md):
Hubstead runs no Traefik, so traefik_api.* and Traefik's config directories do not
exist; its port checks that tljh-config says so in one line naming the Hubstead way.
"""

import shutil
import ssl
import subprocess
import time

import pytest
import requests

from tests.harness.container import free_tcp_ports
from tests.harness.tljh import preserved_config, tljh_config

pytestmark = pytest.mark.e2e


def send_request(url, max_sleep, validate_cert=True):
    """TLJH's send_request: GET url (redirects followed), retried for a while."""
    for i in range(max_sleep):
        try:
            return requests.get(url, verify=validate_cert, timeout=10, proxies={"http": None, "https": None})
        except requests.RequestException as e:
            if i + 1 == max_sleep:
                raise
            print(e)
            time.sleep(i)


def test_manual_https(installed_hub, tmp_path, require):
    """Ports test_manual_https: HTTPS with the operator's own key and certificate."""
    require(shutil.which("openssl") is not None, "openssl on the host", "apt-get install openssl")
    hub = installed_hub
    https_port, proxy_port = free_tcp_ports(2)
    ssl_dir = "/etc/hubstead-ssl-test"
    key = ssl_dir + "/ssl.key"
    cert = ssl_dir + "/ssl.cert"
    # generate key and cert
    subprocess.check_call(["openssl", "req", "-nodes", "-newkey", "rsa:2048", "-keyout", tmp_path / "ssl.key",
                           "-x509", "-days", "1", "-out", tmp_path / "ssl.cert", "-subj", "/CN=tljh.jupyer.org"],
                          stderr=subprocess.DEVNULL)
    with preserved_config(hub):
        hub.container.run(["mkdir", "-p", ssl_dir])
        hub.container.run(["chmod", "0600", ssl_dir])
        hub.container.write_file(key, (tmp_path / "ssl.key").read_text(), mode=0o600)
        hub.container.write_file(cert, (tmp_path / "ssl.cert").read_text(), mode=0o644)
        try:
            for setting, value in (("https.port", https_port), ("internal.proxy_port", proxy_port),
                                   ("https.enabled", True), ("https.tls.key", key), ("https.tls.cert", cert)):
                done = tljh_config(hub, "set", setting, str(value))
                assert done.returncode == 0, done.stderr
            done = tljh_config(hub, "reload", "proxy")
            assert done.returncode == 0, done.stdout + done.stderr
            server_cert = None
            for i in range(10):
                time.sleep(i)
                try:
                    server_cert = ssl.get_server_certificate(("127.0.0.1", https_port))
                except Exception as e:
                    print(e)
                else:
                    break
            file_cert = (tmp_path / "ssl.cert").read_text()

            # verify that our certificate was loaded by the proxy (Caddy)
            assert server_cert == file_cert

            # verify that we can still connect to the hub
            resp = send_request(url=f"https://127.0.0.1:{https_port}/hub/api", max_sleep=10, validate_cert=False)
            assert resp.status_code == 200
        finally:
            # cleanup
            hub.container.run(["rm", "-rf", ssl_dir])
            tljh_config(hub, "set", "https.enabled", "False")
            tljh_config(hub, "reload", "proxy")
        assert send_request(url=f"{hub.url}/hub/api", max_sleep=10).status_code == 200


@pytest.mark.parametrize("args", [
    ("set", "traefik_api.port", "8099"),
    ("set", "traefik_api.username", "api_admin"),
    ("set", "traefik_api.password", "secret"),
    ("set", "traefik_api.ip", "127.0.0.1"),
])
def test_extra_traefik_config(installed_hub, args):
    """Ports test_extra_traefik_config as a deliberate difference: Hubstead has no Traefik.
    tljh-config refuses TLJH's Traefik keys in one line that names Hubstead's proxy,
    not as an unknown key, and changes nothing."""
    hub = installed_hub
    before = hub.container.read_file("/etc/hubstead/config.yaml")
    done = tljh_config(hub, *args)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no Traefik" in lines[0] and "configurable-http-proxy" in lines[0], lines[0]
    assert "unknown key" not in lines[0]
    assert "secret" not in done.stdout + done.stderr
    assert hub.container.read_file("/etc/hubstead/config.yaml") == before
    # TLJH's extra Traefik configuration directories have no meaning here.
    assert not hub.container.path_exists("/etc/hubstead/traefik_config.d")
