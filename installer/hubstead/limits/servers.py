"""The limits part of a server's start (hubstead.hub.spawner calls these).

Per start, so a change of groups or config counts from the user's next server on.
"""

import asyncio

from tornado import web

from . import effective_limits
from .units import spawner_limits, unit_properties

FULL = "the hub is full: {count} servers running; try again later or ask your instructor"


def user_groups(spawner):
    return [group.name for group in spawner.user.groups]


def apply_to(spawner):
    """Set the spawner's memory and CPU limits for this user; return the other unit
    properties their limits make (TasksMax=, MemoryLow=, GPUs)."""
    if not hasattr(spawner, "_site_limits"):
        spawner._site_limits = (spawner.mem_limit, spawner.cpu_limit)
    if not spawner.limits:
        return {}
    from .quota import user_quotas

    # tasks_max: a site's drop-in may set HubsteadSpawner.tasks_max over limits.tasks.
    found = effective_limits({**spawner.limits, "tasks": spawner.tasks_max}, user_groups(spawner),
                             user_quotas().get(spawner.user.name))
    memory, cpu = spawner_limits(found)
    site_memory, site_cpu = spawner._site_limits
    spawner.mem_limit = memory if memory is not None else site_memory
    spawner.cpu_limit = cpu if cpu is not None else site_cpu
    spawner.effective_limits = found
    return unit_properties(found)


def running_servers(spawner):
    """Servers running or starting, besides this one (JupyterHub's own count of active ones)."""
    users = spawner.user.settings.get("users") or {}
    return sum(1 for user in list(users.values()) for other in user.spawners.values()
               if other is not spawner and other.active)


def refuse_when_full(spawner):
    """A 429 the learner's page and the API show, when limits.max_servers run already."""
    cap = (spawner.limits or {}).get("max_servers")
    if not cap:
        return
    count = running_servers(spawner)
    if count >= cap:
        refusal = web.HTTPError(429, FULL.format(count=count))
        # The hub's error page shows this one, not its generic "failed to start" reason.
        refusal.jupyterhub_message = refusal.log_message
        raise refusal


async def apply_disk_quota(spawner):
    """Set this user's disk quota as root before their server runs, where the
    filesystem keeps quotas and any disk limit is configured."""
    from . import quota

    found = getattr(spawner, "effective_limits", None)
    if found is None or (found["disk"].value is None and not _any_disk(spawner.limits)):
        return
    support = await asyncio.to_thread(quota.support)
    if support.refusal:
        spawner.log.warning("no disk quota for %s: %s", spawner.user.name, support.refusal)
        return
    disk = found["disk"].value  # None: no quota (any earlier one is lifted)
    account = spawner._expand_user_vars(spawner.username_template)
    await asyncio.to_thread(quota.apply, support, {account: disk})


def _any_disk(limits):
    groups = (limits or {}).get("groups") or {}
    return bool((limits or {}).get("disk") or any((values or {}).get("disk") for values in groups.values()))
