"""Limits the config may not hold, and limit changes refused when they are made.

`config_problem` is part of validate(): it judges the values alone. `change_problem`
judges a change against this machine and hub (a group that does not exist, a GPU or
disk quota the machine cannot give); it runs when the config is saved, for the limits
that changed only, so a hub still starts after a group or a GPU goes away.
"""

from .gpus import GPUError, gpu_problem, parse_gpus
from .sizes import format_size, parse_size

# Below this a Jupyter server does not start (its Python alone needs about 100M).
MIN_MEMORY = 128 * 1024 ** 2


def config_problem(settings):
    """The first limits.* value that cannot work, as one line, or None."""
    limits = settings["limits"]
    places = [("limits", limits)] + [(f"limits.groups.{name}", values or {})
                                     for name, values in (limits.get("groups") or {}).items()]
    for where, values in places:
        memory = values.get("memory")
        if memory and parse_size(memory) < MIN_MEMORY:
            return (f"{where}.memory: {memory} is too little for a server to start; "
                    f"give at least {format_size(MIN_MEMORY)}")
        if values.get("gpus") is not None:
            try:
                parse_gpus(values["gpus"])
            except GPUError as error:
                return f"{where}.{error}"
    guarantee, memory = limits.get("memory_guarantee"), limits.get("memory")
    if guarantee and memory and parse_size(guarantee) > parse_size(memory):
        return f"limits.memory_guarantee: {guarantee} is more than limits.memory ({memory})"
    return None


def changed_limits(old_limits, new_limits):
    """[(dotted key, new value)] of every limit set to a new value (not unset)."""
    changed = []
    for key in ("disk",):
        if new_limits.get(key) is not None and new_limits.get(key) != old_limits.get(key):
            changed.append((f"limits.{key}", new_limits[key]))
    old_groups = old_limits.get("groups") or {}
    for name, values in (new_limits.get("groups") or {}).items():
        for key, value in (values or {}).items():
            if value is not None and value != (old_groups.get(name) or {}).get(key):
                changed.append((f"limits.groups.{name}.{key}", value))
    return changed


def change_problem(old_settings, new_settings, group_exists, quota_refusal, dev=None):
    """Why the limits changed from old to new cannot be set here, or None.

    group_exists(name) asks the hub; quota_refusal() says why this machine cannot
    keep disk quotas (None when it can)."""
    from . import gpus

    for key, value in changed_limits(old_settings["limits"], new_settings["limits"]):
        parts = key.split(".")
        if len(parts) == 4 and not group_exists(parts[2]):
            return (f"{key}: there is no group {parts[2]!r}; create it first "
                    f"(`hubstead group add {parts[2]}`)")
        if parts[-1] == "gpus":
            problem = gpu_problem(value, dev or gpus.DEV)
            if problem:
                return f"{'.'.join(parts[:-1])}.{problem}"
        if parts[-1] == "disk":
            refusal = quota_refusal()
            if refusal:
                return f"{key}: {refusal}"
    return None
