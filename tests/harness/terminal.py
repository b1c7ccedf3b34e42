"""Run a shell command in a terminal of a user's server, as a person typing in
JupyterLab's terminal does: jupyter_server's terminals API and its websocket (terminado).

The shell runs inside the server's systemd unit, with the unit's hardening, as the user.
"""

from __future__ import annotations

import json
import re
import time

import requests
import websocket  # websocket-client

from .hubclient import HubError, HubTimeout, HubUser, receive_text

# Printed by the shell after the command. The echo of the typed line shows the quotes
# and `$?` literally, so only the shell's own output matches DONE.
_TYPED_MARKER = "printf '%s:%s\\n' '##HUBSTEAD-DONE' \"$?\""
_DONE = re.compile(r"##HUBSTEAD-DONE:(\d+)")


def run_in_terminal(user: HubUser, command: str, timeout: float = 30) -> tuple[int, str]:
    """(exit status, what the terminal showed) of `command` typed into a new terminal."""
    headers = {"Authorization": f"token {user.token or user.create_token('terminal')}"}
    answer = requests.post(user.server_url("api/terminals"), headers=headers, verify=user.verify,
                           timeout=user.request_timeout)
    if answer.status_code != 200:
        raise HubError("opening a terminal failed", status=answer.status_code, answer=answer.text[:300])
    name = answer.json()["name"]
    socket_url = re.sub(r"^http", "ws", user.server_url(f"terminals/websocket/{name}"))
    deadline = time.monotonic() + timeout
    shown = ""
    try:
        channel = websocket.create_connection(socket_url, header=[f"{k}: {v}" for k, v in headers.items()],
                                              timeout=timeout)
        try:
            channel.send(json.dumps(["stdin", f"{command}; {_TYPED_MARKER}\r"]))
            while (text := receive_text(channel, deadline)) is not None:
                kind, *payload = json.loads(text)
                if kind == "stdout":
                    shown += payload[0]
                    done = _DONE.search(shown)
                    if done:
                        return int(done.group(1)), shown[:done.start()]
        finally:
            channel.close()
    finally:
        requests.delete(user.server_url(f"api/terminals/{name}"), headers=headers, verify=user.verify,
                        timeout=user.request_timeout)
    raise HubTimeout(f"terminal: {command!r} not done after {timeout:.0f} s", last_state=shown[-500:])
