"""A few servers start at a time; the rest of a class waits its turn, in order.

Starting a server is mostly CPU: Python importing Jupyter Server, JupyterLab and their
extensions, about 5 CPU seconds. A whole class started at once shares the cores until
every server is ready at about the same moment: 100 on 2 cores were all starved for
~250 s, nobody got in early, and the timeouts inside the servers began to fire (a
jupyterhub-singleuser whose hub does not answer it within five tries of 20 s exits).
Taken a few at a time, each start gets a real share of the CPU: learners get in one
after another, the first within seconds, the last at about the time all did before.

A start holds its place until its server answers or for at most `hold_at_most`
seconds, so a server that hangs delays the queue by that much once, not forever.
The queue lives in the hub's process: a hub restarted during a rush forgets it, and
the learners still waiting see their spawn page's Start button again (nothing of theirs
had started).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque

HOLD_AT_MOST = 60  # seconds one start may keep its place (one alone takes ~5 s; a class 4 at a time on 2 cores ~10 s)


def default_limit():
    """Twice the hub's CPUs: a start also waits on I/O and on the hub, so one per core
    would leave the cores idle now and then."""
    return 2 * len(os.sched_getaffinity(0))


def waiting_message(ahead):
    if ahead == 0:
        return "Many learners are starting at once: yours is next. This page goes on by itself."
    learners = "learner is" if ahead == 1 else "learners are"
    return (f"Many learners are starting at once: {ahead} {learners} ahead of you. Your server starts "
            f"by itself when its turn comes; keep this page open.")


class Ticket:
    """One start's place: waiting (in the queue), starting (holding a place) or done."""

    def __init__(self, name, admitted):
        self.name = name
        self.admitted = admitted  # a future: set when the start may go on
        self.state = "waiting"


class StartQueue:
    def __init__(self):
        self._waiting: deque[Ticket] = deque()
        self._starting: set[Ticket] = set()
        self._limit = 1

    def ahead_of(self, ticket):
        """How many starts are before this one (0 once it holds a place)."""
        try:
            return self._waiting.index(ticket)
        except ValueError:
            return 0

    @property
    def starting(self):
        return len(self._starting)

    @property
    def waiting(self):
        return len(self._waiting)

    @contextlib.asynccontextmanager
    async def place(self, name, limit, hold_at_most=HOLD_AT_MOST, on_ticket=None):
        """Wait for a place among `limit` starts, hold it for the body (at most
        `hold_at_most` s), then give it to the next. A start cancelled while waiting
        (the hub's start_timeout, a stop asked for while it is pending) leaves the queue."""
        loop = asyncio.get_running_loop()
        ticket = Ticket(name, loop.create_future())
        self._limit = max(1, int(limit))
        self._waiting.append(ticket)
        if on_ticket is not None:
            on_ticket(ticket)
        self._admit()
        try:
            await ticket.admitted
        except BaseException:
            self._leave(ticket)
            raise
        timer = loop.call_later(hold_at_most, self._leave, ticket)
        try:
            yield ticket
        finally:
            timer.cancel()
            self._leave(ticket)

    def _admit(self):
        while self._waiting and len(self._starting) < self._limit:
            ticket = self._waiting.popleft()
            if ticket.admitted.done():  # cancelled meanwhile
                continue
            ticket.state = "starting"
            self._starting.add(ticket)
            ticket.admitted.set_result(None)

    def _leave(self, ticket):
        if ticket in self._starting:
            self._starting.discard(ticket)
        elif ticket in self._waiting:
            self._waiting.remove(ticket)
        ticket.state = "done"
        self._admit()


# One queue for the hub's process: every spawner's start takes its place here.
QUEUE = StartQueue()
