"""`--images DIR`: one container build context per environment, DIR/NAME/Dockerfile
beside the environment's lock, so `docker build DIR/NAME` reproduces it for the chart.

PyPI environments install their hashed lock with pip (--require-hashes); conda ones
their conda-lock.yml with micromamba, then the pip part's lock. The lock already holds
the single-user server (jupyterhub, jupyterlab) at this hub's version; where it does not,
jupyterhub is added at the chart's version.
"""

import re
import shutil
from pathlib import Path

from ..envs import store
from . import ExportError

CHART_HUB_VERSION = "5.5.0"  # the chart's appVersion (../shared/data/z2jh, validated in tests)
JUPYTERHUB_PIN = re.compile(r"^jupyterhub==([0-9][^\s\\;]*)", re.MULTILINE)
NB_UID = 1000  # the chart's singleuser.uid

PYPI = """\
# Environment {name} ({build}), from its hashed lock: exactly these packages.
FROM docker.io/library/python:{python}-slim-bookworm
RUN useradd --create-home --uid {uid} --gid 100 jovyan
COPY {lock} /opt/hubstead/{lock}
RUN python -m venv /opt/env \\
 && /opt/env/bin/pip install --no-cache-dir --require-hashes -r /opt/hubstead/{lock}{server}
ENV PATH=/opt/env/bin:$PATH
USER {uid}
WORKDIR /home/jovyan
CMD ["jupyterhub-singleuser"]
"""

CONDA = """\
# Environment {name} ({build}), from its conda lock (and its pip part's hashed lock).
FROM docker.io/mambaorg/micromamba:2-bookworm-slim
USER root
RUN usermod --uid {uid} --gid 100 $MAMBA_USER || true
COPY conda-lock.yml {pip_copy}/opt/hubstead/
RUN micromamba create --yes --prefix /opt/env --file /opt/hubstead/conda-lock.yml \\
 && micromamba clean --all --yes{pip}{server}
ENV PATH=/opt/env/bin:$PATH
USER {uid}
WORKDIR /home/jovyan
CMD ["jupyterhub-singleuser"]
"""


def python_of(build_dir):
    """The Python version (3.11) a PyPI build was made with (its pyvenv.cfg)."""
    config = Path(build_dir) / "pyvenv.cfg"
    found = re.search(r"^version(?:_info)?\s*=\s*(\d+\.\d+)", config.read_text() if config.exists() else "",
                      re.MULTILINE)
    return found.group(1) if found else "3.11"


def _server_line(locks_text, pip):
    """An install of jupyterhub at the chart's version when no lock pins it."""
    pinned = JUPYTERHUB_PIN.search(locks_text)
    if pinned:
        if pinned.group(1).split(".")[:2] != CHART_HUB_VERSION.split(".")[:2]:
            raise ExportError(f"the environment pins jupyterhub {pinned.group(1)}, but the chart's hub is "
                              f"{CHART_HUB_VERSION}; rebuild it for a {CHART_HUB_VERSION.rsplit('.', 1)[0]} hub.")
        return ""
    return f" \\\n && {pip} install --no-cache-dir jupyterhub=={CHART_HUB_VERSION}"


def write_context(directory, environment):
    """DIRECTORY/NAME: the Dockerfile and the lock(s) of ENVIRONMENT's current build."""
    name, build = environment["name"], environment["build"]
    build_dir = store.env_dir(name) / build
    target = Path(directory) / name
    target.mkdir(parents=True, exist_ok=True)
    if environment["kind"] == "pypi":
        lock = build_dir / "requirements.lock.txt"
        if not lock.is_file():
            raise ExportError(f"environment {name} keeps no lock ({lock}); rebuild it with `hubstead env update`.")
        shutil.copyfile(lock, target / lock.name)
        text = PYPI.format(name=name, build=build, python=python_of(build_dir), uid=NB_UID, lock=lock.name,
                           server=_server_line(lock.read_text(), "/opt/env/bin/pip"))
    elif environment["kind"] == "conda":
        conda_lock, pip_lock = build_dir / "conda-lock.yml", build_dir / "requirements.lock.txt"
        if not conda_lock.is_file():
            raise ExportError(f"environment {name} keeps no conda-lock.yml; rebuild it with `hubstead env update`.")
        shutil.copyfile(conda_lock, target / conda_lock.name)
        pip = ""
        if pip_lock.is_file():
            shutil.copyfile(pip_lock, target / pip_lock.name)
            pip = (" \\\n && /opt/env/bin/python -m pip install --no-cache-dir --require-hashes "
                   "-r /opt/hubstead/requirements.lock.txt")
        locks_text = conda_lock.read_text() + (pip_lock.read_text() if pip_lock.is_file() else "")
        text = CONDA.format(name=name, build=build, uid=NB_UID, pip_copy="requirements.lock.txt " if pip else "",
                            pip=pip, server=_server_line(_conda_pins(locks_text), "/opt/env/bin/python -m pip"))
    else:
        raise ExportError(f"environment {name} is of kind {environment['kind']!r}, which has no lock to build "
                          "an image from.")
    (target / "Dockerfile").write_text(text)
    return target


def _conda_pins(text):
    """A conda lock's jupyterhub entry, as a pin line _server_line reads."""
    found = re.search(r"name:\s*jupyterhub\s*\n\s*version:\s*['\"]?([0-9][^'\"\s]*)", text)
    pip_pin = JUPYTERHUB_PIN.search(text)
    if pip_pin:
        return pip_pin.group(0)
    return f"jupyterhub=={found.group(1)}" if found else ""
