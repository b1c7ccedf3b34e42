"""Activity samples and the usage they add up to (hubstead.activity), on a real SQLite file."""

from datetime import date, datetime, timezone

from hubstead import activity


def at(hour, minute=0, day=1):
    return datetime(2026, 12, day, hour, minute, tzinfo=timezone.utc).timestamp()


def test_server_hours_sessions_and_peak_per_day():
    rows = []
    # alice: one session 10:00-11:00 sampled each minute; bob: two sessions of 10 minutes.
    rows += [(at(10, m), "alice", "s1", None) for m in range(0, 60)] + [(at(11), "alice", "s1", None)]
    rows += [(at(10, m), "bob", "b1", None) for m in range(0, 11)]
    rows += [(at(14, m), "bob", "b2", None) for m in range(0, 11)]
    report = activity.usage(sorted(rows), days=2, today=date(2026, 12, 1))
    table = {row["user"]: row for row in report["rows"]}
    assert table["alice"] == {"date": "2026-12-01", "user": "alice", "sessions": 1, "server_hours": 1.0}
    assert table["bob"]["sessions"] == 2 and table["bob"]["server_hours"] == round(20 / 60, 2)
    assert report["peaks"] == [{"date": "2026-11-30", "peak_servers": 0}, {"date": "2026-12-01", "peak_servers": 2}]
    assert report["since"] == "2026-11-30"


def test_a_gap_longer_than_max_gap_is_not_counted_as_use():
    rows = [(at(9), "carol", "c1", None), (at(9, 1), "carol", "c1", None), (at(12), "carol", "c1", None)]
    report = activity.usage(rows, days=1, today=date(2026, 12, 1))
    assert report["rows"][0]["server_hours"] == round(60 / 3600, 2)


def test_samples_older_than_the_window_are_left_out():
    rows = [(at(9, day=1), "dave", "d1", None), (at(9, day=3), "dave", "d2", None)]
    report = activity.usage(rows, days=1, today=date(2026, 12, 3))
    assert [row["date"] for row in report["rows"]] == ["2026-12-03"]


def test_record_and_cpu_percent_from_the_stored_sample(tmp_path):
    db = tmp_path / "hubstead.sqlite"
    activity.record([{"user": "erin", "started": "s", "cpu_seconds": 10.0, "memory_bytes": 5}], now=1000.0, path=db)
    previous = activity.last_cpu(path=db, now=1030.0)
    assert previous == {"erin": (1000.0, 10.0)}
    assert activity.cpu_percent(25.0, previous["erin"], 1030.0) == 50.0
    assert activity.cpu_percent(None, previous["erin"], 1030.0) is None
    assert activity.cpu_percent(5.0, previous["erin"], 1030.0) is None  # the unit restarted: counter reset
    assert activity.last_cpu(path=db, now=1005.0) == {}  # too recent to measure over


def test_usage_csv_has_a_header_and_one_line_per_row():
    report = activity.usage([(at(10), "fay", "f", None)], days=1, today=date(2026, 12, 1))
    assert activity.usage_csv(report).splitlines() == ["date,user,sessions,server_hours", "2026-12-01,fay,1,0.0"]
