"""Binder launch links, read the way BinderHub reads them: /v2/<provider>/<spec>?<landing>.

A mybinder.org link works on the hub once its host is swapped for the hub's, so the
provider specs are BinderHub's (binderhub/repoproviders.py):

    gh/OWNER/REPO/REF                GitHub; REF may hold slashes (feature/x)
    gl/URL-ENCODED-PROJECT/REF       GitLab; the project path is one encoded segment
    git/URL-ENCODED-URL/REF          any git host over http(s)
    zenodo/DOI, figshare/DOI         a record's DOI, e.g. zenodo/10.5281/zenodo.3242074

and so are the landing parameters (urlpath, labpath, filepath). What is Hubstead's own:
which providers and hosts are allowed and where gh and gl point come from the `binder`
section of the config, and a refusal is a BuilderError of one line.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from . import BuilderError

PROVIDERS = ("gh", "gl", "git", "zenodo", "figshare")
GIT_PROVIDERS = ("gh", "gl", "git")
DOI_RESOLVER = "https://doi.org"
# Only http(s): they honour the site's proxy and CA, need no keys, and cannot make the
# hub read its own files (file://) or run a program (git's ext:: transport).
GIT_SCHEMES = ("https", "http")
LANDING_KEYS = ("urlpath", "labpath", "filepath")  # the first one present wins

DOI = re.compile(r"^10\.\d{4,9}/\S+$")
# GitHub's and GitLab's rule for owner, group, project and repository names.
PATH_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# check-ref-format's forbidden characters, plus whitespace.
REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


@dataclass(frozen=True)
class Landing:
    """What the link asks to open: kind is urlpath, labpath or filepath."""

    kind: str
    path: str


@dataclass(frozen=True)
class LaunchSpec:
    """A parsed launch link. ref is as the link gives it (branch, tag or commit, resolved
    later by fetch); it is "" for DOI providers, whose record is the version."""

    provider: str
    repo_url: str
    ref: str
    landing_path: Landing | None = None


def default_settings():
    """The `binder` section with every default, as effective() gives it."""
    from ..config.schema import defaults

    return defaults()["binder"]


def load_settings(config_path=None):
    """The `binder` section of the hub's config file, defaults filled in."""
    from .. import config, paths

    return config.effective(config.load(config_path or paths.CONFIG_PATH))["binder"]


def parse_launch(path, query="", settings=None):
    """The LaunchSpec for a launch path such as `gh/OWNER/REPO/REF` (a leading `/v2/`
    is allowed; so is `?query` on the path when `query` is not given).

    path is as it appears in the URL, percent-encoding intact: gl and git specs carry
    an encoded first segment that must not be split at its slashes. settings is the
    config's `binder` section (default: the schema's defaults). Raises BuilderError
    for an unknown or disallowed provider, a disallowed host, a malformed spec or a
    landing path that leaves the user's server."""
    settings = settings or default_settings()
    path = str(path)
    if CONTROL.search(path):
        raise BuilderError(f"the launch path {path!r} holds control characters")
    if not query and "?" in path:
        path, _, query = path.partition("?")
    rest = path.lstrip("/")
    if rest.startswith("v2/"):
        rest = rest[len("v2/"):]
    provider, _, spec = rest.partition("/")
    if provider not in PROVIDERS:
        raise BuilderError(f"unknown provider {provider!r} in launch path {path!r}; "
                           f"known providers: {', '.join(PROVIDERS)}")
    allowed = list(settings.get("allowed_providers", ()))
    if provider not in allowed:
        raise BuilderError(f"provider {provider!r} is not allowed on this hub "
                           f"(binder.allowed_providers: {', '.join(allowed) or 'none'})")
    if provider == "gh":
        repo_url, ref = _github(spec, _base_url(settings, "gh"))
    elif provider == "gl":
        repo_url, ref = _gitlab(spec, _base_url(settings, "gl"))
    elif provider == "git":
        repo_url, ref = _git(spec)
    else:
        repo_url, ref = _doi(provider, spec), ""
    if provider in GIT_PROVIDERS:
        check_host(repo_url, settings)
    return LaunchSpec(provider, repo_url, ref, parse_landing(query))


def check_host(repo_url, settings):
    """Refuse a repository whose host is not in binder.allowed_hosts (empty: any)."""
    allowed = [host.lower() for host in settings.get("allowed_hosts", ())]
    host = (urllib.parse.urlsplit(repo_url).hostname or "").lower()
    if allowed and host not in allowed:
        raise BuilderError(f"host {host} is not allowed on this hub (binder.allowed_hosts: {', '.join(allowed)})")


def _base_url(settings, provider):
    return settings["providers"][provider]["url"].rstrip("/")


def _github(spec, base):
    parts = spec.split("/", 2)  # the ref keeps its slashes
    if len(parts) != 3 or not all(parts):
        hint = f"; did you mean gh/{spec.rstrip('/')}/HEAD?" if len(parts) == 2 and all(parts) else ""
        raise BuilderError(f"gh links are gh/OWNER/REPO/REF, not gh/{spec}{hint}")
    owner, repo, ref = (urllib.parse.unquote(part) for part in parts)
    repo = repo[:-len(".git")] if repo.endswith(".git") else repo
    for what, name in (("owner", owner), ("repository", repo)):
        if not PATH_NAME.match(name) or name in (".", ".."):
            raise BuilderError(f"gh link: {name!r} is not a valid {what} name")
    return f"{base}/{owner}/{repo}", valid_ref(ref)


