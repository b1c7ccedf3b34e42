"""`pip install --user X` in a PyPI environment, as on any machine (and in TLJH's).

A venv made without system site-packages hides the user's ~/.local from Python and makes
pip refuse --user ("User site-packages are not visible in this virtualenv"). So the
venv says it includes them (pyvenv.cfg), which turns the user site on, and a
usercustomize module, which Python runs once the user site is on, takes the system
interpreter's dist-packages back out of sys.path: the environment still sees only its
own packages, and the user's.
"""

from pathlib import Path

USERCUSTOMIZE = '''\
# Written by Hubstead (hubstead.envs.usersite): this environment sees its own packages and
# the user's ~/.local ones, not the system interpreter's dist-packages.
import site as _site
import sys as _sys

_system = set(_site.getsitepackages([_sys.base_prefix]))
_sys.path[:] = [_entry for _entry in _sys.path if _entry not in _system]
'''


def enable(prefix):
    """Turn the user site on in the venv at PREFIX (before its packages are installed)."""
    prefix = Path(prefix)
    config = prefix / "pyvenv.cfg"
    lines = [("include-system-site-packages = true" if line.split("=")[0].strip() == "include-system-site-packages"
              else line) for line in config.read_text().splitlines()]
    config.write_text("\n".join(lines) + "\n")
    for site_packages in prefix.glob("lib/python3*/site-packages"):
        (site_packages / "usercustomize.py").write_text(USERCUSTOMIZE)
