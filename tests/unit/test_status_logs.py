"""`hubstead status` and `hubstead logs`: their pure parts, with systemd and the hub stubbed.

The status core takes its probes as parameters, so these tests pass functions and
small objects in; nothing is monkeypatched and nothing touches the machine's systemd.
"""

import json
import sqlite3
from collections import namedtuple
from datetime import datetime, timezone

import pytest
import requests
from click.testing import CliRunner

from hubstead import config, logs, status
from hubstead.hubapi import HubAPIError, HubUnavailable

NOW = datetime(2025, 5, 6, 12, 0, tzinfo=timezone.utc)
DiskUsage = namedtuple("DiskUsage", "total used free")
TOP_KEYS = {"healthy", "problems", "url", "services", "hub", "users", "servers", "disk", "versions"}

SHOW_TWO_SERVICES = """\
LoadState=loaded
ActiveState=active
SubState=running
ActiveEnterTimestamp=@1746525600

LoadState=loaded
ActiveState=failed
SubState=failed
ActiveEnterTimestamp=
"""


# -- systemctl show ---------------------------------------------------------------------

def test_systemctl_show_output_is_split_into_one_dict_per_unit():
    blocks = status.parse_systemctl_show(SHOW_TWO_SERVICES)
    assert blocks == [
        {"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
         "ActiveEnterTimestamp": "@1746525600"},
        {"LoadState": "loaded", "ActiveState": "failed", "SubState": "failed", "ActiveEnterTimestamp": ""},
    ]


def test_a_value_containing_equals_signs_is_kept_whole():
    [block] = status.parse_systemctl_show("ExecStart={ path=/bin/x ; argv[]=/bin/x --a=b }\n")
    assert block["ExecStart"] == "{ path=/bin/x ; argv[]=/bin/x --a=b }"


@pytest.mark.parametrize("value, expected", [
    ("@1746525600", "2025-05-06T10:00:00+00:00"),
    ("", None),
    ("n/a", None),
    (None, None),
    ("Tue 2025-05-06 10:00:00 UTC", "Tue 2025-05-06 10:00:00 UTC"),  # kept as systemd wrote it
])
def test_timestamps_become_iso_utc_or_none(value, expected):
    assert status.parse_timestamp(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("52428800", 52428800), ("[not set]", None), ("", None), (None, None),
    ("18446744073709551615", None), ("infinity", None), ("garbage", None),
])
def test_counters_not_set_are_none(value, expected):
    assert status.parse_count(value) == expected


def test_usage_is_reported_in_bytes_and_seconds():
    assert status.usage_report({"MemoryCurrent": "104857600", "CPUUsageNSec": "2500000000"}) == {
        "memory_bytes": 104857600, "cpu_seconds": 2.5}
    assert status.usage_report({"MemoryCurrent": "[not set]", "CPUUsageNSec": "[not set]"}) == {
        "memory_bytes": None, "cpu_seconds": None}


# -- logs -------------------------------------------------------------------------------

@pytest.mark.parametrize("target, name, unit", [
    ("hub", None, "jupyterhub.service"),
    ("proxy", None, "configurable-http-proxy.service"),
    ("user", "alice", "jupyter-alice-singleuser.service"),
])
def test_each_target_names_its_unit(target, name, unit):
    assert logs.unit_for(target, name) == unit


def test_journalctl_shows_the_last_lines_by_default():
    assert logs.journalctl_argv("jupyterhub.service") == [
        "journalctl", "--unit=jupyterhub.service", f"--lines={logs.DEFAULT_LINES}"]


def test_journalctl_argv_carries_follow_since_and_lines():
    unit = logs.unit_for("user", "bob_smith")
    assert logs.journalctl_argv(unit, follow=True, since="1 hour ago", lines=20) == [
        "journalctl", "--unit=jupyter-bob_smith-singleuser.service", "--since=1 hour ago", "--lines=20",
        "--follow"]
    assert "--lines" not in " ".join(logs.journalctl_argv(unit, since="today")), \
        "--since alone shows everything since then"


