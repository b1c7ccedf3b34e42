"""Build records and the launch-side helpers of builder.pipeline (no git, no systemd).

The records live in a real SQLite file in a temporary state directory."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from hubstead import paths
from hubstead.builder import BuilderError, content, launch_flow, links, pipeline, records
from hubstead.config.schema import defaults
from hubstead.envs.store import name_problem

COMMIT = "a" * 40


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path / "envs")
    (tmp_path / "state").mkdir()
    return tmp_path / "state"


def add(**changes):
    values = dict(repo="https://example.org/o/r", ref="main", commit_id=COMMIT, cache_key="k1", env="binder-r",
                  kind="pypi", requested_by="alice")
    values.update(changes)
    return records.add(**values)


def test_a_second_request_for_the_same_build_shares_the_running_one():
    first, new = add()
    second, second_new = add(requested_by="bob")
    assert (new, second_new) == (True, False)
    assert second.id == first.id and second.requested_by == "alice"
    # Another environment or another key is another build.
    assert add(env="course")[1] and add(cache_key="k2")[1]


def test_concurrent_requests_make_one_build():
    outcomes = []

    def request():
        outcomes.append(add())

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for _, new in outcomes if new) == 1
    assert len({record.id for record, _ in outcomes}) == 1


def test_after_a_build_ends_the_next_request_is_a_new_build():
    first, _ = add()
    records.update(first.id, state="failed", message="boom")
    second, new = add()
    assert new and second.id != first.id


def test_a_cancel_wins_over_a_late_success():
    record, _ = add()
    records.update(record.id, state="running")
    records.update(record.id, state="cancelled", message="cancelled by alice")
    final = records.update(record.id, state="succeeded", build="bnd-1")
    assert final.state == "cancelled" and final.finished is not None


def test_latest_succeeded_and_listing():
    record, _ = add()
    assert records.latest_succeeded("k1", "binder-r") is None
    records.update(record.id, state="succeeded", build="bnd-1")
    assert records.latest_succeeded("k1", "binder-r").build == "bnd-1"
    assert [item.id for item in records.all_records()] == [record.id]
    assert records.all_records()[0].as_dict()["commit"] == COMMIT


def test_read_log_in_pieces_never_splits_a_line():
    record, _ = add()
    for number in range(100):
        records.append_log(record.id, f"line {number} é")
    text, offset, pieces = "", 0, 0
    while True:
        piece, offset = records.read_log(record.id, offset, limit=64)
        if not piece:
            break
        assert piece.endswith("\n")
        text += piece
        pieces += 1
    assert pieces > 10
    assert text.splitlines() == [f"line {number} é" for number in range(100)]
    assert records.read_log(999) == ("", 0)


def test_unknown_build_ids():
    assert records.get(12345) is None and records.get("x") is None
    with pytest.raises(BuilderError, match="no build 12345"):
        pipeline.cancel(12345)


def test_cancelling_a_finished_build_says_so():
    record, _ = add()
    records.update(record.id, state="succeeded", build="bnd-1")
    with pytest.raises(BuilderError, match="has succeeded already"):
        pipeline.cancel(record.id)


@pytest.mark.parametrize("url", ["https://github.com/binder-examples/requirements",
                                 "https://gitlab.com/a/very-long-group-name/with-a-very-long-project-name.git",
                                 "http://127.0.0.1:8123/x"])
def test_environment_names_are_valid_and_unique(url):
    name = pipeline.env_name(url)
    assert name_problem(name) is None, name
    assert name != pipeline.env_name(url + "-other")


@pytest.mark.parametrize("url, slug", [
    ("https://gitlab.com/a/very-long-group-name/with-a-very-long-project-name.git", "a-very-long-project-name"),
    ("https://github.com/binder-examples/requirements", "examples-requirements"),
    ("https://github.com/someone/introduction-to-machine-learning", "to-machine-learning"),
    ("https://github.com/o/" + "x" * 40, "x" * 24),
])
def test_environment_names_are_cut_at_a_word_boundary(url, slug):
    name = pipeline.env_name(url)
    assert name.removeprefix("binder-")[:-7] == slug, name


@pytest.mark.parametrize("landing, expected", [
    ("lab/tree/index.ipynb", "lab/tree/course/index.ipynb"),
    ("tree/notebooks/a.ipynb", "tree/course/notebooks/a.ipynb"),
    ("voila/render/app.ipynb", "voila/render/course/app.ipynb"),
    ("lab", "lab/tree/course"),
    ("", "lab/tree/course"),
    ("rstudio/", "rstudio/"),
])
def test_landing_paths_follow_the_content_into_its_folder(landing, expected):
    assert content.rebase_landing(landing, "course") == expected


def test_content_url_pulls_the_branch_and_lands_in_its_folder():
    record, _ = add(repo="http://127.0.0.1:9/owner/course.git", ref="main")
    url = urlsplit(content.content_url(record, "bob", "lab/tree/index.ipynb"))
    assert url.path == "/user/bob/git-pull"
    query = parse_qs(url.query)
    assert query == {"repo": ["http://127.0.0.1:9/owner/course.git"], "branch": ["main"],
                     "targetpath": ["course"], "urlpath": ["lab/tree/course/index.ipynb"]}
    # For HEAD or a commit, nbgitpuller follows the default branch.
    for ref in ("HEAD", COMMIT, "abc1234"):
        record, _ = add(ref=ref, cache_key=ref)
        assert "branch" not in parse_qs(urlsplit(content.content_url(record, "bob")).query)


def test_a_launch_link_finds_the_same_commit_built_under_another_name():
    """`hubstead build REPO --name course` prints REPO's launch link; a click on it must
    find that build (a student may not start one), and the build must still exist."""
    from hubstead.envs import mark_complete

    named, _ = add(env="course")
    records.update(named.id, state="succeeded", build="bnd-1")
    assert pipeline._ready("k1", "binder-r", named=False) is None, "its directory is gone"
    (paths.ENVS_DIR / "course" / "bnd-1").mkdir(parents=True)
    mark_complete(paths.ENVS_DIR / "course" / "bnd-1")
    assert pipeline._ready("k1", "binder-r", named=False).env == "course"
    assert pipeline._ready("k1", "other-name", named=True) is None, "--name NAME builds NAME"
    assert pipeline._ready("k2", "binder-r", named=False) is None, "other files, other build"


def test_the_landing_url_is_where_nbgitpullers_page_would_go():
    record, _ = add(repo="http://127.0.0.1:9/owner/course.git", ref="main")
    pulled = parse_qs(urlsplit(content.content_url(record, "bob b", "lab/tree/index.ipynb")).query)
    assert content.landing_url(record, "bob b", "lab/tree/index.ipynb") == (
        "/user/bob%20b/" + pulled["urlpath"][0])


def test_no_pull_while_starting_for_a_user_without_an_account():
    """The first spawn creates the unix account; until then nbgitpuller's page pulls."""
    from hubstead.builder import prepull

    record, _ = add(repo="http://127.0.0.1:9/owner/course.git", ref="main")
    assert prepull.ContentPull.begin(record, "no-such-user-anywhere") is None


