"""The instructors' API for environments: list, create (file or repository), build logs,
default, rollback, remove."""

from __future__ import annotations

from tornado import web

from ..envs import inspect, jobs, manage, store
from .base import InstructorAPIHandler

SPEC_LIMIT = 1 << 20  # bytes


def environment_answer(name, default, in_use):
    details = inspect.details(name)
    users = sorted({user for users in in_use.values() for user in users})
    builds = [{"id": build["id"], "created": build["created_at"], "current": build["id"] == details["current"],
               "size_bytes": int(build["size_mb"] * 2**20), "kind": build["kind"]} for build in details["builds"]]
    current = next((build for build in builds if build["current"]), None)
    return {"name": name, "description": details["description"], "default": name == default,
            "current": details["current"], "size_bytes": current["size_bytes"] if current else None,
            "running_users": users, "builds": builds, "job": jobs.running_for(name)}


def list_environments():
    default = manage.default_name()
    return [environment_answer(name, default, inspect.servers_using(name)) for name in store.names()]


class Environments(InstructorAPIHandler):
    async def get(self):
        await self.respond(list_environments)

    async def post(self):
        if self.request.files:
            filename, spec = self.upload("spec", SPEC_LIMIT, "environment file")
            name = self.get_body_argument("name", "").strip()
            description = self.get_body_argument("description", "").strip()
            await self.respond(self._from_file, name, filename, spec, description, status=202)
            return
        body = self.body_json()
        repo, ref, name = (str(body.get(key) or "").strip() for key in ("repo", "ref", "name"))
        if not repo:
            raise web.HTTPError(400, "send a multipart form with a file field 'spec' (environment.yml or "
                                     "requirements.txt) and 'name', or JSON {\"repo\": URL, \"name\": ...}")
        await self.respond(self._from_repo, name or None, repo, ref or "HEAD", status=202)

    def _from_file(self, name, filename, spec, description):
        job = jobs.start(name, filename, spec, description)
        return {"name": job.name, "job": job.id, "log": f"{self.settings['base_url']}api/jobs/{job.id}"}

    def _from_repo(self, name, repo, ref):
        from ..builder import links, pipeline

        settings = pipeline.settings_now()
        url = links.parse_launch(repo, "", settings["binder"]).repo_url if "://" not in repo else repo
        record = pipeline.request(pipeline.plan(url, ref, name=name, settings=settings), requested_by=self.username)
        return {"name": record.env, "job": str(record.id), "build": record.as_dict(),
                "log": f"{self.settings['base_url']}api/builds/{record.id}"}


class Job(InstructorAPIHandler):
    async def get(self, job_id):
        offset = self.int_argument("offset", 0, 0, 2**62)
        await self.respond(jobs.progress, job_id, offset)


class EnvironmentAction(InstructorAPIHandler):
    async def post(self, name, action):
        body = self.body_json()
        if action == "default":
            await self.respond(self._default, name)
        else:
            build = body.get("build")
            await self.respond(lambda: {"name": name, "current": manage.rollback(name, build and str(build))})

    @staticmethod
    def _default(name):
        manage.set_default(name)
        return {"default": name}


class Environment(InstructorAPIHandler):
    async def delete(self, name):
        await self.respond(self._remove, name)

    @staticmethod
    def _remove(name):
        manage.remove(name)
        return {"deleted": name}


def routes(base_url):
    api = f"{base_url}api/"
    return [
        (rf"{api}environments", Environments),
        (rf"{api}jobs/([0-9a-f]+)", Job),
        (rf"{api}environments/([^/]+)/(default|rollback)", EnvironmentAction),
        (rf"{api}environments/([^/]+)", Environment),
    ]