def _gitlab(spec, base):
    quoted, _, ref = spec.partition("/")
    if not quoted or not ref:
        raise BuilderError(f"gl links are gl/URL-ENCODED-PROJECT/REF (e.g. gl/group%2Fproject/main), not gl/{spec}")
    project = urllib.parse.unquote(quoted).strip("/")
    project = project[:-len(".git")] if project.endswith(".git") else project
    segments = project.split("/")
    if len(segments) < 2 or any(not PATH_NAME.match(s) or s in (".", "..") for s in segments):
        raise BuilderError(f"gl link: {project!r} is not a GitLab project path (GROUP/PROJECT, URL-encoded)")
    # BinderHub clones GitLab projects as <host>/<project>.git; so does this.
    return f"{base}/{project}.git", valid_ref(urllib.parse.unquote(ref))


def _git(spec):
    quoted, _, ref = spec.partition("/")
    if URL_SCHEME.match(quoted) and "%" not in quoted:
        raise BuilderError("git links carry the repository URL URL-encoded as one segment: "
                           f"git/{urllib.parse.quote(quoted + '//', safe='')}.../REF")
    if not quoted or not ref:
        raise BuilderError(f"git links are git/URL-ENCODED-URL/REF, not git/{spec}")
    url = urllib.parse.unquote(quoted)
    check_git_url(url)
    return url, valid_ref(urllib.parse.unquote(ref))


def check_git_url(url):
    """Refuse anything but a plain http(s) URL with a host and no credentials."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in GIT_SCHEMES:
        raise BuilderError(f"{url!r}: only http and https git URLs are accepted")
    if not parts.hostname:
        raise BuilderError(f"{url!r} names no host")
    if parts.username or parts.password:
        # A token in a link ends up in logs, browser history and other people's hands.
        raise BuilderError(f"{parts.hostname}: credentials in the repository URL are not accepted")
    if CONTROL.search(url):
        raise BuilderError("the repository URL holds control characters")
    return url


def _doi(provider, spec):
    doi = urllib.parse.unquote(spec).strip("/")
    if doi.lower().startswith("doi:"):
        doi = doi[len("doi:"):]
    if not DOI.match(doi):
        raise BuilderError(f"{provider} links are {provider}/DOI (e.g. {provider}/10.5281/zenodo.3242074), "
                           f"not {provider}/{spec}")
    return f"{DOI_RESOLVER}/{doi}"


def valid_ref(ref):
    """ref if git could take it as a branch, tag or commit (check-ref-format's rules);
    BuilderError otherwise. A leading '-' is refused too: git would read it as an option."""
    if (not ref or REF_FORBIDDEN.search(ref) or ".." in ref or "@{" in ref or "//" in ref
            or ref.startswith(("-", "/", ".")) or ref.endswith(("/", ".", ".lock")) or "/." in ref):
        raise BuilderError(f"{ref!r} is not a valid git branch, tag or commit")
    return ref


def parse_landing(query):
    """The Landing a query string (or a mapping of lists, as parse_qs gives) asks for:
    urlpath wins over labpath, which wins over filepath; None when there is none."""
    values = urllib.parse.parse_qs(query) if isinstance(query, str) else dict(query or {})
    for kind in LANDING_KEYS:
        found = values.get(kind)
        if isinstance(found, (list, tuple)):
            found = found[0] if found else None
        if found:
            return Landing(kind, _safe_landing(kind, found))
    return None


def _safe_landing(kind, path):
    path = path.lstrip("/")
    # The landing path is appended to /user/NAME/; it must not climb out of the user's
    # server (../../hub/...) or point at another site. Browsers read %2e%2e as .. and
    # a backslash as a slash, so those count too.
    segments = re.split(r"[/\\]", urllib.parse.unquote(path.split("?")[0]))
    if CONTROL.search(urllib.parse.unquote(path)) or URL_SCHEME.match(path) or ".." in segments:
        raise BuilderError(f"{kind}={path!r} leaves the user's server; give a path inside it")
    return path


def landing_url(spec, default="lab"):
    """The path, relative to the user's server, that the launch opens: urlpath as given;
    labpath and filepath as lab/tree/<path> (JupyterLab opens the file); default when
    the link asks for nothing."""
    landing = spec.landing_path
    if landing is None:
        return default
    if landing.kind == "urlpath":
        return landing.path
    return "lab/tree/" + urllib.parse.quote(landing.path.strip("/"), safe="/~!$&'()*+,;=:@")


def launch_link(record_or_plan, settings=None, landing=None):
    """The /v2/... link that launches this repository at this ref on this hub."""
    from .. import https

    settings = settings or _settings_now()
    repo, ref = record_or_plan.repo, record_or_plan.ref
    gh = settings["binder"]["providers"]["gh"]["url"].rstrip("/") + "/"
    if repo.startswith(gh) and repo[len(gh):].removesuffix(".git").count("/") == 1:
        spec = f"gh/{repo[len(gh):].removesuffix('.git')}/{ref}"
    else:
        spec = f"git/{urllib.parse.quote(repo, safe='')}/{ref}"
    query = f"?{urllib.parse.urlencode({landing.kind: landing.path})}" if landing else ""
    return f"{https.public_url(settings, _host())}/v2/{spec}{query}"


def _host():
    import socket

    return socket.getfqdn() or "localhost"


def _settings_now():
    from .. import config

    return config.current()
