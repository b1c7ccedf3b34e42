"""The `hubstead` command as tests use it: inside an installed container, and in-process."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from .hubclient import HubUser


def hubstead(hub, *args, check=True, input=None, timeout=900):
    """Run `hubstead ARGS` as root inside the installed hub's container."""
    return hub.container.run(["hubstead", *args], check=check, input=input, timeout=timeout)


def new_user(hub, name):
    """`hubstead user add NAME`, logged in over HTTP with the printed password, with a token."""
    password = hubstead(hub, "user", "add", name).stdout.strip()
    user = HubUser(hub.url)
    user.login(name, password)
    user.create_token("e2e")
    return user


def learner_with_work(hub, name, password, env, note, description):
    """A learner NAME with PASSWORD, a PyPI environment ENV (pyfiglet) and, written from
    her server in ENV, ~/notes.txt holding NOTE: what an upgrade must keep. Returns her
    logged-in HubUser, her server still running."""
    hubstead(hub, "user", "add", name, "--password-stdin", input=password + "\n")
    hub.container.write_file(f"/root/{env}.txt", "pyfiglet\n")
    hubstead(hub, "env", "create", env, "--file", f"/root/{env}.txt", "--description", description)
    user = HubUser(hub.url)
    user.login(name, password)
    user.start_server({"environment": env}, timeout=180)
    user.run_code(f"open('notes.txt', 'w').write({note!r})")
    return user


def current_build(hub, name):
    listed = json.loads(hubstead(hub, "env", "list", "--json").stdout)
    return next(item for item in listed if item["name"] == name)["current"]


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_in_process(*args, env=None, input=None):
    """Run `hubstead ARGS` in this process as the installed command does: code, stdout, stderr."""
    from click.testing import CliRunner

    from hubstead.cli import main

    with CliRunner().isolation(env=env, input=input) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = done.code
    return Run(code, out.getvalue().decode(), err.getvalue().decode())


@contextlib.contextmanager
def serving_repositories(hub, tmp_path_factory, repositories, users=()):
    """The hub's `gh` provider pointed at a git server on this machine serving
    `repositories` ({NAME: {path: content}} as gh/owner/NAME); on leaving, `users` and
    the environments built meanwhile are removed (the shared container's disk is small)."""
    from .gitserver import GitHTTPServer, make_repo, publish

    root, work = tmp_path_factory.mktemp("served"), tmp_path_factory.mktemp("work")
    for name, files in repositories.items():
        make_repo(work / name, files)
        publish(work / name, root, f"owner/{name}")
    with GitHTTPServer(root) as server:
        hubstead(hub, "config", "set", "binder.providers.gh.url", server.url)
        before = environment_names(hub)
        try:
            yield server
        finally:
            for user in users:
                hubstead(hub, "user", "remove", user, "--purge", "--yes", check=False)
            for name in sorted(environment_names(hub) - before):
                hubstead(hub, "env", "remove", name, "--yes", check=False)


def environment_names(hub):
    return {item["name"] for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)}
