"""The harness's websocket reads keep their deadline against a server that pings.

jupyter-server pings every open websocket every 30 s. A kernel killed mid-cell (the VM
tier's memory test) never replies, and the harness's wait for the reply went on for
ever: websocket-client answered each ping and waited again with a fresh timeout. The
server here is a few lines of stdlib on 127.0.0.1 that do the handshake (RFC 6455) and
then only ping, as that server did, and can send one text frame first.
"""

import base64
import hashlib
import socket
import threading
import time

import pytest
import websocket

from tests.harness.hubclient import receive_text

pytestmark = pytest.mark.integration

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def pinging_server(first_text=None, ping_every=0.2, pings=40):
    """A websocket server on a free port that answers one client; returns its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        connection, _ = listener.accept()
        with connection, listener:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(4096)
            key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
            connection.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            if first_text is not None:
                payload = first_text.encode()
                connection.sendall(bytes([0x81, len(payload)]) + payload)  # FIN + text, short length
            connection.settimeout(0.01)
            for _ in range(pings):
                connection.sendall(bytes([0x89, 0]))  # FIN + ping, empty
                try:
                    connection.recv(4096)  # the client's pongs
                except (TimeoutError, OSError):
                    pass
                time.sleep(ping_every)

    threading.Thread(target=serve, daemon=True).start()
    return f"ws://127.0.0.1:{port}/"


def test_a_server_that_only_pings_does_not_hold_a_read_past_its_deadline():
    channel = websocket.create_connection(pinging_server(), timeout=5)
    try:
        started = time.monotonic()
        assert receive_text(channel, started + 1.0) is None
        waited = time.monotonic() - started
    finally:
        channel.close()
    # Pings came every 0.2 s for 8 s: the read ended at its deadline, not with the pings.
    assert waited < 4, f"the read waited {waited:.1f} s past a 1 s deadline"


def test_a_text_frame_still_comes_through_between_pings():
    channel = websocket.create_connection(pinging_server(first_text='{"a": 1}'), timeout=5)
    try:
        assert receive_text(channel, time.monotonic() + 5) == '{"a": 1}'
    finally:
        channel.close()
