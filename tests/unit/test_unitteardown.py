"""hubstead.hub.unitteardown against a stand-in systemctl: which commands a stop sends for each
state a server's unit can be left in, and that it returns only once the unit is gone."""

import asyncio
import concurrent.futures
import logging

import pytest

from hubstead.hub import unitteardown

UNIT = "jupyter-ada-singleuser"


class FakeSystemd:
    """A unit that walks through `states` ((LoadState, ActiveState, SubState) per
    `systemctl show`), stepping on to the next state when `advance_on` is called."""

    def __init__(self, states, advance_on=None):
        self.states = list(states)
        self.advance_on = advance_on or set()
        self.calls = []

    async def systemctl(self, *args):
        if args[0] == "show":
            load, active, sub = self.states[0]
            return 0, f"LoadState={load}\nActiveState={active}\nSubState={sub}\n"
        self.calls.append(" ".join(args))
        if args[0] in self.advance_on and len(self.states) > 1:
            self.states.pop(0)
        return 0, ""


def run_stop(monkeypatch, fake, **kwargs):
    monkeypatch.setattr(unitteardown, "systemctl", fake.systemctl)
    monkeypatch.setattr(unitteardown, "POLL_INTERVAL", 0.01)
    # In a thread of its own: an event loop left running in this one (Playwright's, after
    # tests/browser) would make asyncio.run() refuse.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, unitteardown.stop_until_gone(UNIT, logging.getLogger("test"), **kwargs)).result()


def test_a_running_unit_is_stopped_without_waiting_on_systemd(monkeypatch):
    fake = FakeSystemd([("loaded", "active", "running"), ("not-found", "inactive", "dead")], {"stop"})
    run_stop(monkeypatch, fake)
    assert fake.calls == [f"stop --no-block -- {UNIT}"]


def test_a_gone_unit_needs_nothing(monkeypatch):
    fake = FakeSystemd([("not-found", "inactive", "dead")])
    run_stop(monkeypatch, fake)
    assert fake.calls == []


def test_a_failed_unit_is_reset_so_systemd_forgets_it(monkeypatch):
    fake = FakeSystemd([("loaded", "failed", "failed"), ("not-found", "inactive", "dead")], {"reset-failed"})
    run_stop(monkeypatch, fake)
    assert fake.calls == [f"reset-failed -- {UNIT}"]


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(monkeypatch):
    fake = FakeSystemd([("loaded", "deactivating", "stop-sigterm"), ("not-found", "inactive", "dead")], {"kill"})
    run_stop(monkeypatch, fake, grace=0.05)
    assert fake.calls == [f"kill --kill-who=all --signal=SIGKILL -- {UNIT}"]


def test_a_unit_that_never_goes_is_a_clear_error(monkeypatch):
    fake = FakeSystemd([("loaded", "deactivating", "final-sigkill")])
    with pytest.raises(unitteardown.UnitStuck, match=rf"{UNIT} could not be stopped: still deactivating \(final-sigkill\)"):
        run_stop(monkeypatch, fake, grace=0.02, timeout=0.1)
    assert fake.calls == [f"kill --kill-who=all --signal=SIGKILL -- {UNIT}"], "one SIGKILL, then the error"


def has_stopped(monkeypatch, answer):
    """has_stopped() against a systemctl that answers `answer` ((exit status, stdout))."""

    async def systemctl(*args):
        return answer

    monkeypatch.setattr(unitteardown, "systemctl", systemctl)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, unitteardown.has_stopped(UNIT)).result()


@pytest.mark.parametrize("load, active, stopped", [
    ("loaded", "active", False), ("loaded", "activating", False), ("loaded", "reloading", False),
    ("loaded", "deactivating", True), ("loaded", "inactive", True), ("loaded", "failed", True),
    ("not-found", "inactive", True),
])
def test_a_server_has_stopped_when_systemd_says_it_is_not_running(monkeypatch, load, active, stopped):
    answer = (0, f"LoadState={load}\nActiveState={active}\nSubState=x\n")
    assert has_stopped(monkeypatch, answer) is stopped


@pytest.mark.parametrize("answer", [(1, ""), (1, "LoadState=loaded\nActiveState=inactive\n"), (0, "")])
def test_a_systemd_that_does_not_answer_leaves_the_server_running(monkeypatch, answer):
    """A class's units starting at once kept PID 1 so busy that systemctl timed out: that
    is no news of the server, and must not end a start or drop a running server."""
    assert has_stopped(monkeypatch, answer) is False
