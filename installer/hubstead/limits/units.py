"""What a user's effective limits make of their server's unit.

Memory and CPU go through SystemdSpawner's own mem_limit / cpu_limit (MemoryMax=,
CPUQuota=); the rest are unit properties added here.
"""

from . import gpus
from .sizes import parse_size


def spawner_limits(effective):
    """(mem_limit in bytes or None, cpu_limit or None) for SystemdSpawner."""
    memory, cpu = effective["memory"].value, effective["cpu"].value
    return (parse_size(memory) if memory else None), (float(cpu) if cpu else None)


def unit_properties(effective, dev=gpus.DEV):
    """systemd-run properties for TasksMax=, MemoryLow= and a group's GPUs."""
    properties = {}
    if effective["tasks"].value:
        properties["TasksMax"] = str(int(effective["tasks"].value))
    if effective["memory_guarantee"].value:
        properties["MemoryLow"] = str(parse_size(effective["memory_guarantee"].value))
    allowed = gpus.device_allow(effective["gpus"].value, dev) if effective["gpus"].value else []
    if allowed:
        # The machine's /dev, closed but for these: PrivateDevices= would hide the GPUs.
        properties.update(PrivateDevices="no", DevicePolicy="closed", DeviceAllow=allowed)
    return properties
