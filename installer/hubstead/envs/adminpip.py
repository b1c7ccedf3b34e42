"""`sudo -E pip install X` for everyone, as TLJH's docs teach, the Hubstead way.

In TLJH an admin's `sudo -E pip install X` writes into the one shared user environment.
Here environments are locked builds, so the same command makes a NEW build of the default
environment: the current build's exact versions, X added (or, with --upgrade, X and what
it needs let free), locked with hashes, installed beside the serving build and switched
to atomically. Running servers keep the build they started from; new and restarted
servers get X. The installer's --plugin and --user-requirements-txt-url add packages the
same way.

    python -m hubstead.envs.adminpip install [-U] [-r FILE] REQUIREMENT...
    python -m hubstead.envs.adminpip uninstall [-y] NAME...

The hub role puts a `pip`/`pip3` running this first on sudo's path for hub admins, so
only `sudo pip` comes here; a user's own `pip` is the environment's.
"""

import os
import re
import sys
import tempfile
from pathlib import Path

from .. import config as hubstead_config
from . import EnvError, server, store

# Options pip takes that change nothing here (output, prompts, caches).
HARMLESS_FLAGS = {"-q", "--quiet", "-v", "--verbose", "--no-cache-dir", "--no-input", "-y", "--yes",
                  "--disable-pip-version-check", "--no-warn-script-location", "--progress-bar=off"}
READ_ONLY = {"list", "show", "freeze", "check", "help", "inspect", "--version", "-V", "debug"}


def normalised(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_pins(lock_text):
    """{name: 'name==version[ ; marker]'} of a hashed uv lock."""
    pins = {}
    for line in lock_text.splitlines():
        if not line or line[0] in " #-\t":
            continue
        requirement = line.rstrip("\\").strip()
        name = re.split(r"[=<>!~; \[]", requirement, maxsplit=1)[0]
        if "==" in requirement and name:
            pins[normalised(name)] = requirement
    return pins


def parse_requirements(lines):
    from packaging.requirements import InvalidRequirement, Requirement

    found = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise EnvError(f"{line!r}: only package requirements (NAME, NAME==VERSION, NAME>=...) can be "
                           "added to an environment; use `hubstead env update NAME --file` for others.")
        try:
            found.append(Requirement(line))
        except InvalidRequirement as error:
            raise EnvError(f"{line!r} is not a requirement pip understands: {error}") from None
    return found


def _locked_version(pin):
    return pin.split("==", 1)[1].split(";", 1)[0].strip()


def new_spec(lock_text, requirements, upgrade=False, removed=()):
    """The spec of the next build, or None when every requirement is met already."""
    pins = locked_pins(lock_text)
    wanted = {normalised(requirement.name): requirement for requirement in requirements}
    if not removed and not upgrade and all(
            name in pins and requirement.specifier.contains(_locked_version(pins[name]), prereleases=True)
            for name, requirement in wanted.items()):
        return None
    kept = [pin for name, pin in pins.items() if name not in wanted and name not in removed]
    return "\n".join([*kept, *(str(requirement) for requirement in wanted.values())]) + "\n"


def current_lock(name):
    from . import manage

    return manage.export(name)


def add(name, requirements, upgrade=False, progress=None):
    """Build NAME again with requirements added; return the new build's id, or None."""
    from . import manage

    spec = new_spec(current_lock(name), requirements, upgrade)
    if spec is None:
        return None
    return _build(manage, name, spec, progress)


def remove(name, package_names, progress=None):
    from . import manage

    wanted = [normalised(package) for package in package_names]
    refused = [package for package in wanted if package in server.SERVER_PACKAGES]
    if refused:
        raise EnvError(f"{', '.join(refused)}: every environment needs it to run a server; nothing was changed.")
    pins = locked_pins(current_lock(name))
    missing = [package for package in wanted if package not in pins]
    if missing:
        raise EnvError(f"{', '.join(missing)} is not in environment {name!r}; nothing was changed.")
    return _build(manage, name, new_spec(current_lock(name), [], removed=set(wanted)), progress)


def _build(manage, name, spec, progress):
    with tempfile.TemporaryDirectory(prefix="hubstead-adminpip-") as scratch:
        spec_path = Path(scratch, "requirements.txt")
        spec_path.write_text(spec)
        return manage.update(name, spec_path, progress=progress)


def default_env():
    return hubstead_config.current()["user_environment"]["default_env"]


def _options(arguments):
    """(upgrade, requirement lines, names) of pip's install/uninstall arguments."""
    upgrade, lines, index = False, [], 0
    while index < len(arguments):
        argument = arguments[index]
        if argument in ("-U", "--upgrade"):
            upgrade = True
        elif argument in ("-r", "--requirement"):
            if index + 1 == len(arguments):
                raise EnvError(f"{argument} needs a file name.")
            index += 1
            lines += _read(arguments[index])
        elif argument.startswith("--requirement="):
            lines += _read(argument.split("=", 1)[1])
        elif argument == "--user":
            raise EnvError("sudo pip installs for everyone; for yourself alone, "
                           "run `pip install --user X` without sudo.")
        elif argument in HARMLESS_FLAGS:
            pass
        elif argument.startswith("-"):
            raise EnvError(f"pip option {argument} is not supported by `sudo pip` on Hubstead "
                           "(it builds the default environment again); nothing was changed.")
        else:
            lines.append(argument)
        index += 1
    return upgrade, lines


def _read(path):
    try:
        return Path(path).read_text().splitlines()
    except OSError as error:
        raise EnvError(f"cannot read {path}: {error.strerror}.") from None


def _say(message):
    print(message, flush=True)


def main(argv=None):
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = next((argument for argument in arguments if not argument.startswith("-")), None)
    try:
        name = default_env()
        if command in READ_ONLY or (command is None and arguments and set(arguments) <= READ_ONLY):
            python = store.build_prefix(name) / "bin" / "python"
            os.execv(str(python), [str(python), "-m", "pip", *arguments])
        if os.geteuid() != 0:
            raise EnvError("this pip changes the environment for everyone: run it as `sudo -E pip ...`.")
        if command not in ("install", "uninstall"):
            raise EnvError(f"`sudo pip {command or ''}` is not supported on Hubstead: use install, uninstall, "
                           "list, show or freeze (or `hubstead env` for more).")
        rest = list(arguments)
        rest.remove(command)
        upgrade, lines = _options(rest)
        if not lines:
            raise EnvError(f"pip {command}: name at least one package.")
        if command == "install":
            requirements = parse_requirements(lines)
            listed = " ".join(str(requirement) for requirement in requirements)
            _say(f"Installing {listed} for everyone: a new locked build of environment {name!r}.")
            build = add(name, requirements, upgrade, progress=lambda step: _say(f"  {step}"))
            if build is None:
                _say(f"Already in environment {name!r}: {listed}; nothing was changed.")
                return 0
        else:
            _say(f"Removing {' '.join(lines)} for everyone: a new locked build of environment {name!r}.")
            build = remove(name, lines, progress=lambda step: _say(f"  {step}"))
        _say(f"Environment {name!r} now serves build {build}. New and restarted servers get it; running "
             "servers (yours too) keep their build until restarted. Undo: "
             f"`sudo hubstead env rollback {name}`.")
        return 0
    except EnvError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
