"""SystemdSpawner that starts each server in the environment its user chose.

Users pick an environment on JupyterHub's options form (one choice per environment,
the default preselected); scripts pass the user option `environment` to
`POST /hub/api/users/NAME/server`. A server runs from the build that was current
when it started, so switching an environment never disturbs running servers.
"""

import asyncio
import html
import os
import pwd
import time
from pathlib import Path

from systemdspawner import SystemdSpawner
from tornado import web
from traitlets import Dict, Integer, Unicode

from .. import shared_folders
from . import serverunit, startqueue, unitteardown
from ..limits import servers as server_limits
from ..envs import EnvError, store

READY_POLL_INTERVAL = 0.1
SESSION_SCRIPT = Path(__file__).parents[1] / "builder" / "session.sh"


class HubsteadSpawner(SystemdSpawner):
    tasks_max = Integer(serverunit.DEFAULT_TASKS_MAX, help="TasksMax= of each server's unit: its "
                        "processes and threads together.").tag(config=True)
    limits = Dict(help="The config's limits section (hubstead.limits): each start applies the "
                  "user's effective limits, their groups' over the global ones.").tag(config=True)
    course_folder = Unicode(shared_folders.DEFAULT_COURSE, help="The course folder every server "
                            "sees as ~/course (shared.course); empty: none.").tag(config=True)

    def _environments(self):
        """What the options form offers: every environment but those that only serve a
        repository's launch links (hubstead.builder.run)."""
        return [env for env in store.all_environments() if not store.env_info(env.name).get("launch_only")]

    def _default_environment(self):
        from ..envs.manage import default_name

        return default_name()

    def _options_form_default(self):
        return self.environment_form

    def environment_form(self, spawner=None):
        environments = self._environments()
        if len(environments) < 2:
            return ""  # nothing to choose: no form, the server starts at once
        default = self._default_environment()
        choices = "\n".join(
            f'<label class="form-check"><input class="form-check-input" type="radio" name="environment" '
            f'value="{html.escape(env.name)}"{" checked" if env.name == default else ""}> '
            f'<strong>{html.escape(env.name)}</strong> <span class="text-muted">{html.escape(env.description)}</span>'
            f'</label>'
            for env in environments)
        return f'<fieldset><legend>Environment</legend>\n{choices}\n</fieldset>'

    def options_from_form(self, formdata):
        chosen = formdata.get("environment", [""])[0]
        return {"environment": chosen} if chosen else {}

    def chosen_prefix(self):
        """The build directory to run, or a 400 naming the environments there are."""
        if (self.user_options or {}).get("binder"):
            return self.binder_launch()[0]
        name = (self.user_options or {}).get("environment") or self._default_environment()
        if not isinstance(name, str) or store.name_problem(name):
            raise web.HTTPError(400, f"environment must be the name of an environment, not {name!r}")
        try:
            return store.build_prefix(name)
        except EnvError:
            known = ", ".join(store.names()) or "none"
            raise web.HTTPError(400, f"unknown environment {name!r}; this hub has: {known}") from None

    def binder_launch(self):
        """(build directory, start script or None) of the Binder build named by the user
        option `binder` (a build record id, as the launch page passes it)."""
        from ..builder import records
        from ..builder.run import start_script_path

        record = records.get(self.user_options["binder"])
        if record is None or not record.succeeded:
            raise web.HTTPError(400, f"binder build {self.user_options['binder']!r} does not exist or did not succeed")
        try:
            prefix = store.build_prefix(record.env, record.build)
        except EnvError as error:
            raise web.HTTPError(400, f"binder build {record.id}: {error}") from None
        start = start_script_path(record.cache_key)
        return prefix, (start if start.exists() else None)

    def get_env(self):
        """The server's environment, plus HUBSTEAD_SERVER_PATH: the PATH it runs with, which
        login shells in its terminals restore (/etc/profile.d/hubstead-server-path.sh)."""
        env = super().get_env()
        env["HUBSTEAD_SERVER_PATH"] = ":".join([*self.extra_paths, env.get("PATH") or os.defpath])
        self.record_address()
        return env

    def record_address(self):
        """Store the server's address in the hub's database now, before its unit starts.

        SystemdSpawner.start picks the port and then calls get_env; the hub itself stores
        the address only when start() returns. A hub restarted in between (units outlive
        it: cleanup_servers is False) looked for the surviving unit at the random port of
        its database row, waited http_timeout in vain, then stopped it, while the learner
        saw a spawn page that never moved. With the real address it adopts the server."""
        if self.server is None or not self.port:
            return
        self.server.ip, self.server.port = self.ip or "127.0.0.1", self.port
        self.user.db.commit()

    def binder_command(self, prefix, server_command):
        """The server command of a Binder launch: builder/session.sh first (the build's
        home copied in, REPO_DIR and PATH as repo2docker sets them), then the
        repository's `start` (it ends with exec "$@"), then the server."""
        from ..builder.content import content_folder
        from ..builder.records import get
        from ..builder.worker import HOME_SKELETON

        start_script = self.binder_launch()[1]
        repo_dir = Path(self._home()) / content_folder(get(self.user_options["binder"]).repo)
        return ["/bin/sh", str(SESSION_SCRIPT), str(prefix / HOME_SKELETON), str(repo_dir),
                *([str(start_script)] if start_script else []), *server_command]

    def _expand_user_vars(self, string):
        """SystemdSpawner's {USERNAME}/{USERID} expansion, also over a property's list of
        values (DeviceAllow= of a group's GPUs: one entry per device)."""
        if isinstance(string, list):
            return [super(HubsteadSpawner, self)._expand_user_vars(item) for item in string]
        return super()._expand_user_vars(string)

    def _home(self):
        return pwd.getpwnam(self._expand_user_vars(self.username_template)).pw_dir

    def harden_unit(self):
        """Put this start's hardening (hubstead.hub.serverunit) under the unit properties a
        site configured, so a drop-in can still override any of them. Per start: an
        admin granted or revoked since the last one gets the other kind of unit."""
        if not hasattr(self, "_site_unit_properties"):
            self._site_unit_properties = dict(self.unit_extra_properties)
        home = self._home()
        limited = server_limits.apply_to(self)
        self.unit_extra_properties = {
            **serverunit.server_unit_properties(admin=bool(self.user.admin), home=home, tasks_max=self.tasks_max),
            **limited, **self._site_unit_properties}

    def share_folders(self):
        """Course and group folders (hubstead.shared_folders): made and joined as root
        now; writable in the unit where the user may write; linked in the home by the
        server itself, as the user."""
        folders = shared_folders.prepare(self._expand_user_vars(self.username_template),
                                         [group.name for group in self.user.groups],
                                         bool(self.user.admin), self.course_folder)
        self.unit_extra_properties = folders.unit_properties(self.unit_extra_properties)
        self.cmd = folders.command(self.cmd)

    async def start(self):
        self._start_ticket = None
        server_limits.refuse_when_full(self)
        self.harden_unit()
        await server_limits.apply_disk_quota(self)
        prefix = self.chosen_prefix()
        self.cmd = [str(prefix / "bin" / "jupyterhub-singleuser")]
        if (self.user_options or {}).get("binder"):
            self.cmd = self.binder_command(prefix, self.cmd)
        self.share_folders()
        # `pip install --user` puts scripts there, as on any machine.
        self.extra_paths = [str(prefix / "bin"), str(Path(self._home()) / ".local" / "bin")]
        self.log.info("starting %s's server in %s", self.user.name, prefix)
        # What is left of an earlier server (still stopping, failed) would make
        # systemd-run refuse the name (hubstead.hub.unitteardown).
        await unitteardown.stop_until_gone(self.unit_name, self.log)
        # A class logging in at once starts a few at a time, in order (hub.startqueue).
        async with startqueue.QUEUE.place(self._log_name, self.concurrent_starts(), on_ticket=self._hold_ticket):
            ip, port = await super().start()
            await self.wait_until_answering(ip, port)
        return ip, port

    def concurrent_starts(self):
        return (self.limits or {}).get("concurrent_starts") or startqueue.default_limit()

    def _hold_ticket(self, ticket):
        self._start_ticket = ticket

    async def progress(self):
        """The spawn page's messages: a learner's place while her start waits its turn
        (it goes on by itself), then that it is starting."""
        told = None
        while self._spawn_pending:
            ticket = getattr(self, "_start_ticket", None)
            if ticket is not None and ticket.state != "waiting":
                break
            ahead = None if ticket is None else startqueue.QUEUE.ahead_of(ticket)
            if ahead is not None and ahead != told:
                told = ahead
                yield {"progress": 10, "message": startqueue.waiting_message(ahead)}
            await asyncio.sleep(1)
        yield {"progress": 50, "message": "Starting your server..."}

    def start_polling(self):
        super().start_polling()
        if self._check_pending:
            asyncio.ensure_future(self._route_once_checked())

    async def _route_once_checked(self):
        """Give the proxy this server's route as soon as a restarted hub has found it up.

        A restarted hub checks every server it had (units outlive it) in the background
        and gives the proxy their routes only once the last check ends: up to http_timeout
        when a server was still starting. A learner whose own server was checked already
        was told it was ready, and her page went round between proxy and hub until the
        hub's redirect guard answered 500. Polling starts at the end of a successful check."""
        await asyncio.sleep(0)  # the check marks itself done just after starting the poll
        proxy = self.user.settings.get("proxy")
        if proxy is None or not self.ready:
            return
        try:
            await proxy.add_user(self.user, self.name)
        except Exception:  # the hub's own check_routes adds it later
            self.log.exception("could not add %s to the proxy after the hub's check", self._log_name)

    async def poll(self):
        """None while the server's unit runs. A systemd too busy to answer counts as
        running (hub.unitteardown.has_stopped), so a slow answer never drops a live server."""
        return 1 if await unitteardown.has_stopped(self.unit_name) else None

    async def stop(self, now=False):
        """Stop the server and return once systemd has forgotten its unit, so that a
        start right after (or the culler's stop, then a start) always works."""
        self._start_ticket = None  # the next start's spawn page must not see this one's place
        await unitteardown.stop_until_gone(self.unit_name, self.log)

    async def wait_until_answering(self, ip, port, interval=READY_POLL_INTERVAL):
        """Poll the new server every `interval` seconds until it answers HTTP.

        The hub polls too, but with exponential backoff (0.2 s doubling to 5 s): a
        server ready after 3.1 s was only seen at about 6 s. Returning once it answers
        makes the hub's first poll succeed. A server whose unit stops fails the start at
        once (within a second), so a long start_timeout costs a broken server nothing;
        a slow one may use all of start_timeout, which the hub enforces around start()."""
        from tornado.httpclient import AsyncHTTPClient, HTTPClientError

        client = AsyncHTTPClient()
        url = f"http://{ip or '127.0.0.1'}:{port}{self.server.base_url if self.server else '/'}api"
        deadline = time.monotonic() + self.start_timeout
        next_poll_check = time.monotonic() + 1
        while time.monotonic() < deadline:
            try:
                await client.fetch(url, follow_redirects=False, request_timeout=2)
                return
            except HTTPClientError as error:
                if error.code != 599:
                    return  # any HTTP answer means it is up, as the hub judges it
            except OSError:
                pass
            if time.monotonic() > next_poll_check:
                if await unitteardown.has_stopped(self.unit_name):
                    raise web.HTTPError(500, f"the server stopped before it answered; an admin can see "
                                             f"why with: journalctl -u {self.unit_name}")
                next_poll_check = time.monotonic() + 1
            await asyncio.sleep(interval)
