"""Port of TLJH's integration-tests/test_simplest_plugin.py (jupyterhub/the-littlest-jupyterhub):
a plugin that uses every hook TLJH recognises (tljh/hooks.py), installed with --plugin.

The plugin is tests/fixtures/tljh-plugin (the same hooks as TLJH's plugins/simplest),
installed from a local path by the shared TLJH-flags install (tests/harness/tljh_flags.py).
Translated: USER_ENV_PREFIX -> /opt/hubstead/envs/default/current, HUB_ENV_PREFIX ->
/opt/hubstead/hub, tljh/jupyterhub_config.py -> the hub's jupyterhub_config.py, TLJH's
config.yaml -> /etc/hubstead/plugin-config.yaml for the sections Hubstead's schema does not
know, `tljh.user.ensure_user` -> `hubstead.users.unix.ensure_unix_user`, the test's working
directory -> the install's (/root). Conda packages: a deliberate difference (the default
environment is PyPI-only), see docs/migrating-from-tljh.md.
"""

import pytest
from ruamel.yaml import YAML

from tests.harness.tljh_flags import INSTALL_DIR

pytestmark = pytest.mark.e2e

USER_ENV_PREFIX = "/opt/hubstead/envs/default/current"
HUB_ENV_PREFIX = "/opt/hubstead/hub"
HUB_CONFIG = f"{HUB_ENV_PREFIX}/etc/jupyterhub/jupyterhub_config.py"
PLUGIN_CONFIG_FILE = "/etc/hubstead/plugin-config.yaml"
yaml = YAML(typ="rt")


@pytest.fixture
def container(tljh_flags_hub):
    return tljh_flags_hub.hub.container


def test_tljh_extra_user_conda_packages(tljh_flags_hub):
    """Port of test_tljh_extra_user_conda_packages and test_conda_packages, a deliberate
    difference: the default environment is PyPI-only (and conda-forge, bioconda are not
    reachable from the test machines), so the install says in one line that the conda
    packages are not installed and names the Hubstead way; the plugin's other hooks work."""
    output = tljh_flags_hub.hub.install_output
    assert ("not installed: conda packages tqdm, csvtk from tljh_extra_user_conda_packages "
            "(the default environment is PyPI-only)") in output
    assert "hubstead env create NAME --file environment.yml" in output
    assert tljh_flags_hub.hub.container.run([f"{USER_ENV_PREFIX}/bin/python3", "-c", "import tqdm"],
                                            check=False).returncode != 0


def test_tljh_extra_user_pip_packages(container):
    """Port of test_simplest_plugin.py::test_tljh_extra_user_pip_packages."""
    container.run([f"{USER_ENV_PREFIX}/bin/python3", "-c", "import simplejson"])


def test_tljh_extra_hub_pip_packages(container):
    """Port of test_simplest_plugin.py::test_tljh_extra_hub_pip_packages."""
    container.run([f"{HUB_ENV_PREFIX}/bin/python3", "-c", "import there"])


def test_tljh_extra_apt_packages(container):
    """Port of test_simplest_plugin.py::test_tljh_extra_apt_packages."""
    assert container.path_exists("/usr/games/sl")


def test_tljh_custom_jupyterhub_config(container):
    """Port of test_simplest_plugin.py::test_tljh_custom_jupyterhub_config: the hook has made
    the hub's jupyterhub load additional jupyterhub config."""
    # With the hub unit's environment file (the proxy's token), as the hub itself starts.
    output = container.run(f"set -a && . /var/lib/hubstead/proxy.env && exec {HUB_ENV_PREFIX}/bin/python3 "
                           f"-m jupyterhub --show-config --config {HUB_CONFIG}", cwd="/tmp").stdout
    assert "jupyterhub_config_set_by_simplest_plugin" in output


def test_tljh_config_post_install(container):
    """Port of test_simplest_plugin.py::test_tljh_config_post_install: the hook has made
    Hubstead keep additional config (a section its schema does not know goes to
    plugin-config.yaml, so config.yaml stays valid)."""
    tljh_config = yaml.load(container.read_file(PLUGIN_CONFIG_FILE))
    assert tljh_config["Test"]["tljh_config_set_by_simplest_plugin"]
    container.run(["hubstead", "config", "show"])  # config.yaml is still valid


def test_tljh_post_install(container):
    """Port of test_simplest_plugin.py::test_tljh_post_install: the hook ran (its file)."""
    content = container.read_file(f"{INSTALL_DIR}/test_tljh_post_install")
    assert "file_written_by_simplest_plugin" in content


def test_tljh_new_user_create(container):
    """Port of test_simplest_plugin.py::test_tljh_new_user_create: creating a user's unix
    account the way Hubstead does it (before the first spawn) runs the hook."""
    username = "user1"
    try:
        container.run([f"{HUB_ENV_PREFIX}/bin/python3", "-c",
                       f"from hubstead.users.unix import ensure_unix_user; ensure_unix_user({username!r})"],
                      cwd=INSTALL_DIR)
        content = container.read_file(f"{INSTALL_DIR}/test_new_user_create")
        assert "file_written_by_simplest_plugin" in content
        assert username in content
    finally:
        container.run(["userdel", "--remove", f"jupyter-{username}"], check=False)