@pytest.mark.parametrize("name", ["Alice", "root", "a b", "../etc", "-f", "x" * 40, ""])
def test_invalid_user_names_are_refused(name):
    with pytest.raises(logs.LogTargetError, match="not a Hubstead username"):
        logs.unit_for("user", name)


@pytest.mark.parametrize("target, name, message", [
    ("user", None, "needs the user's NAME"),
    ("hub", "alice", "takes no NAME"),
    ("build", None, "unknown target"),
])
def test_wrong_targets_are_refused(target, name, message):
    with pytest.raises(logs.LogTargetError, match=message):
        logs.unit_for(target, name)


@pytest.mark.parametrize("argv", [["logs", "nowhere"], ["logs", "user"], ["logs", "user", "Root"],
                                  ["logs", "proxy", "alice"]])
def test_bad_logs_command_lines_are_usage_errors(argv):
    from hubstead.cli import cli

    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output


def test_completion_prints_clicks_script_for_each_shell():
    from hubstead.cli import cli

    for shell in ("bash", "zsh"):
        result = CliRunner().invoke(cli, ["completion", shell])
        assert result.exit_code == 0, result.output
        assert "_HUBSTEAD_COMPLETE" in result.output
    assert CliRunner().invoke(cli, ["completion", "fish"]).exit_code == 2


# -- pending sign-ups from the hub's SQLite DB ------------------------------------------

def make_hub_db(path, rows):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users_info (id INTEGER PRIMARY KEY, username VARCHAR(128) NOT NULL, "
                   "password BLOB NOT NULL, is_authorized BOOLEAN, email VARCHAR(128))")
        db.executemany("INSERT INTO users_info (username, password, is_authorized) VALUES (?, ?, ?)",
                       [(name, b"hash", authorized) for name, authorized in rows])
    db.close()


def test_pending_signups_are_the_unauthorized_rows(tmp_path):
    db = tmp_path / "jupyterhub.sqlite"
    make_hub_db(db, [("alice", 1), ("bob", 0), ("carol", 0), ("dave", None)])
    assert status.pending_signups(db) == 3


def test_a_db_without_users_info_has_no_pending_signups(tmp_path):
    db = tmp_path / "jupyterhub.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    connection.close()
    assert status.pending_signups(db) == 0


def test_reading_pending_signups_never_writes_the_db(tmp_path):
    db = tmp_path / "jupyterhub.sqlite"
    make_hub_db(db, [("bob", 0)])
    before = db.read_bytes()
    status.pending_signups(db)
    assert db.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["jupyterhub.sqlite"], "no journal left behind"


def test_a_missing_db_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        status.pending_signups(tmp_path / "jupyterhub.sqlite")
    assert not (tmp_path / "jupyterhub.sqlite").exists()


# -- status, end to end with stubs ------------------------------------------------------

class StubHub:
    def __init__(self, models=None, error=None):
        self.models, self.error = models, error

    def users(self):
        if self.error:
            raise self.error
        return self.models


def stub_show(states):
    """A systemd reader answering from {unit: {property: value}}; records what it was asked."""
    def show(units, properties):
        show.calls.append((list(units), tuple(properties)))
        return [{key: value for key, value in states.get(unit, {}).items() if key in properties}
                for unit in units]
    show.calls = []
    return show


RUNNING = {"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
           "ActiveEnterTimestamp": "@1746525600", "StateChangeTimestamp": "@1746527400"}
USERS = [
    {"name": "alice", "admin": True, "last_activity": "2025-05-06T11:30:00.000000Z",
     "servers": {"": {"name": "", "ready": True, "pending": None, "started": "2025-05-06T11:00:00Z",
                      "last_activity": "2025-05-06T11:30:00Z"}}},
    {"name": "bob", "admin": False, "last_activity": "2025-05-01T09:00:00Z",
     "servers": {"": {"name": "", "ready": False, "pending": None, "stopped": True}}},
    {"name": "carol", "admin": False, "last_activity": "2025-05-06T11:59:00Z",
     "servers": {"": {"name": "", "ready": False, "pending": "spawn", "started": None}}},
    {"name": "dave", "admin": False, "last_activity": None, "servers": {}},
]


