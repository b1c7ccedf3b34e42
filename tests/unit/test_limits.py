"""A user's effective limits (groups over global, the largest of several groups, one
user's own disk quota), sizes, GPU requests, and the refusals of limits.* values."""

import pytest

from hubstead import config
from hubstead.limits import Limit, checks, effective_limits, gpus, units
from hubstead.limits.sizes import SizeError, format_size, parse_size

pytestmark = pytest.mark.unit


def settings(**limits):
    return config.effective({"limits": limits})


@pytest.mark.parametrize("text, count", [("512M", 512 * 2**20), ("1G", 2**30), ("1.5G", 3 * 2**29),
                                         ("100", 100), ("4g", 4 * 2**30), ("2T", 2 * 2**40)])
def test_sizes_read_as_systemd_reads_them(text, count):
    assert parse_size(text) == count


@pytest.mark.parametrize("text", ["-1G", "1X", "G", "", "1 G", "1.G", "ten"])
def test_a_negative_or_malformed_size_is_refused_in_one_line(text):
    with pytest.raises(SizeError) as error:
        parse_size(text, "limits.disk")
    assert str(error.value).startswith(f"limits.disk: {text!r} is not a size") and "\n" not in str(error.value)


def test_format_size_is_the_shortest_exact_form():
    assert [format_size(value) for value in (2**30, 512 * 2**20, 1536 * 1024, 100)] == ["1G", "512M", "1536K", "100"]


def test_without_groups_every_limit_is_global():
    found = effective_limits(settings(memory="1G", cpu=1)["limits"], [])
    assert found["memory"] == Limit("1G", "global") and found["cpu"] == Limit(1, "global")
    assert found["disk"] == Limit(None, "global") and found["gpus"] == Limit(None, "global")
    assert found["tasks"] == Limit(2048, "global")


def test_a_group_limit_replaces_the_global_one_and_the_largest_group_wins():
    limits = settings(memory="1G", cpu=1, groups={
        "geo": {"memory": "4G", "cpu": 2}, "bio": {"memory": "8G", "cpu": 0.5, "disk": "20G"},
        "chem": {"memory": "2G"}})["limits"]
    found = effective_limits(limits, ["chem", "geo", "bio"])
    assert found["memory"] == Limit("8G", "group bio")
    assert found["cpu"] == Limit(2, "group geo")
    assert found["disk"] == Limit("20G", "group bio")
    # A group that does not set a key leaves the global value.
    assert effective_limits(limits, ["chem"])["cpu"] == Limit(1, "global")
    # Groups the config does not name change nothing.
    assert effective_limits(limits, ["art"])["memory"] == Limit("1G", "global")


def test_sizes_compare_by_bytes_not_text():
    limits = settings(groups={"a": {"memory": "900M"}, "b": {"memory": "1G"}})["limits"]
    assert effective_limits(limits, ["a", "b"])["memory"] == Limit("1G", "group b")


def test_a_users_own_disk_quota_wins_over_groups_and_global():
    limits = settings(disk="1G", groups={"geo": {"disk": "20G"}})["limits"]
    assert effective_limits(limits, ["geo"], user_disk="50M")["disk"] == Limit("50M", "user (hubstead quota set)")


def test_all_gpus_is_more_than_a_count():
    limits = settings(groups={"a": {"gpus": 1}, "b": {"gpus": "all"}, "c": {"gpus": "0,1"}})["limits"]
    assert effective_limits(limits, ["a", "b", "c"])["gpus"] == Limit("all", "group b")
    assert effective_limits(limits, ["a", "c"])["gpus"] == Limit("0,1", "group c")


@pytest.fixture
def dev(tmp_path):
    """A /dev with two NVIDIA GPUs' nodes (plain files: only their names are read)."""
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "null"):
        (tmp_path / name).touch()
    return tmp_path


def test_a_gpu_request_allows_just_those_nodes(dev):
    assert gpus.device_allow("all", dev)[:4] == [f"{dev}/nvidia0 rw", f"{dev}/nvidia1 rw",
                                                  f"{dev}/nvidiactl rw", f"{dev}/nvidia-uvm rw"]
    assert gpus.device_allow(1, dev)[:3] == [f"{dev}/nvidia0 rw", f"{dev}/nvidiactl rw", f"{dev}/nvidia-uvm rw"]
    assert gpus.device_allow("1", dev)[0] == f"{dev}/nvidia0 rw"
    assert gpus.device_allow("0,1", dev)[:2] == [f"{dev}/nvidia0 rw", f"{dev}/nvidia1 rw"]
    assert "char-pts rw" in gpus.device_allow("all", dev), "terminals keep working"


def test_gpu_users_get_the_machines_dev_closed_but_for_their_gpus(dev):
    limits = settings(groups={"ml": {"gpus": "all"}})["limits"]
    properties = units.unit_properties(effective_limits(limits, ["ml"]), dev)
    assert properties["PrivateDevices"] == "no" and properties["DevicePolicy"] == "closed"
    assert f"{dev}/nvidia1 rw" in properties["DeviceAllow"]
    others = units.unit_properties(effective_limits(limits, []), dev)
    assert "DeviceAllow" not in others and "PrivateDevices" not in others, "others keep isolate_devices"


def test_tasks_and_memory_guarantee_become_unit_properties(dev):
    properties = units.unit_properties(effective_limits(settings(tasks=500, memory_guarantee="256M")["limits"], []), dev)
    assert properties["TasksMax"] == "500" and properties["MemoryLow"] == str(256 * 2**20)
    assert units.spawner_limits(effective_limits(settings(memory="1G", cpu=0.5)["limits"], [])) == (2**30, 0.5)


