"""`config reload hub|proxy` (tljh-config's `reload hub` / `reload proxy`): after the config
is applied, the named part has restarted, even when the apply found nothing to change.

TLJH's operators reload the hub after adding a jupyterhub_config.d drop-in, which the
apply does not see; they expect the hub to have restarted when the command returns.
`reload hub` is also quick, as TLJH's is: the hub reads config.yaml when it starts, so
when the roles' variables are those of the last apply (recorded by `record_applied`),
restarting the hub applies the config and the playbook is not run again.
"""

import json
import os
import subprocess
import time

from . import paths
from .errors import HubsteadError

APPLIED_FILE = "applied-roles.json"

# jupyterhub.service is PartOf the proxy's unit: restarting the proxy restarts the hub,
# which then gives the new proxy its routes again.
UNITS = {"hub": "jupyterhub", "proxy": "configurable-http-proxy"}
READY_TIMEOUT = 90


class RestartError(HubsteadError):
    """The part did not come back; the message says where to look."""


def record_applied(variables):
    """After a successful apply: the role variables the machine now has (root only)."""
    path = paths.STATE_DIR / APPLIED_FILE
    temp = path.with_name(path.name + ".new")
    with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "w") as out:
        json.dump(variables, out, sort_keys=True)
    os.replace(temp, path)


def quick_reload(config_path):
    """Restart only the hub when that applies the config: validated, and nothing the
    roles render has changed since the last apply. A line for the operator, or None
    when the roles must run (`config reload` then does the whole apply)."""
    from . import config, https
    from .install import role_variables

    current = config.check_default_env(config.validate(config.load(config_path)))
    settings = config.effective(current)
    problem = https.check_https(settings, applying=True)
    if problem:
        raise RestartError(problem)
    try:
        applied = json.loads((paths.STATE_DIR / APPLIED_FILE).read_text())
    except (OSError, ValueError):
        return None
    if applied != json.loads(json.dumps(role_variables(settings, config_path), sort_keys=True)):
        return None
    return ensure_restarted("hub", started_mark("hub"), settings)


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