def collect(tmp_path, hub, states=None, show=None):
    db = tmp_path / "jupyterhub.sqlite"
    if not db.exists():
        make_hub_db(db, [("alice", 1), ("erin", 0)])
    states = states if states is not None else {
        "jupyterhub.service": RUNNING, "configurable-http-proxy.service": RUNNING,
        "jupyter-alice-singleuser.service": {"MemoryCurrent": "104857600", "CPUUsageNSec": "1500000000"},
        "jupyter-carol-singleuser.service": {"MemoryCurrent": "[not set]", "CPUUsageNSec": "[not set]"},
    }
    return status.collect_status(
        config.effective({"http": {"port": 8080}}), show=show or stub_show(states), hub=hub, hub_db=db,
        url_for=lambda s: f"http://hub.example:{s['http']['port']}", disk_paths=[str(tmp_path)],
        disk_usage=lambda path: DiskUsage(total=100 * 2**30, used=75 * 2**30, free=25 * 2**30),
        versions=lambda: {"hubstead": "0.1.0", "jupyterhub": "5.5.1", "python": "3.11.2", "os": "Debian 12"},
        now=NOW)


def test_status_of_a_healthy_hub(tmp_path):
    report = collect(tmp_path, StubHub(USERS))
    assert set(report) == TOP_KEYS
    assert report["healthy"] is True and report["problems"] == []
    assert report["url"] == "http://hub.example:8080"
    assert report["services"]["jupyterhub"] == {"unit": "jupyterhub.service", "load": "loaded",
                                                "active": "active", "sub": "running",
                                                "since": "2025-05-06T10:00:00+00:00"}
    assert report["hub"] == {"api": "http://127.0.0.1:8081/hub/api", "answers": True, "error": None}
    assert report["users"] == {"total": 4, "admins": 1, "active_24h": 2, "pending": 1}
    assert [(server["user"], server["ready"], server["pending"]) for server in report["servers"]] == [
        ("alice", True, None), ("carol", False, "spawn")], "bob's stopped server is not running"
    alice = report["servers"][0]
    assert alice["unit"] == "jupyter-alice-singleuser.service"
    assert (alice["memory_bytes"], alice["cpu_seconds"]) == (104857600, 1.5)
    assert (report["servers"][1]["memory_bytes"], report["servers"][1]["cpu_seconds"]) == (None, None)
    assert report["disk"] == [{"path": str(tmp_path), "mount": status.mount_point(tmp_path),
                               "free_bytes": 25 * 2**30, "total_bytes": 100 * 2**30, "used_percent": 75.0}]
    assert report["versions"]["jupyterhub"] == "5.5.1"
    json.dumps(report)  # plain data all the way down


def test_status_reads_all_servers_units_in_one_systemctl_call(tmp_path):
    show = stub_show({"jupyterhub.service": RUNNING, "configurable-http-proxy.service": RUNNING})
    collect(tmp_path, StubHub(USERS), show=show)
    assert [units for units, _ in show.calls] == [
        ["jupyterhub.service", "configurable-http-proxy.service"],
        ["jupyter-alice-singleuser.service", "jupyter-carol-singleuser.service"]]


@pytest.mark.parametrize("error, answers, message", [
    (HubUnavailable("the hub does not answer at http://127.0.0.1:8081/hub/api: see ..."), False,
     "the hub does not answer at http://127.0.0.1:8081/hub/api: see ..."),
    (HubAPIError(503, "starting"), True, "the hub answered HTTP 503: starting"),
    (requests.ReadTimeout("read timed out"), False,
     f"the hub did not answer within {status.HUB_TIMEOUT_S} s at http://127.0.0.1:8081/hub/api"),
])
def test_status_when_the_hub_fails_keeps_every_key_and_is_unhealthy(tmp_path, error, answers, message):
    report = collect(tmp_path, StubHub(error=error))
    assert set(report) == TOP_KEYS
    assert report["healthy"] is False
    assert report["hub"]["answers"] is answers and report["hub"]["error"].startswith(message)
    assert report["problems"] == [report["hub"]["error"]]
    assert report["users"] == {"total": None, "admins": None, "active_24h": None, "pending": 1}, \
        "pending sign-ups come from the DB, which does not need the hub"
    assert report["servers"] is None, "unknown, not an empty list"
    assert report["services"]["jupyterhub"]["active"] == "active"
    assert report["disk"] and report["versions"]["python"] == "3.11.2"


