"""The systemd hardening of a user's server unit (jupyter-NAME-singleuser).

Every server gets its own /tmp, /var/tmp, /dev/shm and SysV/POSIX IPC, so no two users
(nor a user and a Binder build) share a scratch space, and a cap on its tasks.

Learners get the full hardening that fits a notebook server: the system read-only
except their home (and folders a site makes writable), no kernel tunables,
modules, logs or cgroups, no devices, no setuid/setgid files and no new privileges.

Admins keep sudo (design.md: "Admins get sudo, in their servers too"): sudo needs new
privileges, and systemd implies NoNewPrivileges= for a unit with User= whenever one of
its seccomp-based settings is on (PrivateDevices, ProtectKernel*, RestrictSUIDSGID,
ProtectClock, ...). What sudo gives them, root, could undo the rest anyway, and it must
be able to write /usr and /opt to install packages for everyone.
"""

# Mode and options of the host's /dev/shm. PrivateDevices= alone still bind-mounts the
# host's /dev/shm into the unit, so it gets a tmpfs of its own.
PRIVATE_SHM = "/dev/shm:mode=1777,nosuid,nodev"
DEFAULT_TASKS_MAX = 2048
# Every server's unit runs in this slice (the role hubstead_hub writes it). As one group
# the class weighs against the hub and the proxy, not each server against them, so a
# room starting servers at once cannot starve the hub of CPU (docs/sizing.md). A dash
# nests a slice in another: "system-" puts it in system.slice beside the hub's unit.
SERVERS_SLICE = "system-hubstead.slice"

# Every server: private scratch spaces and IPC (PrivateIPC= also gives /dev/mqueue).
ISOLATION = {
    "PrivateTmp": "yes",
    "TemporaryFileSystem": PRIVATE_SHM,
    "PrivateIPC": "yes",
}

LEARNER_HARDENING = {
    "ProtectSystem": "strict",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictSUIDSGID": "yes",
    "RestrictRealtime": "yes",
    "LockPersonality": "yes",
    "PrivateDevices": "yes",
    # Other users' processes (their servers, the hub, builds) are not even listed.
    "ProtectProc": "invisible",
    # Said again: with ProtectKernelTunables=, ProtectControlGroups= or ProtectProc=,
    # systemd 252 leaves /run writable under ProtectSystem=strict (/run/lock is 1777).
    # The unit's own RuntimeDirectory stays writable.
    "ReadOnlyPaths": "/run",
    "NoNewPrivileges": "yes",
}


def server_unit_properties(*, admin, home, tasks_max=DEFAULT_TASKS_MAX):
    """systemd-run properties for the server of a user whose home is `home`. A site
    makes shared folders writable with SystemdSpawner.readwrite_paths (a drop-in)."""
    properties = {**ISOLATION, "TasksMax": str(int(tasks_max))}
    if admin:
        # Stated, not left out: they override SystemdSpawner's isolate_devices and
        # disable_user_sudo, either of which makes sudo fail.
        properties.update(PrivateDevices="no", NoNewPrivileges="no")
        return properties
    properties.update(LEARNER_HARDENING)
    properties["ReadWritePaths"] = str(home)
    return properties