def test_a_gpu_request_on_a_machine_without_gpus_is_refused(tmp_path):
    problem = gpus.gpu_problem("all", tmp_path)
    assert problem.startswith("gpus: this machine has no NVIDIA GPU") and "nvidia0 does not exist" in problem


def test_more_gpus_than_the_machine_has_are_refused(dev):
    assert gpus.gpu_problem(3, dev) == "gpus: this machine has 2 GPU(s), not 3"
    assert gpus.gpu_problem("0,5", dev) == "gpus: this machine has no GPU 5 (it has 0, 1)"
    assert gpus.gpu_problem("all", dev) is None


@pytest.mark.parametrize("limits, message", [
    ({"memory": "64M"}, "limits.memory: 64M is too little for a server to start; give at least 128M"),
    ({"groups": {"geo": {"memory": "100M"}}},
     "limits.groups.geo.memory: 100M is too little for a server to start; give at least 128M"),
    ({"groups": {"geo": {"gpus": "some"}}},
     "limits.groups.geo.gpus: 'some' is not a GPU request; use all, a count (2) or GPU numbers (0,2)"),
    ({"memory": "1G", "memory_guarantee": "2G"}, "limits.memory_guarantee: 2G is more than limits.memory (1G)"),
])
def test_limits_that_cannot_work_are_refused_by_validate(limits, message):
    with pytest.raises(config.ConfigError) as error:
        config.validate({"limits": limits})
    assert str(error.value) == message


@pytest.mark.parametrize("key, text, message", [
    ("limits.groups.geo.memory", "-4G", "limits.groups.geo.memory: '-4G' is not a size"),
    ("limits.disk", "lots", "limits.disk: 'lots' is not a size"),
    ("limits.groups.geo.cpu", "-1", "limits.groups.geo.cpu: -1 is less than or equal to the minimum of 0"),
    ("limits.max_servers", "0", "limits.max_servers: 0 is less than the minimum of 1"),
    ("limits.concurrent_starts", "0", "limits.concurrent_starts: 0 is less than the minimum of 1"),
    ("limits.concurrent_starts", "many", "limits.concurrent_starts: 'many' is not a valid value; expected a whole number or null"),
])
def test_set_values_are_read_as_tljh_config_reads_them_and_bad_ones_refused(key, text, message):
    with pytest.raises(config.ConfigError) as error:
        config.validate(config.set_value({}, key, config.parse_value(key, text)))
    assert str(error.value).startswith(message)


def test_tljh_config_value_forms_give_the_group_keys_their_types():
    assert config.parse_value("limits.groups.geo.memory", "4G") == "4G"
    assert config.parse_value("limits.groups.geo.cpu", "2") == 2
    assert config.parse_value("limits.groups.geo.gpus", "all") == "all"
    assert config.parse_value("limits.groups.geo.gpus", "2") == 2
    assert config.validate({"limits": {"groups": {"geo": {"memory": "4G", "cpu": 2, "disk": "20G", "gpus": "all"}}}})


def judge(old, new, groups=("geo",), quota_refusal=None, dev=None):
    return checks.change_problem(settings(**old), settings(**new), lambda name: name in groups,
                                 lambda: quota_refusal, dev)


def test_a_limit_for_a_group_that_does_not_exist_is_refused_when_set(dev):
    assert judge({}, {"groups": {"art": {"memory": "4G"}}}, dev=dev) == (
        "limits.groups.art.memory: there is no group 'art'; create it first (`hubstead group add art`)")
    assert judge({}, {"groups": {"geo": {"memory": "4G"}}}, dev=dev) is None
    # Only what changes is judged: a group removed since keeps its old limits valid.
    kept = {"groups": {"art": {"memory": "4G"}}}
    assert judge(kept, {**kept, "memory": "1G"}, dev=dev) is None


def test_disk_quotas_are_refused_where_the_filesystem_keeps_none(dev):
    refusal = "/home is on overlay (mounted at /), which keeps no disk quotas here"
    assert judge({}, {"disk": "1G"}, quota_refusal=refusal, dev=dev) == f"limits.disk: {refusal}"
    assert judge({}, {"groups": {"geo": {"disk": "1G"}}}, quota_refusal=refusal, dev=dev) == (
        f"limits.groups.geo.disk: {refusal}")
    assert judge({}, {"disk": "1G"}, dev=dev) is None


def test_gpus_are_refused_on_a_machine_without_them(tmp_path, dev):
    (tmp_path / "none").mkdir()
    assert judge({}, {"groups": {"geo": {"gpus": "all"}}}, dev=tmp_path / "none").startswith(
        "limits.groups.geo.gpus: this machine has no NVIDIA GPU")
    assert judge({}, {"groups": {"geo": {"gpus": "all"}}}, dev=dev) is None


@pytest.mark.parametrize("key, value, message", [
    ("limits.memory", "-1G", "error: limits.memory: '-1G' is not a size; use a number with K, M, G or T, e.g. 1G\n"),
    ("limits.cpu", "-2", "error: limits.cpu: -2 is less than or equal to the minimum of 0\n"),
    ("limits.memory", "64M", "error: limits.memory: 64M is too little for a server to start; give at least 128M\n"),
])
def test_config_set_refuses_a_negative_or_too_small_limit_in_one_line(tmp_path, key, value, message):
    from tests.harness.hubcli import run_in_process

    path = tmp_path / "config.yaml"
    path.write_text("limits:\n  memory: 1G\n")
    done = run_in_process("config", "--config", str(path), "set", key, value)
    assert (done.code, done.err) == (1, message)
    assert path.read_text() == "limits:\n  memory: 1G\n", "nothing changed"
