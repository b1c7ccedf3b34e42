"""The packages every environment needs to run a user's server, and pin checks.

A spec that pins them incompatibly (another jupyterhub minor version than the
hub's, JupyterLab 3) is refused before anything is downloaded.
"""

import re

from . import EnvError

# jupyterhub-singleuser must speak the hub's own version (same major.minor).
HUB_VERSION = "5.5.4"
SERVER_PACKAGES = {
    "jupyterhub": f"jupyterhub=={HUB_VERSION}",
    "jupyterlab": "jupyterlab>=4.4,<5",
    "ipykernel": "ipykernel>=6.29",
    "nbgitpuller": "nbgitpuller>=1.2",
    # As in repo2docker's images and TLJH's environment: the classic interface
    # (default_app classic, /tree links) and pip (`%pip install`, `pip install --user`).
    "notebook": "notebook>=7,<8",
    "pip": "pip",
}
# JupyterLab versions the hub's pages and extensions work with.
LAB_RANGE = ">=4,<5"
LAB_PROBES = ("4.0.0", "4.2.0", "4.4.0", "4.5.0", "4.6.0", "4.9.99")


def requirement_names(lines):
    """{normalised name: requirement text} for the requirement lines of a spec."""
    from packaging.requirements import InvalidRequirement, Requirement

    found = {}
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue  # URLs and editable paths: uv judges those
        found[re.sub(r"[-_.]+", "-", requirement.name).lower()] = requirement
    return found


def check_pins(requirements):
    """Raise EnvError when the spec pins a server package to a version that cannot work."""
    from packaging.specifiers import SpecifierSet

    hub = requirements.get("jupyterhub")
    if hub is not None and not hub.specifier.contains(HUB_VERSION, prereleases=True):
        raise EnvError(f"the spec pins {hub}, but environments of this hub need jupyterhub {HUB_VERSION} "
                       f"(the hub's own version); remove the pin.")
    lab = requirements.get("jupyterlab")
    if lab is not None and str(lab.specifier):
        allowed = SpecifierSet(LAB_RANGE)
        named = [spec.version.replace(".*", ".0") for spec in lab.specifier]
        if not any(version in lab.specifier and version in allowed for version in (*named, *LAB_PROBES)):
            raise EnvError(f"the spec pins {lab}, but this hub needs jupyterlab{LAB_RANGE}; change the pin.")


def missing_server_requirements(requirements):
    """Requirement lines to add so the environment can run a server."""
    return [line for name, line in SERVER_PACKAGES.items() if name not in requirements]
