"""What a build may reach on the network: package indexes yes, this machine no.

The sandboxed worker runs with PrivateNetwork=yes: it has only a loopback of its own, so
the hub, the proxy, the web service and every other service of the machine are out of
reach by construction (systemd's IPAddressDeny= would need BPF, which containers and
some kernels lack). Its way out is this forward proxy, run by the root part of the build
(builder.run) on a unix socket; inside the sandbox the worker relays 127.0.0.1:PORT to
that socket (worker_bridge) and points http_proxy/https_proxy at it, so pip, uv, rattler,
git and npm in postBuild all go through here.

Each request (CONNECT host:port, or a plain-HTTP request in absolute form) is checked
once, by the addresses its host resolves to: loopback, link-local (the cloud metadata
address 169.254.169.254 among them), multicast, unspecified and this machine's own
addresses are refused, unless `binder.network_allow` names the host (a package mirror on
this machine). The connection then goes to the address that was checked (no second DNS
answer), or through the site's proxy when one is configured.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import selectors
import socket
import subprocess
import threading
import time
import urllib.parse

PORT_INSIDE = 3128  # the worker's relay in the sandbox's own network namespace
HEADER_LIMIT = 64 * 1024
IDLE_TIMEOUT = 300  # seconds a tunnel may stay silent
RESOLVE_ATTEMPTS = 4  # a name that fails to resolve temporarily is tried again, 1+2+3 s apart
RESOLVE_RETRY_DELAY = 1.0


def _resolve(host, port, attempts=RESOLVE_ATTEMPTS):
    """getaddrinfo, tried again after a temporary failure (EAI_AGAIN: the resolver did not
    answer in time): refusing then would fail a build for a hiccup, and npm, for one, does
    not retry a refused CONNECT."""
    for attempt in range(attempts):
        try:
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            if error.errno != socket.EAI_AGAIN or attempt == attempts - 1:
                raise
            time.sleep(RESOLVE_RETRY_DELAY * (attempt + 1))


class Refused(Exception):
    """The destination is not for builds; the message says why."""


def machine_addresses():
    """Every address of this machine's interfaces (`ip -j address`), plus its hostname's."""
    found = set()
    try:
        output = subprocess.run(["ip", "-j", "address"], capture_output=True, text=True, timeout=10).stdout
        for interface in json.loads(output or "[]"):
            for item in interface.get("addr_info", []):
                found.add(ipaddress.ip_address(item["local"].split("%")[0]))
    except (OSError, ValueError, KeyError, subprocess.SubprocessError):
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(ipaddress.ip_address(info[4][0].split("%")[0]))
    except (OSError, ValueError):
        pass
    return frozenset(found)


class Policy:
    def __init__(self, allow=(), own_addresses=None):
        self.allow = {item.lower().strip() for item in allow if item.strip()}
        self.own = machine_addresses() if own_addresses is None else frozenset(own_addresses)

    def allowed_by_name(self, host, port):
        return host.lower() in self.allow or f"{host.lower()}:{port}" in self.allow

    def check(self, host, port, via_proxy=False):
        """The address to connect to; Refused if not for builds. A name this machine cannot
        resolve is left to the site's proxy when one carries the request (None); a name it
        can resolve is checked either way, so no name of this machine gets through."""
        if not host or not 0 < port < 65536:
            raise Refused(f"{host}:{port} is not a destination")
        host = host.removesuffix(".")  # a fully qualified "localhost." is localhost
        named = self.allowed_by_name(host, port)
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        elif host.lower() == "localhost" or host.lower().endswith(".localhost"):
            addresses = [ipaddress.ip_address("127.0.0.1")]
        else:
            try:
                addresses = sorted({ipaddress.ip_address(info[4][0].split("%")[0])
                                    for info in _resolve(host, port)}, key=lambda address: address.version)
            except (OSError, UnicodeError) as error:
                if via_proxy:
                    return None
                raise Refused(f"{host} does not resolve ({error})") from None
        if not named:
            for address in addresses:
                reason = self.reason(address)
                if reason:
                    raise Refused(f"{host}:{port} is {reason}; builds may reach package indexes, not this "
                                  "machine or its cloud (binder.network_allow lets a named mirror through)")
        return addresses[0]

    def reason(self, address):
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        if address.is_loopback or address in self.own:
            return "this machine"
        if address.is_link_local:
            return "a link-local address (where clouds keep their metadata service)"
        if address.is_multicast or address.is_unspecified or address.is_reserved:
            return "not a host"
        return None


def upstream_proxy(scheme):
    """(host, port, Proxy-Authorization or None) of the site's proxy for scheme, or None."""
    value = (os.environ.get(f"{scheme}_proxy") or os.environ.get(f"{scheme.upper()}_PROXY") or "").strip()
    if not value:
        return None
    parts = urllib.parse.urlsplit(value if "://" in value else f"http://{value}")
    authorization = None
    if parts.username:
        credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    return parts.hostname, parts.port or 8080, authorization


def bypasses_proxy(host):
    """no_proxy as curl and requests read it: suffixes, '*' for everything."""
    entries = (os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or "").lower().split(",")
    host = host.lower()
    for entry in (item.strip().lstrip(".") for item in entries):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


