"""TLJH plugins (`hubstead install --plugin PKG`): TLJH's hook specs, honoured with pluggy.

A plugin is a pip requirement installed into the hub venv that registers modules under
the `tljh` entry-point group, as TLJH's plugins do; its hooks are called where TLJH
calls them: the apt, hub-pip and user-pip packages and `tljh_post_install` after the
machine is configured, `tljh_config_post_install` on the config before it is applied,
`tljh_custom_jupyterhub_config` when the hub loads its config, `tljh_new_user_create`
when a user's unix account is made.

The default user environment is PyPI-only, so `tljh_extra_user_conda_packages` (and its
channels) are not installed: the installer says so in one line naming the Hubstead way
(a conda environment of its own, `hubstead env create NAME --file environment.yml`).
"""

import itertools
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import pluggy

from .errors import HubsteadError

PROJECT = "tljh"  # TLJH's marker name: plugins written for TLJH work unchanged
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
log = logging.getLogger("hubstead.plugins")


class PluginError(HubsteadError):
    """A plugin could not be installed or one of its hooks failed."""


class TljhHookSpecs:
    """TLJH's hook specifications (tljh/hooks.py), same names and arguments."""

    @hookspec
    def tljh_extra_user_conda_packages(self):
        """Conda packages for the user environment (not installed: PyPI-only default)."""

    @hookspec
    def tljh_extra_user_conda_channels(self):
        """Conda channels for those packages."""

    @hookspec
    def tljh_extra_user_pip_packages(self):
        """PyPI requirements added to the default user environment."""

    @hookspec
    def tljh_extra_hub_pip_packages(self):
        """PyPI requirements installed into the hub venv."""

    @hookspec
    def tljh_extra_apt_packages(self):
        """Debian packages installed on the machine, before the pip packages."""

    @hookspec
    def tljh_custom_jupyterhub_config(self, c):
        """Traitlets config for JupyterHub, as in a jupyterhub_config.py."""

    @hookspec
    def tljh_config_post_install(self, config):
        """Change the config (a dict) in place before it is applied."""

    @hookspec
    def tljh_post_install(self):
        """Run after the install and after every other hook."""

    @hookspec
    def tljh_new_user_create(self, username):
        """Run after a user's unix account was made."""


def manager():
    """A plugin manager with TLJH's specs and every plugin installed in this venv."""
    import importlib

    importlib.invalidate_caches()  # plugins installed by this process count at once
    plugins = pluggy.PluginManager(PROJECT)
    plugins.add_hookspecs(TljhHookSpecs)
    plugins.load_setuptools_entrypoints(PROJECT)
    return plugins


def names(plugins):
    return sorted(name for name, _ in plugins.list_name_plugin())


def collected(results):
    """The hook's lists from every plugin, flattened, without repeats, in order."""
    return list(dict.fromkeys(itertools.chain.from_iterable(result or [] for result in results)))


def _frozen_constraints(python, scratch):
    """What the venv holds now, as constraints: a plugin cannot change the hub's packages."""
    result = subprocess.run([_uv(), "pip", "freeze", "--python", python], capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if "==" in line and not line.startswith("hubstead==")]
    path = Path(scratch, "hub-constraints.txt")
    path.write_text("\n".join(lines) + "\n")
    return path


def _uv():
    candidate = Path(sys.executable).parent / "uv"
    return str(candidate) if candidate.exists() else "uv"


def install_into_hub(requirements, what, python=sys.executable):
    """pip-install requirements into the hub venv, leaving the hub's own versions as they are."""
    if not requirements:
        return
    from .envs.pypi import uv_environment, uv_reason

    with tempfile.TemporaryDirectory(prefix="hubstead-plugins-") as scratch:
        constraints = _frozen_constraints(python, scratch)
        result = subprocess.run([_uv(), "pip", "install", "--quiet", "--python", python, "--constraint",
                                 str(constraints), *requirements], env=uv_environment(),
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise PluginError(f"installing {what} {' '.join(requirements)} into the hub failed: "
                          f"{uv_reason(result.stderr)}")


def conda_notice(plugins):
    """One line for the conda packages a plugin asked for, or None."""
    packages = collected(plugins.hook.tljh_extra_user_conda_packages())
    if not packages:
        return None
    return (f"not installed: conda packages {', '.join(packages)} from tljh_extra_user_conda_packages "
            "(the default environment is PyPI-only); give them a conda environment: "
            "`hubstead env create NAME --file environment.yml`.")


def apply_config_hook(plugins, config):
    """tljh_config_post_install on a copy of the config; returns the changed copy."""
    import copy

    changed = copy.deepcopy(config)
    plugins.hook.tljh_config_post_install(config=changed)
    return changed


def install_apt_packages(packages):
    if not packages:
        return
    result = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                            capture_output=True, text=True, env={"DEBIAN_FRONTEND": "noninteractive",
                                                                 "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        result = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                                capture_output=True, text=True)
    if result.returncode != 0:
        tail = " ".join(result.stderr.strip().splitlines()[-2:])
        raise PluginError(f"apt-get install {' '.join(packages)} (tljh_extra_apt_packages) failed: {tail}")


def custom_jupyterhub_config(c):
    """Called by the hub's config (hubconfig.configure): each plugin's traitlets config."""
    plugins = manager()
    if names(plugins):
        plugins.hook.tljh_custom_jupyterhub_config(c=c)


def new_user_created(username):
    """Called once a user's unix account exists; a failing plugin is logged, not fatal."""
    try:
        plugins = manager()
        if names(plugins):
            plugins.hook.tljh_new_user_create(username=username)
    except Exception:  # a plugin's bug must not stop a learner's spawn
        log.exception("a plugin's tljh_new_user_create failed for %s", username)
