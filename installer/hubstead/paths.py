"""Where Hubstead keeps things on the machine (design.md, "The machine after install")."""

import os
import sys
from pathlib import Path

HUB_PREFIX = Path(os.environ.get("HUBSTEAD_HUB_PREFIX", "/opt/hubstead/hub"))
ENVS_DIR = Path(os.environ.get("HUBSTEAD_ENVS_DIR", "/opt/hubstead/envs"))
CONFIG_PATH = Path(os.environ.get("HUBSTEAD_CONFIG", "/etc/hubstead/config.yaml"))
DROPIN_DIR = Path("/etc/hubstead/jupyterhub_config.d")
STATE_DIR = Path(os.environ.get("HUBSTEAD_STATE_DIR", "/var/lib/hubstead"))
PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_ENV_LOCK = PACKAGE_DIR / "envs" / "default" / "requirements.txt"


def roles_dir():
    """The Ansible roles: installed beside the venv, or the checkout's roles/."""
    installed = Path(sys.prefix) / "share" / "hubstead" / "roles"
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent.parent / "roles"

# The environment a site behind a proxy, or with its own CA, needs to reach PyPI and
# git hosts; passed on to processes that systemd or the hub start with a clean one.
NETWORK_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                     "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL",
                     "UV_INDEX_URL", "UV_DEFAULT_INDEX", "NODE_EXTRA_CA_CERTS", "NPM_CONFIG_REGISTRY")


def network_environment(*also):
    """The NETWORK_VARIABLES (and the names in `also`) set in this process's environment."""
    return {name: os.environ[name] for name in (*NETWORK_VARIABLES, *also) if os.environ.get(name)}