@pytest.mark.parametrize("who, user, allowed", [
    ("admins", {"admin": True, "groups": []}, True),
    ("admins", {"admin": False, "groups": ["instructors"]}, False),
    ("instructors", {"admin": False, "groups": ["instructors"]}, True),
    ("instructors", {"admin": False, "groups": ["students"]}, False),
    ("instructors", {"admin": True, "groups": []}, True),
    ("users", {"admin": False, "groups": []}, True),
])
def test_who_may_build(who, user, allowed):
    settings = defaults()
    settings["binder"]["who_can_build"] = who
    assert launch_flow.may_build(user, settings) is allowed


def test_launch_links_use_the_gh_form_for_the_gh_provider_and_git_otherwise():
    settings = defaults()
    settings["binder"]["providers"]["gh"]["url"] = "http://127.0.0.1:9000"
    record, _ = add(repo="http://127.0.0.1:9000/owner/course", ref="main")
    assert links.launch_link(record, settings).endswith("/v2/gh/owner/course/main")
    other, _ = add(repo="https://git.example.org/group/sub/course.git", ref="v1", cache_key="k9")
    assert links.launch_link(other, settings).endswith(
        "/v2/git/https%3A%2F%2Fgit.example.org%2Fgroup%2Fsub%2Fcourse.git/v1")


