"""What a click on a launch link does, step by step, for the web service.

    begun = launch_flow.begin("gh/owner/repo/main", "urlpath=lab", user_model)   # build or cache hit
    launch_flow.progress(begun.record.id, offset=0)                              # state + new log text
    launch_flow.start(hub, begun.record.id, "alice", landing="lab")              # the URL to go to

Each step is one call that answers quickly (begin may wait for `git ls-remote`), so the
page can show the build's log while it runs and the server's start while it starts.
Refusals are LaunchRefused with a one-line message; a server already running something
else is ServerBusy, which the page turns into an offer to restart it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from . import BuilderError, content, link_registry, links, pipeline, prepull, records

START_TIMEOUT = 540  # seconds; above the hub's start_timeout (hubconfig.SPAWN_TIMEOUT), so the hub's message wins


class LaunchRefused(BuilderError):
    """The link cannot launch for this user; status is the HTTP status to answer with."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class ServerBusy(BuilderError):
    """The user's server runs another environment; restarting it would launch the link."""

    status = 409

    def __init__(self, message, running_env):
        super().__init__(message)
        self.running_env = running_env


@dataclass(frozen=True)
class Begun:
    spec: links.LaunchSpec
    record: records.Record
    landing: str


def begin(path, query, user_model, settings=None):
    """Parse the link, find what serves it, and start a build when there is none and
    the user may build. Raises BuilderError (bad link, unreachable repository...)."""
    settings = settings or pipeline.settings_now()
    spec = links.parse_launch(path, query, settings["binder"])
    landing = links.landing_url(spec, default=default_app(settings))
    allowed = may_build(user_model, settings)
    # Planning contacts the repository's host (git ls-remote, fetch) from this root
    # service: for someone who may not build, only a repository this hub already built.
    if not allowed and not records.has_repo(spec.repo_url):
        raise LaunchRefused(_who_may_build(settings), status=403)
    plan = pipeline.plan(spec.repo_url, spec.ref or "HEAD", settings=settings)
    if plan.ready is None and not _shared_build(plan) and not allowed:
        raise LaunchRefused(_who_may_build(settings), status=403)
    record = pipeline.request(plan, requested_by=user_model["name"])
    return Begun(spec=spec, record=record, landing=landing)


def _shared_build(plan):
    """Anyone may follow a build an allowed user already started for the same link."""
    return any(item.cache_key == plan.cache_key and item.env == plan.env for item in records.active())


def _who_may_build(settings):
    who = settings["binder"]["who_can_build"]
    if who == "admins":
        return "This repository has not been built on this hub yet, and only admins may build; ask one to open the link first."
    return ("This repository has not been built on this hub yet, and only admins and instructors may build; "
            "ask your instructor to open the link first.")


def default_app(settings):
    return "lab" if settings["user_environment"]["default_app"] == "jupyterlab" else "tree"


def progress(build_id, offset=0):
    """The build's state and the log written since offset, for a page that polls."""
    record = records.get(build_id)
    if record is None:
        raise LaunchRefused(f"no build {build_id}", status=404)
    text, next_offset = records.read_log(record.id, offset)
    return {"build": record.as_dict(), "log": text, "next_offset": next_offset,
            "queue_position": records.queue_position(record.id)}


def start(hub, build_id, username, landing="lab", restart=False, timeout=START_TIMEOUT):
    """Start username's server in what build_id built and answer the URL to go to: the
    landing path when the repository's content was pulled while the server started, else
    nbgitpuller's page, which pulls it and then opens the landing path. A server already
    running that build is reused; one running something else raises ServerBusy unless
    restart is true."""
    record = records.get(build_id)
    if record is None:
        raise LaunchRefused(f"no build {build_id}", status=404)
    if not record.succeeded:
        raise LaunchRefused(f"build {record.id} has {record.state}; nothing to start", status=409)
    link_registry.count_launch(record.repo, record.ref)
    server = (hub.user(username) or {}).get("servers", {}).get("")
    if server and not same_server(server.get("user_options"), record):
        if not restart:
            running = (server.get("user_options") or {}).get("environment") or ""
            raise ServerBusy(f"Your server is running {_describe(server.get('user_options'))}. Restart it "
                             f"with {_short(record.repo)} to open this link? Unsaved work in open notebooks "
                             "is lost.", running)
        _stop(hub, username, timeout)
        server = None
    if not server or not server.get("ready"):
        # The content is pulled while the server starts, so the click can land directly.
        pull = prepull.ContentPull.begin(record, username)
        try:
            _start(hub, username, server_options(record), timeout, already=bool(server))
        except BaseException:
            if pull is not None:
                pull.abandon()
            raise
        if pull is not None and pull.finish():
            return content.landing_url(record, username, landing)
    return content.content_url(record, username, landing)


def _describe(user_options):
    """What a running server runs, in a user's words."""
    user_options = user_options or {}
    running = records.get(user_options["binder"]) if str(user_options.get("binder", "")).isdigit() else None
    if running is not None:
        return _short(running.repo)
    if user_options.get("environment"):
        return f"the {user_options['environment']} environment"
    return "the default environment"


def _short(repo_url):
    return repo_url.split("://", 1)[-1].removesuffix(".git")


def _stop(hub, username, timeout):
    from ..users.manage import stop_server

    stop_server(hub, username, timeout=timeout)


def _start(hub, username, options, timeout, already=False):
    if not already:
        hub.post(f"users/{quote(username)}/server", json=options)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = (hub.user(username) or {}).get("servers", {}).get("")
        if server and server.get("ready"):
            return
        if not server:
            raise BuilderError(f"Your server did not start; an admin can see why with "
                               f"`hubstead logs user {username}`.")
        time.sleep(0.5)
    raise BuilderError(f"Your server did not start within {timeout} s; an admin can see why with "
                       f"`hubstead logs user {username}`.")


def server_options(record):
    """The user_options that start a server in what record built (HubsteadSpawner)."""
    return {"environment": record.env, "binder": str(record.id)}


def same_server(user_options, record):
    """True when a server started with user_options runs what record built: the same
    environment and build (a relaunch of another commit with the same build counts)."""
    user_options = user_options or {}
    if user_options.get("environment", None) != record.env:
        return False
    running = records.get(user_options.get("binder")) if user_options.get("binder") else None
    return (running.build if running else None) == record.build


def may_build(user_model, settings=None):
    """Whether this hub user may start a build (binder.who_can_build)."""
    settings = settings or pipeline.settings_now()
    who = (settings.get("binder", settings)).get("who_can_build", "instructors")
    if who == "users":
        return True
    if user_model.get("admin"):
        return True
    return who == "instructors" and "instructors" in (user_model.get("groups") or [])
