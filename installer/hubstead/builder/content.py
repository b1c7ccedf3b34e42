"""Where a launched repository's content goes in the user's home, and the URLs that
land in it: nbgitpuller's page pulls it (content_url), or, when prepull already did,
the server opens the landing path inside it directly (landing_url).

    content.content_url(record, "alice", "lab/tree/index.ipynb")   # /user/alice/git-pull?...
    content.landing_url(record, "alice", "lab/tree/index.ipynb")   # /user/alice/lab/tree/REPO/index.ipynb
"""

from __future__ import annotations

import urllib.parse

from . import fetch

# Where a server's landing path names a file, the content's folder goes in front of it.
FILE_ROUTES = ("lab/tree/", "tree/", "notebooks/", "edit/", "doc/tree/", "voila/render/")


def content_folder(repo_url):
    """The folder of the home the repository's content goes to (nbgitpuller's default)."""
    name = urllib.parse.urlsplit(repo_url).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return name or "repository"


def content_url(record, username, landing="lab"):
    """The URL that pulls the repository into the user's home with nbgitpuller (a merge
    that never overwrites the user's changes) and then opens landing inside it."""
    folder = content_folder(record.repo)
    query = {"repo": record.repo, "targetpath": folder, "urlpath": rebase_landing(landing, folder)}
    branch = branch_to_follow(record.ref)
    if branch:
        query["branch"] = branch
    return f"/user/{urllib.parse.quote(username)}/git-pull?{urllib.parse.urlencode(query)}"


def landing_url(record, username, landing="lab"):
    """Where content_url's page goes once the content is in place."""
    folder = content_folder(record.repo)
    return f"/user/{urllib.parse.quote(username)}/{rebase_landing(landing, folder)}"


def branch_to_follow(ref):
    """nbgitpuller follows a branch; for HEAD or a commit id it follows the default one."""
    if not ref or ref == "HEAD" or fetch.FULL_COMMIT.match(ref) or fetch.ABBREVIATED_COMMIT.match(ref):
        return None
    return ref.removeprefix("refs/heads/")


def rebase_landing(landing, folder):
    """A landing path relative to the repository, made relative to the home, where the
    content lives in `folder`: lab/tree/index.ipynb -> lab/tree/FOLDER/index.ipynb."""
    landing = (landing or "lab").lstrip("/")
    for route in FILE_ROUTES:
        if landing.startswith(route):
            return f"{route}{urllib.parse.quote(folder)}/{landing[len(route):]}"
    if landing.rstrip("/") == "lab":
        return f"lab/tree/{urllib.parse.quote(folder)}"
    if landing.rstrip("/") == "tree":
        return f"tree/{urllib.parse.quote(folder)}"
    return landing
