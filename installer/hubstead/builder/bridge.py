"""Inside the sandbox: 127.0.0.1:PORT relayed to the build's egress socket (builder.egress).

The sandbox has a network namespace of its own with only a loopback, so the proxy
variables the worker sets (http_proxy=http://127.0.0.1:PORT) lead here, and every byte
goes to the root part's filtering proxy over the unix socket it was given.
"""

from __future__ import annotations

import socket
import threading

from .egress import relay


def start(socket_path, port):
    """Listen on 127.0.0.1:port in daemon threads for as long as this process lives."""
    listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
    threading.Thread(target=_accept, args=(listener, str(socket_path)), daemon=True).start()
    return listener


def check(port):
    """EnvError when the sandbox's own loopback does not carry the relay (systemd could not
    bring it up: its network namespaces need CAP_NET_ADMIN)."""
    from ..envs import EnvError

    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError as error:
        raise EnvError(f"the build's network does not work: 127.0.0.1:{port} in its sandbox answers "
                       f"{error.strerror or error} (systemd could not set up its loopback; does this "
                       "machine's systemd have CAP_NET_ADMIN?)") from None


def _accept(listener, socket_path):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_pair, args=(client, socket_path), daemon=True).start()


def _pair(client, socket_path):
    with client:
        try:
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(socket_path)
        except OSError:
            return
        with upstream:
            relay(client, upstream)


def proxy_environment(port):
    """The variables that send a build's HTTP(S) through the bridge."""
    url = f"http://127.0.0.1:{port}"
    names = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
    return {**{name: url for name in names}, "no_proxy": "localhost,127.0.0.1,::1",
            "NO_PROXY": "localhost,127.0.0.1,::1"}
