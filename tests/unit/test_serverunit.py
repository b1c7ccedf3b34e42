"""The systemd properties of users' servers: full hardening for learners, sudo for admins.

What the units really get from the hub, and what that does inside them, is
tests/e2e/test_server_isolation.py's (the test venv has no JupyterHub or SystemdSpawner).
"""

from hubstead.hub import serverunit

# systemd implies NoNewPrivileges= for a unit with User= when any of these is on; sudo
# then fails ("no new privileges flag is set").
IMPLY_NO_NEW_PRIVILEGES = ("PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                           "ProtectClock", "RestrictSUIDSGID", "RestrictRealtime", "LockPersonality",
                           "SystemCallFilter", "RestrictNamespaces", "MemoryDenyWriteExecute")


def test_a_learner_gets_the_full_hardening_and_only_home_writable():
    props = serverunit.server_unit_properties(admin=False, home="/home/jupyter-ann")
    for name in ("ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
                 "RestrictSUIDSGID", "PrivateTmp", "PrivateDevices", "PrivateIPC", "NoNewPrivileges"):
        assert props[name] == "yes", name
    assert props["ProtectSystem"] == "strict"
    assert props["ReadWritePaths"] == "/home/jupyter-ann"
    assert props["ReadOnlyPaths"] == "/run"
    assert props["TemporaryFileSystem"].startswith("/dev/shm:mode=1777")
    assert props["TasksMax"] == str(serverunit.DEFAULT_TASKS_MAX)


def test_an_admin_keeps_private_scratch_spaces_but_nothing_that_takes_sudo():
    props = serverunit.server_unit_properties(admin=True, home="/home/jupyter-root-ish", tasks_max=99)
    assert props["NoNewPrivileges"] == "no"
    assert [name for name in IMPLY_NO_NEW_PRIVILEGES if props.get(name, "no") != "no"] == []
    assert "ProtectSystem" not in props  # sudo installs packages into /usr and /opt
    assert props["PrivateTmp"] == props["PrivateIPC"] == "yes"
    assert props["TemporaryFileSystem"].startswith("/dev/shm:")
    assert props["TasksMax"] == "99"
