"""The user environment behaves like TLJH's, on the shared installed hub.

Ports of TLJH's integration-tests/test_extensions.py (all) and test_install.py's
test_pip_install and test_pip_upgrade (jupyterhub/the-littlest-jupyterhub). Translated:
/opt/tljh/user -> /opt/hubstead/envs/default/current; TLJH's `nobody:jupyterhub-users`
-> a learner's own unix account (jupyter-NAME, what a learner's server runs as). TLJH
marks the admin half of both pip tests "not implemented" (xfail/skip); in Hubstead an
admin's `sudo -E pip install` makes a new locked build of the default environment for
everyone, tested here from a JupyterLab terminal as TLJH's docs teach it.
"""

import json
import re
import secrets

import pytest

from tests.harness.hubcli import current_build, hubstead, new_user
from tests.harness.hubclient import HubUser
from tests.harness.terminal import run_in_terminal

pytestmark = pytest.mark.e2e

USER_PREFIX = "/opt/hubstead/envs/default/current"
PYTHON = f"{USER_PREFIX}/bin/python"


def _name(prefix):
    return f"{prefix}{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def learner(installed_hub):
    """A learner with a running server (their unix account exists from the spawn), one for
    this module: a spawn costs seconds, and no test here changes what the others check."""
    name = _name("envl")
    user = new_user(installed_hub, name)
    user.start_server()
    yield user
    user.stop_server()
    hubstead(installed_hub, "user", "remove", name, "--purge", "--yes")


@pytest.fixture
def default_env_restored(installed_hub):
    """The default environment as it was after the test: its build, its admin_managed flag,
    and no builds the test made."""
    container = installed_hub.container
    before = current_build(installed_hub, "default")
    info = json.loads(container.run(["cat", "/opt/hubstead/envs/default/hubstead-env.json"], check=False).stdout
                      or "{}")
    builds = set(container.run(["ls", "/opt/hubstead/envs/default"]).stdout.split())
    yield before
    hubstead(installed_hub, "env", "rollback", "default", "--to", before)
    restore = (f"from hubstead.envs import store; store.update_env_info('default', "
               f"admin_managed={bool(info.get('admin_managed'))})")
    container.run(["/opt/hubstead/hub/bin/python", "-c", restore])
    made = set(container.run(["ls", "/opt/hubstead/envs/default"]).stdout.split()) - builds
    for build in made:
        if build.startswith("pypi-"):
            container.run(["rm", "-rf", f"/opt/hubstead/envs/default/{build}"])


def test_serverextensions(installed_hub):
    """Port of test_extensions.py::test_serverextensions: the server extensions we want
    are installed."""
    proc = installed_hub.container.run(f"{USER_PREFIX}/bin/jupyter-server extension list --sys-prefix 2>&1")
    output = proc.stdout
    extensions = [
        "jupyterlab",
        "nbgitpuller",
        "jupyter_resource_usage",
    ]
    for e in extensions:
        assert e in output, f"'{e}' not found in server extensions: {output}"


def test_labextensions(installed_hub):
    """Port of test_extensions.py::test_labextensions: the JupyterLab extensions we want
    are installed and enabled."""
    proc = installed_hub.container.run([f"{USER_PREFIX}/bin/jupyter-labextension", "list"])
    extensions = [
        "@jupyter-server/resource-usage",
        # This is what ipywidgets lab extension is called
        "@jupyter-widgets/jupyterlab-manager",
    ]
    for e in extensions:
        # jupyter labextension lists outputs to stderr
        out = proc.stderr
        enabled_ok_pattern = re.compile(rf"{e}.*enabled.*OK")
        matches = enabled_ok_pattern.search(out)
        assert matches is not None


