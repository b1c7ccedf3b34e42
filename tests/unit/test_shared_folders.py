"""The pure parts of hubstead.shared_folders: unix group names, what a unit gets."""

from hubstead import shared_folders
from hubstead.shared_folders import ServerFolders, unix_group


def test_unix_group_names_fit_groupadd_and_stay_distinct():
    assert unix_group("geo") == "hubstead-g-geo"
    long_a, long_b = "a" * 40 + "x", "a" * 40 + "y"
    assert len(unix_group(long_a)) == 32 and len(unix_group(long_b)) == 32
    assert unix_group(long_a) != unix_group(long_b)


def test_learners_unit_may_write_their_folders_only():
    folders = ServerFolders(course="/srv/hubstead/course", groups=["geo"],
                            writable=["/srv/hubstead/groups/geo"])
    learner = folders.unit_properties({"ReadWritePaths": "/home/jupyter-ann", "ProtectSystem": "strict"})
    assert learner["ReadWritePaths"] == "/home/jupyter-ann -/srv/hubstead/groups/geo"
    assert learner["UMask"] == "0002"
    # An admin's unit is not read-only, so nothing is added to it.
    assert "ReadWritePaths" not in folders.unit_properties({"NoNewPrivileges": "no"})


def test_server_command_makes_the_links_first():
    folders = ServerFolders(course="/srv/hubstead/course", groups=["geo", "bio"])
    assert folders.command(["jupyterhub-singleuser"]) == [
        "/bin/sh", str(shared_folders.LINKS_SCRIPT), "/srv/hubstead/course", "/srv/hubstead/groups",
        "geo", "bio", "--", "jupyterhub-singleuser"]
