"""Scheduled backups: backup.schedule/backup.keep reach the role, the timer's
calendar is the schedule, and pruning keeps the newest archives only."""

import os
from pathlib import Path

import pytest

from hubstead import config
from hubstead.backup import schedule
from hubstead.backup.archive import ArchiveWriter
from hubstead.install import role_variables

ROLE = Path(__file__).resolve().parents[2] / "roles" / "hubstead_backup"


def test_the_schedule_reaches_the_role_and_bad_values_are_refused():
    settings = config.effective(config.validate({"backup": {"schedule": "daily", "keep": 3}}))
    assert role_variables(settings, "/etc/hubstead/config.yaml")["hubstead_backup_schedule"] == "daily"
    assert role_variables(config.effective({}), "/c.yaml")["hubstead_backup_schedule"] == "off"
    with pytest.raises(config.ConfigError, match="backup.schedule"):
        config.validate({"backup": {"schedule": "sometimes"}})
    with pytest.raises(config.ConfigError, match="backup.keep"):
        config.validate({"backup": {"keep": 0}})


def test_the_timer_runs_the_scheduled_backup_on_its_calendar():
    timer = (ROLE / "templates/etc/systemd/system/hubstead-backup.timer.j2").read_text()
    service = (ROLE / "templates/etc/systemd/system/hubstead-backup.service.j2").read_text()
    assert "OnCalendar={{ hubstead_backup_schedule }}" in timer and "Persistent=true" in timer
    assert "bin/hubstead backup create --scheduled" in service
    site = (ROLE.parents[1] / "installer/hubstead/ansible/site.yml").read_text()
    assert "- hubstead_backup\n" in site


def test_prune_keeps_the_newest_scheduled_archives_only(tmp_path):
    names = [f"hubstead-2026120{day}-030000.tar.gz" for day in range(1, 6)]
    for name in names:
        with ArchiveWriter(tmp_path / name) as out:
            out.add_bytes("accounts.json", b"{}")
    (tmp_path / "by-hand.tar.gz").write_bytes(b"not a backup")
    pruned = schedule.prune(2, tmp_path)
    assert sorted(Path(path).name for path in pruned) == names[:3]
    assert sorted(os.listdir(tmp_path)) == ["by-hand.tar.gz", *names[3:]]
    listed = schedule.archives(tmp_path)
    assert [Path(item["path"]).name for item in listed if "problem" not in item] == [names[4], names[3]]
    assert [item for item in listed if "problem" in item][0]["path"].endswith("by-hand.tar.gz")
