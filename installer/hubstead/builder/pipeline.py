"""From a repository to a server: plan a build, request it, and launch what it made.

    plan = pipeline.plan(url, "main")              # git: resolve, fetch, read the config files
    record = pipeline.request(plan, requested_by="alice")   # a finished, a shared or a new build

The CLI (`hubstead build`) and the launch flow (launch_flow.py) both call this module;
what a click on a link does next (the server's options, the landing URL) is
launch_flow.py's and content.py's. A build runs in
its own transient systemd unit (hubstead-build-ID, see builder.run), so it outlives
the process that asked for it, and `hubstead build cancel` stops it.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..envs import is_complete, python_change
from . import BuilderError, fetch, links, records, repofiles

UNIT_PREFIX = "hubstead-build-"
STARTUP_GRACE = 30  # seconds a new build's record may exist before its unit does
ENV_SLUG = re.compile(r"[^a-z0-9]+")
ENV_SLUG_LENGTH = 24  # "binder-" + slug + "-" + 6 hex digits stays within 40 characters


@dataclass(frozen=True)
class Plan:
    """What a build of repo at ref would be, found before anything is built."""

    repo: str
    ref: str
    commit: str
    cache_key: str
    env: str
    kind: str  # conda | pypi | none
    apt_packages: tuple
    ignored: tuple  # configuration files repo2docker would also ignore, with why
    ready: records.Record | None  # a succeeded build of this very commit and configuration
    notes: tuple = ()  # what the build does otherwise than asked, for the CLI to say
    has_start: bool = False  # a start script, which a build keeps even with nothing to build


def settings_now():
    from .. import config

    return config.current()


def plan(repo_url, ref="HEAD", name=None, settings=None):
    """Resolve ref, fetch the repository (through the mirror cache) and read its
    configuration files. BuilderError (one line) for anything a build would refuse."""
    settings = settings or settings_now()
    binder = settings["binder"]
    links.check_host(repo_url, binder)
    if name is not None:
        from ..envs import store

        store.valid_name(name)
    with tempfile.TemporaryDirectory(prefix="hubstead-plan-") as scratch:
        checkout = fetch.fetch(repo_url, ref or "HEAD", Path(scratch) / "src")
        config = repofiles.read_repo(checkout.directory)
    if (config.apt_packages or config.r_packages is not None) and not binder["apt"]["enabled"]:
        asking = "apt.txt" if config.apt_packages else "install.R (R from Debian)"
        raise BuilderError(f"this repository's {asking} asks for Debian packages, and this hub does not install "
                           "them (binder.apt.enabled is false)")
    notes = ()
    if config.kind == "none":
        # Valid as it is (repo2docker's defaults): the default environment serves it,
        # so there is no environment of its own to give a name.
        env = settings["user_environment"]["default_env"]
        if name is not None and name != env:
            notes = (f"{repo_url} has no environment.yml or requirements.txt: it runs in the default "
                     f"environment {env!r}, so no environment {name!r} was made",)
        name = None
    else:
        env = name or env_name(repo_url)
    key = repofiles.cache_key(checkout.commit, config.config_hash)
    ready = _ready(key, env, named=name is not None)
    return Plan(repo=repo_url, ref=ref or "HEAD", commit=checkout.commit, cache_key=key,
                env=ready.env if ready else env, kind=config.kind, apt_packages=tuple(config.apt_packages),
                ignored=tuple(config.ignored), ready=ready, notes=notes, has_start=config.start is not None)


def env_name(repo_url):
    """The environment a repository's launches build: readable, unique per URL (the hash
    of the whole URL), and cut at a word boundary: the last whole words of the path that
    fit (the repository's name first), never half a word unless one word alone is too long."""
    parts = urllib.parse.urlsplit(repo_url)
    path = parts.path.rstrip("/").removesuffix(".git")
    words = [word for word in ENV_SLUG.split(path.lower()) if word]
    kept = []
    for word in reversed(words):
        if len("-".join([word, *kept])) > ENV_SLUG_LENGTH:
            break
        kept.insert(0, word)
    slug = "-".join(kept) or (words[-1][:ENV_SLUG_LENGTH] if words else "repo")
    digest = hashlib.sha256(repo_url.rstrip("/").encode()).hexdigest()[:6]
    return f"binder-{slug}-{digest}"


def _ready(cache_key, env, named):
    """The finished build a plan can reuse: one in its own environment or, for a launch
    link (no name asked for), the same commit and files built under a name of the
    instructor's choosing (`hubstead build --name`), so the link it printed serves."""
    ready = _still_there(records.latest_succeeded(cache_key, env))
    if ready is None and not named:
        ready = next((record for record in records.succeeded(cache_key) if _still_there(record)), None)
    return ready


def _still_there(record):
    """A succeeded record whose build was since removed (env remove, prune) is no cache hit."""
    if record is None or record.build is None:
        return record
    build_dir = paths.ENVS_DIR / record.env / record.build
    # Nor is one built for the Python of a Debian release before (envs/python_change.py).
    return record if is_complete(build_dir) and not python_change.outdated(build_dir) else None


def request(plan, requested_by, make_current=True):
    """The record that serves plan: its finished build, the build already under way for
    the same cache key (shared), or a new build whose unit starts now."""
    if plan.ready is not None:
        return plan.ready
    needs_build = plan.kind != "none" or bool(plan.apt_packages) or plan.has_start
    record, new = records.add(
        repo=plan.repo, ref=plan.ref, commit_id=plan.commit, cache_key=plan.cache_key, env=plan.env,
        kind=plan.kind, requested_by=requested_by, make_current=make_current,
        state="queued" if needs_build else "succeeded",
        message="" if needs_build else f"no environment files: the {plan.env!r} environment serves it")
    if not new and _died(record):
        return request(plan, requested_by, make_current)
    if not new:
        return record
    if not needs_build:
        records.append_log(record.id, f"{plan.repo} at {plan.commit}: {record.message}")
        return record
    start_waiting()
    position = records.queue_position(record.id)
    if position is not None:
        limit = settings_now()["binder"]["max_concurrent_builds"]
        records.append_log(record.id, f"waiting for a build slot: {limit} builds are running "
                                      f"(binder.max_concurrent_builds); this one is number {position} in the queue")
    return records.get(record.id)


def start_waiting(settings=None):
    """Start queued builds, oldest first, while fewer than binder.max_concurrent_builds
    hold a slot. Called when a build is requested and when one ends (builder.run)."""
    limit = (settings or settings_now())["binder"]["max_concurrent_builds"]
    for record in records.active():
        if record.unit_started is not None:
            _died(record)  # a slot held by a unit that is gone (a reboot) is given back
    while (record := records.claim_slot(limit)) is not None:
        _start_unit(record)


def _died(record, grace=STARTUP_GRACE):
    """A queued or running build whose unit is gone (the machine restarted, the unit was
    killed): fail its record, so it no longer holds its cache key. True when it had died.
    A build still waiting for a slot has no unit yet and has not died."""
    if record.done or record.unit_started is None or time.time() - record.unit_started < grace:
        return False
    state = subprocess.run(["systemctl", "is-active", unit_name(record.id)], capture_output=True, text=True)
    if state.stdout.strip() in ("active", "activating", "deactivating", "reloading"):
        return False
    records.update(record.id, state="failed", message="the build stopped without finishing "
                                                      "(was the machine restarted?); it starts again on request")
    return True


def unit_name(build_id, part=""):
    return f"{UNIT_PREFIX}{int(build_id)}{'-' + part if part else ''}.service"


def _start_unit(record):
    """Start the build's orchestrating unit (root): it fetches, installs apt packages and
    runs the sandboxed worker. Returns the record; a unit that cannot start fails it."""
    log = records.log_path(record.id)
    timeout = settings_now()["binder"]["build_timeout"]
    command = ["systemd-run", f"--unit={unit_name(record.id)}", "--collect", "--no-block", "--quiet",
               f"--description=Hubstead build {record.id}: {record.repo} at {record.commit_id[:12]}",
               f"--property=RuntimeMaxSec={timeout}",
               f"--property=StandardOutput=append:{log}", f"--property=StandardError=append:{log}",
               # systemd-run starts units clean; a site's proxy and CA settings go along.
               *[f"--setenv={name}={value}" for name, value in paths.network_environment().items()],
               "--", sys.executable, "-m", "hubstead.builder.run", str(record.id)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["systemd-run failed"])[-1]
        return records.update(record.id, state="failed", message=f"the build could not start: {reason}")
    return records.get(record.id)


def cancel(build_id, by="an admin"):
    """Stop a queued or running build; what it made so far is removed by its unit."""
    record = records.get(build_id)
    if record is None:
        raise BuilderError(f"no build {build_id}; see `hubstead build list`")
    if record.done:
        raise BuilderError(f"build {record.id} has {record.state} already")
    record = records.update(record.id, state="cancelled", message=f"cancelled by {by}")
    subprocess.run(["systemctl", "stop", unit_name(record.id, "sandbox"), unit_name(record.id)],
                   capture_output=True, text=True)
    start_waiting()
    return record
