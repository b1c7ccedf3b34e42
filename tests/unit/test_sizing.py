"""`hubstead status` warns when the memory limits times the servers that may run at once
exceed the machine's memory (hubstead.sizing)."""

import pytest

from hubstead import config, sizing, status

from .test_status_logs import USERS, DiskUsage, StubHub, stub_show

GIB = 2**30


@pytest.mark.parametrize("text, expected", [("512M", 512 * 2**20), ("1G", GIB), ("1.5G", 3 * GIB // 2),
                                            ("2048", 2048), ("1T", 2**40), ("64K", 65536)])
def test_memory_sizes_are_read_as_systemd_reads_them(text, expected):
    assert sizing.size_bytes(text) == expected


def test_more_users_at_their_limit_than_memory_is_a_warning_naming_the_numbers():
    line = sizing.memory_problem({"memory": "2G", "max_servers": None}, 40, memory=16 * GIB)
    assert "limits.memory 2G x 40 users" in line
    assert "80.0 GiB" in line and "16.0 GiB" in line and "about 8 servers fit" in line


def test_max_servers_bounds_who_may_run_at_once():
    limits = {"memory": "2G", "max_servers": 6}
    assert sizing.memory_problem(limits, 40, memory=16 * GIB) is None
    limits["max_servers"] = 9
    assert "limits.max_servers" in sizing.memory_problem(limits, 40, memory=16 * GIB)


@pytest.mark.parametrize("limits", [{"memory": None}, {"memory": "1G"}])
def test_no_limit_or_a_fitting_one_says_nothing(limits):
    assert sizing.memory_problem(limits, 10, memory=16 * GIB) is None


def test_status_lists_the_warning_among_its_problems(tmp_path):
    running = {"LoadState": "loaded", "ActiveState": "active"}
    report = status.collect_status(
        config.effective({"limits": {"memory": "8G"}}), hub=StubHub(USERS), hub_db=tmp_path / "none.sqlite",
        show=stub_show({"jupyterhub.service": running, "configurable-http-proxy.service": running}),
        url_for=lambda settings: "http://hub.example", disk_paths=[str(tmp_path)],
        disk_usage=lambda path: DiskUsage(total=100 * GIB, used=GIB, free=99 * GIB),
        versions=dict, memory=16 * GIB)
    assert report["healthy"] is True, "a warning, not a failure"
    assert [line for line in report["problems"] if line.startswith("memory:")] == [
        "memory: limits.memory 8G x 4 users who may run at once = 32.0 GiB, more than this machine's "
        "16.0 GiB; about 2 servers fit at their limit (set limits.max_servers, lower limits.memory, "
        "or see docs/sizing.md)"]