def test_classic_opens_memory_shows_and_pip_runs(learner):
    """What TLJH's environment gives a learner: the classic interface (notebook 7) at
    /tree, memory use from jupyter-resource-usage, and `python -m pip`."""
    headers = {"Authorization": f"token {learner.token}"}
    tree = learner.http.get(learner.server_url("tree"), headers=headers, timeout=30)
    assert tree.status_code == 200 and "Jupyter Notebook" in tree.text
    metrics = learner.http.get(learner.server_url("api/metrics/v1"), headers=headers, timeout=30)
    assert metrics.status_code == 200 and metrics.json()["rss"] > 0
    status, shown = run_in_terminal(learner, "python -m pip --version", timeout=60)
    assert status == 0 and f"{USER_PREFIX.rsplit('/', 1)[0]}/pypi-" in shown


def _version(hub, package):
    """The version of PACKAGE in the default environment's current build, as it imports."""
    code = f"import importlib.metadata, {package}; print(importlib.metadata.version({package!r}))"
    return hub.container.run([PYTHON, "-c", code]).stdout.strip()


def _pip_as(container, account, *args):
    return container.run([PYTHON, "-m", "pip", *args], user=account, check=False, timeout=300,
                         env={"HOME": f"/tmp/test-home-{account}"})


def test_pip_install(installed_hub, learner):
    """Port of test_install.py::test_pip_install (USER_GROUP, allowed=False): a learner
    cannot install into the shared environment (--no-user: no fallback to ~/.local)."""
    account = f"jupyter-{learner.username}"
    result = _pip_as(installed_hub.container, account, "install", "--no-user", "--ignore-installed",
                     "--no-deps", "flit")
    assert result.returncode != 0, result.stdout


def test_pip_upgrade(installed_hub, learner):
    """Port of test_install.py::test_pip_upgrade (USER_GROUP, allowed=False)."""
    account = f"jupyter-{learner.username}"
    result = _pip_as(installed_hub.container, account, "install", "--no-user", "--ignore-installed",
                     "--no-deps", "testpath==0.3.0")
    assert result.returncode != 0, result.stdout


def test_learner_pip_install_user_works_in_their_home(learner):
    """A learner's `pip install --user X` in a JupyterLab terminal installs X into their
    home, as on any machine (and in TLJH), and their Python imports it."""
    status, shown = run_in_terminal(
        learner, "pip install --user --no-deps testpath==0.3.0 && python -c 'import testpath; print(testpath.__file__)'",
        timeout=180)
    assert status == 0, shown
    assert f"/home/jupyter-{learner.username}/.local/lib/" in shown


def test_admin_sudo_pip_install_and_upgrade_build_for_everyone(installed_hub, learner, default_env_restored):
    """The admin half of test_install.py::test_pip_install and ::test_pip_upgrade (xfail and
    skipped upstream: "admin-permissions not implemented"): an admin's `sudo -E pip install`
    in a JupyterLab terminal installs for everyone, the way TLJH's docs teach: here a new
    locked build of the default environment, switched to atomically, said so; a server
    already running keeps its build; `--upgrade` makes the next build with a newer one."""
    hub, before = installed_hub, default_env_restored
    name = _name("envadm")
    password = hubstead(hub, "user", "add", name, "--admin").stdout.strip()
    admin = HubUser(hub.url)
    admin.login(name, password)
    admin.create_token("e2e")
    admin.start_server()
    try:
        status, shown = run_in_terminal(admin, "sudo -E pip install testpath==0.3.0", timeout=400)
        assert status == 0, shown
        first = current_build(hub, "default")
        assert first != before and f"now serves build {first}" in shown
        assert _version(hub, "testpath") == "0.3"  # testpath 0.3.0 calls itself 0.3
        # The learner's server started before: it runs its old build still.
        status, shown = run_in_terminal(learner, "python -c 'import sys; print(sys.prefix)'", timeout=60)
        assert status == 0 and before in shown
        status, shown = run_in_terminal(admin, "sudo -E pip install --upgrade testpath", timeout=400)
        assert status == 0, shown
        assert current_build(hub, "default") not in (before, first)
        assert _version(hub, "testpath") not in ("0.3", "")
        # Not for a learner: their unit has no sudo.
        status, shown = run_in_terminal(learner, "sudo -n pip install flit", timeout=60)
        assert status != 0
    finally:
        admin.stop_server()
        hubstead(hub, "user", "remove", name, "--purge", "--yes")
