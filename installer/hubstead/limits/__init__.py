"""A user's effective resource limits and where each comes from.

`limits.*` in the config sets global values; `limits.groups.NAME.*` sets a hub group's,
which replace the global value for its members. A user in several groups gets the
largest of each; `hubstead quota set` gives one user their own disk quota, which wins
over both. The spawner applies the result at every start (hubstead.limits.units), the
CLI shows it (`hubstead quota show`).

- sizes: 4G <-> bytes. gpus: the NVIDIA device nodes a GPU request allows.
- checks: values refused by validate() and changes refused at set time.
- quota: the filesystem's disk quotas (support, usage, one batch to apply them).
"""

from dataclasses import dataclass

from .sizes import parse_size

GROUP_KEYS = ("memory", "cpu", "disk", "gpus")
GLOBAL_ONLY = ("tasks", "memory_guarantee")
USER_SOURCE = "user (hubstead quota set)"


@dataclass(frozen=True)
class Limit:
    """One effective limit: its value (None: no limit) and where it comes from."""

    value: object
    source: str

    def as_dict(self):
        return {"value": self.value, "source": self.source}


def rank(key, value):
    """How large a limit value is, to pick the largest of several groups'."""
    if key in ("memory", "disk"):
        return parse_size(value)
    if key == "gpus":
        from .gpus import parse_gpus

        wanted = parse_gpus(value)
        return float("inf") if wanted == "all" else (wanted if isinstance(wanted, int) else len(wanted))
    return float(value)


def effective_limits(limits, groups, user_disk=None):
    """{key: Limit} for a user in hub groups `groups`, from the config's limits section
    (defaults filled in); user_disk: their own quota from `hubstead quota set`, if any."""
    per_group = limits.get("groups") or {}
    found = {}
    for key in GROUP_KEYS:
        candidates = [(per_group[name][key], name) for name in sorted(groups)
                      if (per_group.get(name) or {}).get(key) is not None]
        if key == "disk" and user_disk is not None:
            found[key] = Limit(user_disk, USER_SOURCE)
        elif candidates:
            value, name = max(candidates, key=lambda item: rank(key, item[0]))
            found[key] = Limit(value, f"group {name}")
        else:
            found[key] = Limit(limits.get(key), "global")
    for key in GLOBAL_ONLY:
        found[key] = Limit(limits.get(key), "global")
    return found
