"""Fetch a git repository at a ref into a build directory, through a cache of mirrors.

    commit = resolve_ref(url, "main")            # git ls-remote: no objects transferred
    checkout = fetch(url, "main", build_dir)     # mirror updated only if it lacks the commit

The ref is resolved to a full commit id with `git ls-remote` first, so a build of that
commit can be found before anything is downloaded. Each repository URL has one bare
mirror under the cache directory (its branches and tags); a commit the mirror already
holds is checked out with no network at all, which is also how a full commit id is
served when the host is down. The checkout is git's own (read-tree + checkout-index
with a private index: modes, symlinks and .gitattributes as a clone has them) but holds
no .git and shares no file with the cache, so a build's postBuild cannot reach the cache.

Every git call is bounded: a wall-clock timeout on the whole process group, and
GIT_HTTP_LOW_SPEED_LIMIT/TIME against a stalled transfer. git honours http(s)_proxy,
no_proxy and the system CA store by itself. Failures are one-line BuilderErrors naming
which: an unreachable host, a missing repository, one that asks for credentials, a
missing ref, a timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from . import BuilderError
from .links import check_git_url, valid_ref

CACHE_DIR = Path(os.environ.get("HUBSTEAD_REPO_CACHE", "/var/cache/hubstead/repos"))
LS_REMOTE_TIMEOUT = 60  # seconds: one small request
FETCH_TIMEOUT = 900  # seconds: a whole repository's history
LOCAL_TIMEOUT = 300  # seconds: git work on local files only
LOW_SPEED_LIMIT, LOW_SPEED_TIME = 1000, 60  # below 1000 bytes/s for 60 s: give up
FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")
ABBREVIATED_COMMIT = re.compile(r"^[0-9a-f]{7,39}$")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Options for every git call, and why:
GIT_OPTIONS = (
    # Only http(s), also on redirects: no file://, ssh or ext:: (which runs a command).
    "-c", "protocol.allow=never", "-c", "protocol.http.allow=always", "-c", "protocol.https.allow=always",
    # Never use credentials stored for root: a link must not fetch a private repository
    # with the admin's token.
    "-c", "credential.helper=",
    # Refuse malformed objects (tree entries such as .. or .git) before they are stored.
    "-c", "transfer.fsckObjects=true",
    # No automatic gc inside a timed fetch (objects fetched by commit id stay referenced).
    "-c", "gc.auto=0", "-c", "maintenance.auto=false",
)


@dataclass(frozen=True)
class Checkout:
    """A repository checked out at commit into directory. fetched is False when the
    mirror already held the commit (no objects were transferred)."""

    repo_url: str
    ref: str
    commit: str
    directory: Path
    fetched: bool


def git_environment():
    env = dict(os.environ)
    # Fail at once where git would ask for a username or password.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", SSH_ASKPASS="",
               GIT_HTTP_LOW_SPEED_LIMIT=str(LOW_SPEED_LIMIT), GIT_HTTP_LOW_SPEED_TIME=str(LOW_SPEED_TIME))
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    # A proxy never serves this machine's own loopback (a mirror or test server there).
    # curl reads no_proxy before NO_PROXY, so both get the same merged list.
    if any(env.get(key) for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")):
        hosts = [host.strip() for key in ("no_proxy", "NO_PROXY") for host in env.get(key, "").split(",")]
        merged = list(dict.fromkeys(host for host in hosts + list(LOOPBACK) if host))
        env["no_proxy"] = env["NO_PROXY"] = ",".join(merged)
    return env


def run_git(arguments, *, url, what, timeout, git_dir=None, env=None):
    """git's stdout; BuilderError saying what went wrong (about url) on failure or timeout.

    git runs in its own process group, killed whole on timeout: its helpers
    (git-remote-https, index-pack) would otherwise outlive it."""
    command = ["git", *GIT_OPTIONS, *(["--git-dir", str(git_dir)] if git_dir else []), *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env or git_environment(), start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise BuilderError(f"{_host(url)} did not answer within {timeout} s ({what})") from None
    if process.returncode != 0:
        raise BuilderError(explain_failure(stderr, url, what))
    return stdout


def explain_failure(stderr, url, what):
    """One line for a failed git call, from git's and curl's messages."""
    text = stderr.lower()
    host = _host(url)
    reason = _curl_reason(stderr)
    if "could not resolve host" in text:
        return f"cannot reach {host}: no such host name"
    if any(words in text for words in ("failed to connect", "couldn't connect", "connection refused",
                                       "network is unreachable", "no route to host", "connection timed out")):
        return f"cannot reach {host}: {reason or 'connection failed'}"
    if "ssl certificate problem" in text or "server certificate verification failed" in text:
        return f"cannot reach {host}: its TLS certificate is not trusted here ({reason})"
    if "operation too slow" in text or "operation timed out" in text:
        return f"{host} is too slow: under {LOW_SPEED_LIMIT} bytes/s for {LOW_SPEED_TIME} s ({what})"
    if "not found" in text and ("repository" in text or "error: 404" in text):
        return f"repository {url} not found"
    if any(words in text for words in ("could not read username", "authentication failed", "error: 401",
                                       "error: 403", "terminal prompts disabled")):
        return f"{url} asks for credentials: the repository is private or does not exist"
    fatal = [line for line in stderr.splitlines() if line.startswith(("fatal:", "error:"))]
    detail = (fatal[-1] if fatal else (stderr.strip().splitlines() or ["no message"])[-1]).strip()
    return f"{what} failed for {url}: {detail}"


def _curl_reason(stderr):
    # fatal: unable to access 'URL': Failed to connect to 127.0.0.1 port 9: Connection refused
    match = re.search(r"unable to access '[^']*': (.+)", stderr)
    return match.group(1).strip() if match else ""


def _host(url):
    parts = urllib.parse.urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url


def resolve_ref(repo_url, ref="HEAD", *, cache_dir=None, timeout=LS_REMOTE_TIMEOUT):
    """The full commit id that ref (a branch, tag, full or abbreviated commit; default
    HEAD) names in the repository, asked with `git ls-remote`; no objects are fetched.

    Names resolve as git resolves them: refs/<ref>, then a tag, then a branch; an
    annotated tag gives its commit. A full commit id is returned as it is (fetch checks
    that it exists). An abbreviated one is looked up in the cached mirror, if any."""
    check_git_url(repo_url)
    ref = valid_ref(ref or "HEAD")
    commit = _lookup(repo_url, ref, mirror_dir(repo_url, cache_dir), timeout)
    if commit is None:
        raise BuilderError(f"no branch, tag or commit {ref!r} in {repo_url}")
    return commit


def _lookup(repo_url, ref, mirror, timeout):
    """ref's commit; None only for an abbreviated commit id the mirror does not hold
    (yet); BuilderError for a name the repository does not have."""
    if FULL_COMMIT.match(ref):
        return ref
    commit = _ls_remote(repo_url, ref, timeout)
    if commit:
        return commit
    if ABBREVIATED_COMMIT.match(ref):
        return _rev_parse(mirror, ref) if mirror.is_dir() else None
    raise BuilderError(f"no branch, tag or commit {ref!r} in {repo_url}")


def _ref_candidates(ref):
    """Full ref names for ref, in the order git tries them (gitrevisions(7))."""
    if ref == "HEAD" or ref.startswith("refs/"):
        return [ref]
    return [f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}"]


def _ls_remote(repo_url, ref, timeout):
    candidates = _ref_candidates(ref)
    # Asking for the names (and a tag's peeled ^{}) keeps the answer small on hosts with
    # thousands of refs (GitHub lists every pull request).
    patterns = [name for candidate in candidates for name in (candidate, candidate + "^{}")]
    output = run_git(["ls-remote", "--", repo_url, *patterns], url=repo_url, what="git ls-remote",
                     timeout=timeout)
    refs = {}
    for line in output.splitlines():
        commit, _, name = line.partition("\t")
        refs[name.strip()] = commit.strip()
    for name in candidates:
        commit = refs.get(name + "^{}") or refs.get(name)
        if commit:
            return commit
    return None


def mirror_dir(repo_url, cache_dir=None):
    """The cached bare mirror of repo_url: a readable name plus a hash of the URL."""
    parts = urllib.parse.urlsplit(repo_url)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{parts.hostname}{parts.path}").strip("_.")[:80]
    digest = hashlib.sha256(repo_url.rstrip("/").encode()).hexdigest()[:12]
    return Path(cache_dir or CACHE_DIR) / f"{readable}-{digest}.git"


def has_commit(repo_url, commit, cache_dir=None):
    """True when the cached mirror of repo_url holds commit (no network)."""
    return _has(mirror_dir(repo_url, cache_dir), commit)


def _rev_parse(mirror, name):
    result = subprocess.run(["git", "--git-dir", str(mirror), "rev-parse", "--verify", "--quiet",
                             "--end-of-options", f"{name}^{{commit}}"],
                            capture_output=True, text=True, env=git_environment(), timeout=LOCAL_TIMEOUT)
    return result.stdout.strip() if result.returncode == 0 else None


def fetch(repo_url, ref, dest, *, cache_dir=None, timeout=FETCH_TIMEOUT):
    """Check repo_url out at ref (None or "": HEAD) into dest, which must not exist yet;
    return a Checkout.

    The network is used only for what the mirror lacks: a full commit id already in
    the mirror needs none, a branch or tag needs one ls-remote, and objects are fetched
    only when the resolved commit is missing."""
    check_git_url(repo_url)
    ref = valid_ref(ref or "HEAD")
    dest = Path(dest)
    if dest.exists():
        raise BuilderError(f"{dest} exists already; a checkout goes into a new directory")
    mirror = mirror_dir(repo_url, cache_dir)
    fetched = False
    if FULL_COMMIT.match(ref) and _has(mirror, ref):
        commit = ref  # the cache answers: no network at all
    else:
        commit = _lookup(repo_url, ref, mirror, LS_REMOTE_TIMEOUT)
        with _locked(mirror):
            if commit is None or not _has(mirror, commit):
                _update_mirror(repo_url, mirror, timeout)
                fetched = True
            if commit is None:  # an abbreviated commit id: the mirror knows it now, or nobody does
                commit = _rev_parse(mirror, ref)
                if commit is None:
                    raise BuilderError(f"no branch, tag or commit {ref!r} in {repo_url}")
            if not _has(mirror, commit):
                # Not on a branch or tag (a pull request's head, an old commit): ask for it
                # by id and keep a ref to it, so the cache finds it next time.
                _fetch_into(mirror, repo_url, [f"+{commit}:refs/hubstead/commits/{commit}"], timeout,
                            missing=f"no commit {commit} in {repo_url}")
                if not _has(mirror, commit):
                    raise BuilderError(f"no commit {commit} in {repo_url}")
    _check_out(mirror, commit, dest)
    return Checkout(repo_url, ref, commit, dest, fetched)


def _has(mirror, commit):
    return mirror.is_dir() and _rev_parse(mirror, commit) == commit


@contextlib.contextmanager
def _locked(mirror):
    """One writer per mirror: two builds of one repository fetch once, one after the other."""
    mirror.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{mirror}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _update_mirror(repo_url, mirror, timeout):
    """Fetch every branch and tag into the mirror; a new mirror appears only complete."""
    if mirror.is_dir():
        _fetch_into(mirror, repo_url, [], timeout, prune=True)
        return
    building = Path(tempfile.mkdtemp(prefix=f".{mirror.name}.", dir=mirror.parent))
    try:
        run_git(["init", "--quiet", "--bare", str(building)], url=repo_url, what="git init", timeout=LOCAL_TIMEOUT)
        for arguments in (["remote.origin.url", repo_url],
                          ["--add", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"],
                          ["--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*"]):
            run_git(["config", *arguments], url=repo_url, what="git config", timeout=LOCAL_TIMEOUT,
                    git_dir=building)
        _fetch_into(building, repo_url, [], timeout)
        os.rename(building, mirror)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _fetch_into(mirror, repo_url, refspecs, timeout, prune=False, missing=None):
    try:
        run_git(["fetch", "--quiet", "--no-write-fetch-head", *(["--prune"] if prune else []), "origin",
                 *refspecs], url=repo_url, what="git fetch", timeout=timeout, git_dir=mirror)
    except BuilderError as error:
        # A server refuses a commit id it does not have in many words ("not our ref",
        # "couldn't find remote ref"): whatever explain_failure could not name is that.
        if missing and str(error).startswith("git fetch failed for"):
            raise BuilderError(missing) from None
        raise


def _check_out(mirror, commit, dest):
    """The commit's files into dest, as a checkout makes them, with no .git: read-tree
    into a throwaway index, checkout-index from it. dest appears only complete."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="hubstead-index-") as scratch:
            env = {**git_environment(), "GIT_INDEX_FILE": os.path.join(scratch, "index")}
            for arguments in (["read-tree", commit], ["checkout-index", "--all", "--force"]):
                run_git([f"--work-tree={partial}", *arguments], url=str(mirror), what=f"git {arguments[0]}",
                        timeout=LOCAL_TIMEOUT, git_dir=mirror, env=env)
        os.chmod(partial, 0o755)  # mkdtemp made it 0700
        os.rename(partial, dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
