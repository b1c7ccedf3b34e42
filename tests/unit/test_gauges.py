"""hubstead's gauges for a metrics scraper (hubstead.gauges). Their Prometheus rendering
(web/metrics.py, prometheus_client from the hub lock) is checked e2e."""

from collections import namedtuple

from hubstead import gauges

Usage = namedtuple("Usage", "total used free")
Record = namedtuple("Record", "env state")


def test_running_and_starting_servers_count_per_environment(monkeypatch):
    monkeypatch.setattr("hubstead.builder.records.get", lambda build_id: Record("binder-abc", "succeeded"))
    models = [
        {"name": "ann", "servers": {"": {"ready": True, "user_options": {"environment": "r-course"}}}},
        {"name": "ben", "servers": {"": {"ready": False, "pending": "spawn", "user_options": {}}}},
        {"name": "cat", "servers": {"": {"ready": True, "user_options": {"binder": "7"}}}},
        {"name": "dan", "servers": {"": {"ready": False, "pending": None, "stopped": True}}},
        {"name": "eve", "servers": {}},
    ]
    assert gauges.servers_by_environment(models, "default") == {"r-course": 1, "default": 1, "binder-abc": 1}


def test_disks_report_free_and_total_of_each_path(tmp_path):
    found = gauges.disks([str(tmp_path)], disk_usage=lambda path: Usage(100, 60, 40))
    assert found == [(str(tmp_path), 40, 100)]
