"""Launch links made on the instructors' page, and how often each was launched.

A link is what `hubstead build` and the launch pages use (links.launch_link); making
one builds its repository when needed. Each server started from a link counts one launch
(launch_flow.start calls count_launch), kept in hubstead's SQLite store.
"""

from __future__ import annotations

import html
import time

from ..users import locks
from . import BuilderError, links, pipeline, records

SCHEMA = ("CREATE TABLE IF NOT EXISTS launch_counts (repo TEXT NOT NULL, ref TEXT NOT NULL, "
          "launches INTEGER NOT NULL, last REAL NOT NULL, PRIMARY KEY (repo, ref))")
BADGE = "static/launch-badge.svg"


def count_launch(repo, ref, path=None):
    with locks.connect(path, schema=SCHEMA) as db:
        db.execute("INSERT INTO launch_counts VALUES (?, ?, 1, ?) ON CONFLICT (repo, ref) DO UPDATE "
                   "SET launches = launches + 1, last = excluded.last", (repo, ref, time.time()))


def launch_counts(path=None):
    with locks.connect(path, schema=SCHEMA) as db:
        return {(repo, ref): count for repo, ref, count in db.execute("SELECT repo, ref, launches FROM launch_counts")}


def repo_url(repo, settings):
    """A repository URL from a URL or a launch spec such as gh/OWNER/REPO."""
    repo = (repo or "").strip()
    if not repo:
        raise BuilderError("give a repository: a URL (https://...) or gh/OWNER/REPO")
    if "://" in repo:
        links.check_host(repo, settings["binder"])
        return repo
    spec = repo if repo.count("/") >= 3 or repo.startswith(("zenodo/", "figshare/")) else f"{repo}/HEAD"
    return links.parse_launch(spec, "", settings["binder"]).repo_url


def make(repo, ref, landing, requested_by, service_url):
    """Build (if needed) and describe the link: url, Markdown and HTML badges, the build."""
    settings = pipeline.settings_now()
    url = repo_url(repo, settings)
    landing = links.parse_landing({key: value for key, value in (landing or {}).items() if value})
    record = pipeline.request(pipeline.plan(url, (ref or "").strip() or "HEAD", settings=settings),
                              requested_by=requested_by)
    link = links.launch_link(record, settings, landing)
    badge = f"{service_url.rstrip('/')}/{BADGE}"
    return {"url": link, "markdown": f"[![Launch]({badge})]({link})",
            "html": f'<a href="{html.escape(link)}"><img src="{html.escape(badge)}" alt="Launch"></a>',
            "build": record.as_dict()}


def listing(limit=500):
    """Each repository and ref built before, newest first, with its last build and launches."""
    counts, seen, answer = launch_counts(), set(), []
    settings = pipeline.settings_now()
    for record in records.all_records(limit):
        if (record.repo, record.ref) in seen:
            continue
        seen.add((record.repo, record.ref))
        answer.append({"repo": record.repo, "ref": record.ref, "url": links.launch_link(record, settings),
                       "last_build": record.as_dict(), "launches": counts.get((record.repo, record.ref), 0)})
    return answer
