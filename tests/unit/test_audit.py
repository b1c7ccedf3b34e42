"""The audit log (hubstead.audit): who did what, from the CLI or the web page."""

from hubstead import audit


def test_cli_actions_are_the_sudo_callers(tmp_path, monkeypatch):
    db = tmp_path / "hubstead.sqlite"
    monkeypatch.setenv("SUDO_USER", "tess")
    audit.record("user.lock", "bob", "too many tabs", path=db)
    assert audit.recent(path=db)[0] | {"time": 0} == {
        "time": 0, "who": "tess", "via": "cli", "action": "user.lock", "target": "bob", "detail": "too many tabs"}


def test_web_actions_are_the_hub_users_newest_first(tmp_path, monkeypatch):
    db = tmp_path / "hubstead.sqlite"
    monkeypatch.delenv("SUDO_USER", raising=False)
    with audit.acting_as("ines", "web"):
        audit.record("user.approve", "carl", path=db)
    audit.record("env.remove", "old", path=db)
    newest, older = audit.recent(path=db)
    assert (older["who"], older["via"], older["action"]) == ("ines", "web", "user.approve")
    assert newest["via"] == "cli" and newest["who"] == audit.cli_actor()


def test_limit_is_bounded(tmp_path):
    db = tmp_path / "hubstead.sqlite"
    for n in range(5):
        audit.record("group.add", f"g{n}", path=db)
    assert [entry["target"] for entry in audit.recent(2, path=db)] == ["g4", "g3"]
    assert len(audit.recent(0, path=db)) == 1


def test_a_store_that_cannot_be_written_does_not_fail_the_action(tmp_path):
    audit.record("user.add", "x", path=tmp_path / "missing" / "hubstead.sqlite")  # no exception