def parse_request(head):
    """(method, host, port, request line and headers to send onward, via proxy?) of a request head."""
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise Refused("a malformed request line") from None
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        if not port.isdigit():
            raise Refused(f"CONNECT {target}: no port")
        return method, host.strip("[]"), int(port), b"", target
    parts = urllib.parse.urlsplit(target)
    if parts.scheme != "http" or not parts.hostname:
        raise Refused(f"{method} {target[:80]}: only absolute http:// URLs and CONNECT are proxied")
    headers = [line for line in lines[1:] if line and line.split(":", 1)[0].strip().lower() not in
               ("connection", "proxy-connection", "keep-alive", "proxy-authorization")]
    origin = parts.path or "/"
    if parts.query:
        origin += "?" + parts.query
    return method, parts.hostname, parts.port or 80, (version, origin, target, headers), target


class EgressProxy:
    """The proxy on a unix socket; start() runs it in daemon threads, stop() ends it."""

    def __init__(self, socket_path, policy, log=print):
        self.socket_path = str(socket_path)
        self.policy = policy
        self.log = log
        self.listener = None
        self.refused = []

    def start(self, socket_mode=0o660, group=None):
        if os.path.lexists(self.socket_path):
            os.unlink(self.socket_path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket_path)
        if group is not None:
            os.chown(self.socket_path, 0, group)
        os.chmod(self.socket_path, socket_mode)
        self.listener.listen(64)
        self.accepting = threading.Thread(target=self._accept, args=(self.listener,), daemon=True)
        self.accepting.start()
        return self

    def stop(self):
        if self.listener is not None:
            listener, self.listener = self.listener, None
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below; close() alone does not
            except OSError:
                pass
            self.accepting.join(timeout=5)
            listener.close()
        if os.path.lexists(self.socket_path):
            os.unlink(self.socket_path)

    def _accept(self, listener):
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.listener is not listener:
                client.close()
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        with client:
            client.settimeout(60)
            target = "a request"
            try:
                head, rest = _read_head(client)
                method, host, port, onward, target = parse_request(head)
                upstream = self._connect(method, host, port, onward, target)
            except Refused as refusal:
                self.refused.append(str(refusal))
                self.log(f"network: refused {refusal}")
                _answer(client, 403, f"Hubstead refused this build's request: {refusal}\n")
                return
            except ConnectionAbortedError:
                return
            except OSError as error:
                self.log(f"network: could not connect for {target}: {error}")
                _answer(client, 502, f"Hubstead could not connect: {error}\n")
                return
            with upstream:
                if rest:
                    upstream.sendall(rest)
                _relay(client, upstream)

    def _connect(self, method, host, port, onward, target):
        proxy = upstream_proxy("https" if method == "CONNECT" else "http")
        via_proxy = proxy is not None and not bypasses_proxy(host)
        address = self.policy.check(host, port, via_proxy=via_proxy)
        if via_proxy:
            upstream = socket.create_connection(proxy[:2], timeout=30)
            auth = f"Proxy-Authorization: {proxy[2]}\r\n" if proxy[2] else ""
            if method == "CONNECT":
                upstream.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{auth}\r\n".encode("latin-1"))
                return upstream  # the site proxy's answer goes back to the client as is
            version, _, absolute, headers = onward
            lines = [f"{method} {absolute} {version}", *headers, "Connection: close"]
            upstream.sendall(("\r\n".join(lines) + ("\r\n" + auth if auth else "\r\n") + "\r\n").encode("latin-1"))
            return upstream
        upstream = socket.create_connection((str(address), port), timeout=30)
        if method == "CONNECT":
            # Tell the client, then the tunnel carries its TLS untouched.
            return _Established(upstream)
        version, origin, _, headers = onward
        lines = [f"{method} {origin} {version}", *headers, "Connection: close"]
        upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return upstream


class _Established:
    """A direct CONNECT tunnel: the 200 answer is sent when relaying starts."""

    def __init__(self, sock):
        self.sock = sock
        self.pending_answer = b"HTTP/1.1 200 Connection established\r\n\r\n"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def sendall(self, data):
        self.sock.sendall(data)


def _read_head(client):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk and not data:
            raise ConnectionAbortedError("closed before a request")  # the worker's own check does that
        if not chunk:
            raise Refused("the request ended before its headers did")
        data += chunk
        if len(data) > HEADER_LIMIT:
            raise Refused("request headers over 64 KiB")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _answer(client, status, text):
    reason = {403: "Forbidden", 502: "Bad Gateway"}[status]
    body = text.encode()
    try:
        client.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                       f"Connection: close\r\n\r\n".encode() + body)
    except OSError:
        pass


def _relay(client, upstream):
    """Copy bytes both ways until either side closes or the line is idle too long."""
    if isinstance(upstream, _Established):
        client.sendall(upstream.pending_answer)
        upstream = upstream.sock
    relay(client, upstream)


def relay(one, other, idle_timeout=IDLE_TIMEOUT):
    """Copy bytes both ways until both sides have finished sending (an end on one side is
    passed on as a half-close, so the answer still travels back) or the line is idle for
    idle_timeout seconds. Closing early with unread data would send a reset, which can
    make the other side drop an answer it has not read yet."""
    selector = selectors.DefaultSelector()
    for sock in (one, other):
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    peers = {one: other, other: one}
    reading = {one, other}
    last = time.monotonic()
    try:
        while reading and time.monotonic() - last < idle_timeout:
            for key, _ in selector.select(timeout=5):
                source = key.fileobj
                try:
                    data = source.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                target = peers[source]
                try:
                    if not data:
                        selector.unregister(source)
                        reading.discard(source)
                        target.shutdown(socket.SHUT_WR)
                        continue
                    target.setblocking(True)
                    target.sendall(data)
                    target.setblocking(False)
                except OSError:  # the other side went away: the tunnel is over
                    return
                last = time.monotonic()
    finally:
        selector.close()
