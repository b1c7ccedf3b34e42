"""The build's egress proxy (builder.egress): what a build may reach, over a real unix
socket and real TCP servers on 127.0.0.1 (the 'outside' here is a server of the test's
own, allowed by name, standing in for a package index)."""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading

import pytest

from hubstead.builder import egress


@pytest.fixture
def index_server():
    """A plain HTTP server on 127.0.0.1 answering 'index' to any GET."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"served {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def through(socket_path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(str(socket_path))
        client.sendall(request)
        data = b""
        while chunk := client.recv(65536):
            data += chunk
        return data


@pytest.fixture
def proxy(tmp_path, monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    lines = []

    def start(allow=()):
        running = egress.EgressProxy(tmp_path / "egress.sock", egress.Policy(allow=allow), log=lines.append)
        running.start(socket_mode=0o600)
        return running

    started = []
    yield lambda allow=(): started.append(start(allow)) or (started[-1], lines)
    for running in started:
        running.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "169.254.169.254", "[::1]", "0.0.0.0"])
def test_this_machine_and_the_metadata_address_are_refused(proxy, host, index_server):
    running, lines = proxy()
    answer = through(running.socket_path, f"GET http://{host}:{index_server}/hub/api HTTP/1.1\r\n"
                                          f"Host: {host}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403"), answer
    assert b"served" not in answer
    assert lines and lines[-1].startswith("network: refused")


def test_connect_to_this_machine_is_refused(proxy, index_server):
    running, _ = proxy()
    answer = through(running.socket_path, f"CONNECT 127.0.0.1:{index_server} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403")


def test_the_machine_s_own_addresses_are_refused():
    own = ipaddress.ip_address("192.0.2.2")
    policy = egress.Policy(own_addresses={own})
    with pytest.raises(egress.Refused, match="this machine"):
        policy.check("192.0.2.2", 443)
    assert str(policy.check("198.51.100.7", 443)) == "198.51.100.7"  # another host: allowed


def test_a_host_named_in_network_allow_goes_through(proxy, index_server):
    running, _ = proxy(allow=[f"127.0.0.1:{index_server}"])
    answer = through(running.socket_path, f"GET http://127.0.0.1:{index_server}/simple/six/ HTTP/1.1\r\n"
                                          f"Host: x\r\nProxy-Connection: keep-alive\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"served /simple/six/")


def test_connect_tunnels_bytes_both_ways(proxy):
    echo = socket.create_server(("127.0.0.1", 0))
    port = echo.getsockname()[1]

    def serve():
        connection, _ = echo.accept()
        with connection:
            connection.sendall(connection.recv(100).upper())

    threading.Thread(target=serve, daemon=True).start()
    running, _ = proxy(allow=[f"127.0.0.1:{port}"])
    answer = through(running.socket_path, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\nhello".encode())
    assert answer == b"HTTP/1.1 200 Connection established\r\n\r\nHELLO"
    echo.close()


def test_a_site_proxy_gets_the_request_and_the_check_still_applies(proxy, monkeypatch):
    upstream = socket.create_server(("127.0.0.1", 0))
    seen = []

    def serve():
        connection, _ = upstream.accept()
        with connection:
            seen.append(connection.recv(4096))
            connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    monkeypatch.setenv("https_proxy", f"http://user:pw@127.0.0.1:{upstream.getsockname()[1]}")
    running, _ = proxy()
    refused = through(running.socket_path, b"CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 403")
    answer = through(running.socket_path, b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")
    assert seen[0].startswith(b"CONNECT pypi.org:443 HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic dXNlcjpwdw==" in seen[0]
    upstream.close()


def test_malformed_requests_get_a_clear_refusal(proxy):
    running, _ = proxy()
    assert through(running.socket_path, b"GET /relative HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 403")
    assert through(running.socket_path, b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 403")


def test_behind_a_site_proxy_a_name_of_this_machine_is_still_refused(monkeypatch):
    """The site's proxy resolves what this machine cannot; what it can, it checks first.
    This machine's DNS is stood in for one name (a site DNS entry pointing here)."""
    real = socket.getaddrinfo

    def site_dns(host, *args, **kwargs):
        if host == "hub.example.internal":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(egress.socket, "getaddrinfo", site_dns)
    policy = egress.Policy(own_addresses=set())
    with pytest.raises(egress.Refused, match="this machine"):
        policy.check("hub.example.internal", 8081, via_proxy=True)
    with pytest.raises(egress.Refused, match="this machine"):
        policy.check("localhost.", 8081, via_proxy=True)
    assert policy.check("hubstead-no-such-host.invalid", 443, via_proxy=True) is None
    with pytest.raises(egress.Refused, match="does not resolve"):
        policy.check("hubstead-no-such-host.invalid", 443)


def test_a_temporary_resolver_failure_is_tried_again_not_refused(monkeypatch):
    """npm does not retry a refused CONNECT, so a resolver hiccup must not refuse the name."""
    import socket

    from hubstead.builder import egress

    calls = []

    def flaky(host, port, type=0):
        calls.append(host)
        if len(calls) < 3:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("104.16.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", flaky)
    monkeypatch.setattr(egress, "RESOLVE_RETRY_DELAY", 0)
    assert egress._resolve("registry.npmjs.org", 443)[0][4][0] == "104.16.0.1"
    assert len(calls) == 3

    def unknown(host, port, type=0):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    try:
        egress._resolve("no-such.example", 443)
    except socket.gaierror as error:
        assert error.errno == socket.EAI_NONAME
    else:
        raise AssertionError("an unknown name is not retried into success")