def test_same_server_compares_environment_and_build():
    first, _ = add()
    records.update(first.id, state="succeeded", build="bnd-1")
    second, _ = add(cache_key="k2")  # another commit, same build
    second = records.update(second.id, state="succeeded", build="bnd-1")
    third, _ = add(cache_key="k3")
    third = records.update(third.id, state="succeeded", build="bnd-2")
    running = launch_flow.server_options(records.get(first.id))
    assert launch_flow.same_server(running, second)
    assert not launch_flow.same_server(running, third)
    assert not launch_flow.same_server({"environment": "default"}, second)
    assert not launch_flow.same_server(None, second)


def test_a_build_whose_unit_is_gone_stops_holding_its_cache_key(monkeypatch):
    """systemctl is the real one where there is systemd; here its answer is given."""
    import subprocess

    record, _ = add()
    answers = []

    def systemctl(argv, **kwargs):
        answers.append(argv)
        return subprocess.CompletedProcess(argv, 3, stdout="inactive\n", stderr="")

    monkeypatch.setattr(pipeline.subprocess, "run", systemctl)
    assert not pipeline._died(record, grace=0)  # still waiting for a slot: it has no unit yet
    record = records.claim_slot(limit=2)
    assert not pipeline._died(record)  # too new: its unit may still be starting
    assert pipeline._died(record, grace=0)
    assert answers[-1][:2] == ["systemctl", "is-active"]
    failed = records.get(record.id)
    assert failed.state == "failed" and "stopped without finishing" in failed.message
    assert add()[1], "a new request starts a new build"


def test_builds_beyond_the_limit_wait_in_order_and_start_as_slots_free(monkeypatch):
    """The units are not started here (systemd-run is replaced); the slots are real rows."""
    started = []
    monkeypatch.setattr(pipeline, "_start_unit", lambda record: started.append(record.id) or record)
    monkeypatch.setattr(pipeline, "settings_now", lambda: {"binder": {"max_concurrent_builds": 2}})
    ids = [add(cache_key=f"k{number}")[0].id for number in range(4)]
    pipeline.start_waiting()
    assert started == ids[:2]
    assert [records.queue_position(build_id) for build_id in ids] == [None, None, 1, 2]
    records.update(ids[0], state="succeeded")
    pipeline.start_waiting()  # what the finished build's unit does last
    assert started == ids[:3] and records.queue_position(ids[3]) == 1


def test_two_callers_never_take_the_last_slot_twice():
    ids = [add(cache_key=f"k{number}")[0].id for number in range(6)]
    claimed = []
    threads = [threading.Thread(target=lambda: claimed.append(records.claim_slot(limit=2))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(record.id for record in claimed if record) == ids[:2]


def test_a_database_of_an_earlier_version_gains_the_new_column_once(state_dir):
    """An upgrade: the builds table without unit_started, opened by many requests at once."""
    import sqlite3

    old = sqlite3.connect(records.db_path())
    old.execute("CREATE TABLE builds (id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, ref TEXT NOT NULL, "
                "commit_id TEXT NOT NULL, cache_key TEXT NOT NULL, env TEXT NOT NULL, build TEXT, kind TEXT NOT NULL, "
                "state TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', requested_by TEXT NOT NULL, "
                "make_current INTEGER NOT NULL, created REAL NOT NULL, started REAL, finished REAL)")
    old.commit()
    old.close()
    errors = []

    def open_it():
        try:
            records.active()
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    record, _ = add()
    assert record.unit_started is None and records.claim_slot(1).id == record.id