def test_a_failed_service_makes_status_unhealthy(tmp_path):
    failed = {**RUNNING, "ActiveState": "failed", "SubState": "failed", "StateChangeTimestamp": "@1746529200"}
    report = collect(tmp_path, StubHub(USERS), states={"jupyterhub.service": RUNNING,
                                                        "configurable-http-proxy.service": failed})
    assert report["healthy"] is False
    assert report["services"]["configurable-http-proxy"]["since"] == "2025-05-06T11:00:00+00:00", \
        "since it failed, not since it last started"
    assert report["problems"] == ["configurable-http-proxy is failed: see `hubstead logs proxy`"]


def test_status_without_systemd_reports_unknown_states(tmp_path):
    def no_systemd(units, properties):
        raise status.SystemdUnavailable("cannot run systemctl: not found")

    report = collect(tmp_path, StubHub(USERS), show=no_systemd)
    assert report["services"]["jupyterhub"]["active"] is None
    assert report["servers"][0]["memory_bytes"] is None
    assert report["healthy"] is False
    assert len(report["problems"]) == 2


def test_status_command_exits_1_and_prints_json_when_unhealthy(tmp_path, monkeypatch, capsys):
    """Through main(), as scripts run it: exit code 1, and stdout is still one JSON object."""
    from hubstead.cli import main

    unhealthy = {key: None for key in TOP_KEYS} | {"healthy": False, "problems": ["the hub does not answer"]}
    # What is tested here is the command's wiring to main's exit code, so the collector
    # (tested above) is replaced, and the config path points at an absent file.
    monkeypatch.setattr("hubstead.status.collect_status", lambda settings: unhealthy)
    monkeypatch.setattr("hubstead.paths.CONFIG_PATH", tmp_path / "config.yaml")
    with pytest.raises(SystemExit) as exited:
        main(["status", "--json"])
    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out) == unhealthy


def test_the_tables_show_a_healthy_and_a_failing_hub(tmp_path, capsys):
    from hubstead.cli.status import present

    present(collect(tmp_path, StubHub(USERS)))
    shown = capsys.readouterr().out
    assert "healthy" in shown and "not healthy" not in shown
    assert "4 total, 1 admin(s), 2 active in the last 24 h, 1 waiting for approval" in shown
    assert "100.0 MiB" in shown and "1.5 s" in shown and "spawn..." in shown

    present(collect(tmp_path, StubHub(error=HubUnavailable("the hub does not answer at X"))))
    shown = capsys.readouterr().out
    assert "not healthy" in shown and "Users and servers unknown" in shown
    assert "Sign-ups waiting for approval: 1" in shown


def test_caddy_is_a_service_only_when_https_is_on():
    from hubstead import config, status
    from hubstead.logs import unit_for

    asked = []

    def show(units, properties):
        if "jupyterhub.service" in units:
            asked.append(list(units))
        return [{"LoadState": "loaded", "ActiveState": "active", "SubState": "running"} for _ in units]

    class Hub:
        def users(self):
            return []

    for enabled, expected in ((False, 2), (True, 3)):
        settings = config.effective({"https": {"enabled": enabled, "self_signed": True}})
        report = status.collect_status(settings, show=show, hub=Hub(), hub_db=None, url_for=lambda s: "x",
                                       disk_paths=(), versions=lambda: {})
        assert len(asked[-1]) == expected and ("caddy" in report["services"]) is enabled
    assert unit_for("caddy") == "caddy.service"


def test_environment_build_logs_are_read_by_their_identifier():
    from hubstead.logs import journalctl_argv, unit_for

    assert journalctl_argv(unit_for("envs"), lines=20) == ["journalctl", "--identifier=hubstead-env",
                                                            "--lines=20"]
