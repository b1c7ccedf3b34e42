"""Whether the memory limits fit the machine: limits.memory times the servers that may
run at once (limits.max_servers when set, else every user) against the machine's RAM.

`hubstead status` lists the warning among its problems (docs/sizing.md explains the numbers).
"""

import os

UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def size_bytes(text):
    """Bytes of a limits.memory value ("512M", "1.5G", "1073741824")."""
    text = str(text).strip().upper()
    unit = text[-1:] if text[-1:] in UNITS and not text[-1:].isdigit() else ""
    return int(float(text[:len(text) - len(unit)]) * UNITS[unit])


def machine_memory():
    """The machine's RAM in bytes."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def memory_problem(limits, user_count, memory=None):
    """One line when limits.memory x the servers that may run at once exceeds the RAM, else None."""
    if not limits.get("memory"):
        return None
    most = limits.get("max_servers") or user_count
    if not most:
        return None
    per_server = size_bytes(limits["memory"])
    memory = memory or machine_memory()
    needed = per_server * most
    if needed <= memory:
        return None
    who = "limits.max_servers" if limits.get("max_servers") else "users"
    fits = memory // per_server
    return (f"memory: limits.memory {limits['memory']} x {most} {who} who may run at once = "
            f"{needed / 2**30:.1f} GiB, more than this machine's {memory / 2**30:.1f} GiB; about {fits} "
            f"servers fit at their limit (set limits.max_servers, lower limits.memory, or see docs/sizing.md)")
