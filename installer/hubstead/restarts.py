"""`config reload hub|proxy` (tljh-config's `reload hub` / `reload proxy`): after the config
is applied, the named part has restarted, even when the apply found nothing to change.

TLJH's operators reload the hub after adding a jupyterhub_config.d drop-in, which the
apply does not see; they expect the hub to have restarted when the command returns.
"""

import subprocess
import time

from .errors import HubsteadError

# jupyterhub.service is PartOf the proxy's unit: restarting the proxy restarts the hub,
# which then gives the new proxy its routes again.
UNITS = {"hub": "jupyterhub", "proxy": "configurable-http-proxy"}
READY_TIMEOUT = 90


class RestartError(HubsteadError):
    """The part did not come back; the message says where to look."""


def started_mark(component):
    """What changes whenever the component's unit (re)starts: its invocation ID."""
    unit = UNITS[component]
    shown = subprocess.run(["systemctl", "show", "--property=InvocationID", "--value", unit],
                           capture_output=True, text=True, check=False)
    return shown.stdout.strip()


def ensure_restarted(component, mark, settings, timeout=READY_TIMEOUT):
    """Restart the component unless it restarted since `mark`; wait for the hub to answer.

    Returns a line for the operator."""
    unit = UNITS[component]
    restarted_by_apply = started_mark(component) != mark
    if not restarted_by_apply:
        done = subprocess.run(["systemctl", "restart", unit], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RestartError(f"systemctl restart {unit} failed: {done.stderr.strip()}; "
                               f"see `hubstead logs {component}`")
    wait_for_hub(settings, timeout)
    how = "restarted by the apply" if restarted_by_apply else "restarted"
    return f"{'Hub' if component == 'hub' else 'Proxy'} {how}; it answers with the new configuration."


def wait_for_hub(settings, timeout):
    """Until the hub's API answers through its own port (base_url included)."""
    import requests

    from .config import base_url

    url = f"http://127.0.0.1:{settings['internal']['hub_port']}{base_url(settings)}hub/api"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=5, proxies={"http": None, "https": None}).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RestartError(f"the hub did not answer at {url} within {timeout} s; "
                               "see `hubstead status` and `hubstead logs hub`")
        time.sleep(0.5)
