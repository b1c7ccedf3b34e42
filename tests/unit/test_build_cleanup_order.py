"""Whoever waits for a build (the CLI, the instructors' page) takes the record's final
state as the end of it: by then the build's work directory (the repository's copy, its
caches, whatever postBuild left) must be gone. CI saw a failed build's directory still
there just after `hubstead build` returned. The record store and the build itself are
stand-ins: the real ones need root, systemd and a repository server (tests/e2e covers those)."""

import signal
from types import SimpleNamespace

import pytest

from hubstead.errors import HubsteadError
from hubstead.builder import pipeline, records, run, sandbox


@pytest.fixture
def one_build(tmp_path, monkeypatch):
    seen = []
    record = SimpleNamespace(id=8, state="queued")
    work = tmp_path / "work" / "8"

    def update(build_id, **changes):
        seen.append((changes.get("state"), work.exists()))
        return SimpleNamespace(id=build_id, state=changes.get("state"), message=changes.get("message"))

    monkeypatch.setattr(records, "get", lambda build_id: record)
    monkeypatch.setattr(records, "update", update)
    monkeypatch.setattr(sandbox, "work_dir", lambda build_id: work)
    monkeypatch.setattr(pipeline, "settings_now", lambda: {"binder": {"build_timeout": 60}})
    previous = signal.getsignal(signal.SIGTERM)
    yield work, seen, monkeypatch
    signal.signal(signal.SIGTERM, previous)


def planting(work, error):
    def build(record, settings):
        (work / "src").mkdir(parents=True)
        (work / "src" / "left-by-postBuild").write_text("x")
        if error:
            raise error
        return "bnd-1"
    return build


@pytest.mark.parametrize("error, final", [
    (HubsteadError("postBuild failed with exit status 3"), "failed"),
    (RuntimeError("a bug"), "failed"),
    (None, "succeeded"),
])
def test_the_work_directory_is_gone_before_the_record_says_the_build_ended(one_build, error, final):
    work, seen, monkeypatch = one_build
    monkeypatch.setattr(run, "build", planting(work, error))
    run.run_build(["8"])
    assert seen[0] == ("running", False)
    assert seen[-1] == (final, False)


def test_a_timed_out_build_is_cleaned_before_it_is_marked_failed(one_build):
    work, seen, monkeypatch = one_build

    def build(record, settings):
        planting(work, None)(record, settings)
        raise run.Stopped()

    monkeypatch.setattr(run, "build", build)
    run.run_build(["8"])
    assert seen[-1] == ("failed", False)
