"""Git repositories served from this machine over git's smart HTTP, for tests and benchmarks.

    python3 tests/harness/gitserver.py ROOT [--port N] [--host 127.0.0.1]   # until Ctrl-C

The machines that run the suite reach no git host (GitHub is blocked), so the builder's
fetches are tested against this server instead. Every request is answered by
`git http-backend`, git's own CGI program, run by a small threaded HTTP server: the
client speaks the real smart protocol (v2 when it asks for it), ls-remote and fetch
behave as against any git host, and a missing repository is git's own 404.

- Repositories live under ROOT as bare repositories, e.g. ROOT/owner/repo.git; the URL
  http://127.0.0.1:PORT/owner/repo finds it (git http-backend tries the `.git` suffix).
- `private` names repositories that answer 401 with a Basic challenge, like a private
  repository on a git host asked without credentials.
- `requests` records (method, path, git command) of every request, and `fetches()`
  counts the ones that transferred objects, so a test can tell a fetch from one
  answered by a cache.
- Test containers share the host's network namespace, so a hub inside one reaches this
  server at the same http://127.0.0.1:PORT address.

Also here: `make_repo`, `commit_files`, `git` and `publish`, to make repositories with
commits, branches and tags, and `copy_tree` to start one from a fixture of
BINDER_FIXTURES. Standard library only, no pytest import.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import os
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path

# Fixed identity and dates: commits made by the harness get the same ids on every run.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Hubstead Tests", "GIT_AUTHOR_EMAIL": "tests@hubstead.invalid",
    "GIT_COMMITTER_NAME": "Hubstead Tests", "GIT_COMMITTER_EMAIL": "tests@hubstead.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
    # The machine's own ~/.gitconfig and /etc/gitconfig play no part in test repositories.
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}
BACKEND_TIMEOUT = 120  # seconds for one request; a test's git client gives up long before
# Binder's own example repositories (requirements, conda, apt_install; SOURCES.txt says
# which commit of binder-examples each is), kept read-only in shared/ BESIDE the
# checkout (so it is there in CI's fresh clone too).
_BESIDE_CHECKOUT = Path(__file__).resolve().parents[3] / "shared" / "data" / "binder-repos"
BINDER_FIXTURES = Path(os.environ.get("HUBSTEAD_BINDER_FIXTURES") or (
    _BESIDE_CHECKOUT if _BESIDE_CHECKOUT.is_dir() else "/work/shared/data/binder-repos"))


def git(cwd: Path | str, *args: str) -> str:
    """Run git in cwd with the harness identity; return its stdout, stripped."""
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_IDENTITY},
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def commit_files(repo: Path, files: dict[str, str | bytes | None], message: str) -> str:
    """Write files (None deletes one; a name ending in '*' is made executable without
    the '*'), commit them all, and return the new commit id."""
    for name, content in files.items():
        executable = name.endswith("*")
        path = repo / name.rstrip("*")
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        if executable:
            path.chmod(0o755)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(path: Path, files: dict[str, str | bytes | None] | None = None,
              branch: str = "main", message: str = "initial") -> str:
    """A new working repository at path with one commit of files; returns its id."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch", branch)
    return commit_files(path, files or {"README.md": "test repository\n"}, message)


def copy_tree(source: Path, target: Path) -> None:
    """Copy a fixture into target (which may exist), leaving out any .git; the copy is
    writable even where the fixture is read-only."""
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    for directory, _, names in os.walk(target):
        for path in [directory, *(os.path.join(directory, name) for name in names)]:
            os.chmod(path, os.stat(path).st_mode | 0o200)


def publish(work: Path, root: Path, name: str) -> Path:
    """Make (or refresh) the bare repository ROOT/NAME.git from the working repository:
    every branch and tag, with HEAD on the working repository's branch."""
    bare = root / f"{name}.git"
    if not bare.exists():
        bare.parent.mkdir(parents=True, exist_ok=True)
        git(root, "init", "--quiet", "--bare", str(bare))
    git(work, "push", "--quiet", "--force", "--prune", str(bare), "+refs/heads/*:refs/heads/*",
        "+refs/tags/*:refs/tags/*")
    head = git(work, "symbolic-ref", "HEAD")
    git(bare, "symbolic-ref", "HEAD", head)
    return bare


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        self._answer()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # requests are recorded in GitHTTPServer.requests instead

    def _answer(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._read_body()
        self.server.owner.requests.append((self.command, path, self._git_command(path, body)))
        repo = urllib.parse.unquote(path).lstrip("/")
        if any(repo == name or repo.startswith(name + "/") or repo.startswith(name + ".git/")
               for name in self.server.owner.private):
            self._send(401, {"WWW-Authenticate": 'Basic realm="hubstead tests"'}, b"credentials needed\n")
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
            "REQUEST_METHOD": self.command, "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": self.client_address[0],
            # Protocol v2 is negotiated through this header; the body may be gzipped.
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        try:
            result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True,
                                    timeout=BACKEND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._send(504, {}, b"git http-backend timed out\n")
            return
        head, separator, payload = result.stdout.partition(b"\r\n\r\n")
        if not separator:
            head, separator, payload = result.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers[key] = value.strip()
        if not separator:
            status, headers, payload = 500, {}, result.stderr or b"git http-backend gave no answer\n"
        self._send(status, headers, payload)

    def _git_command(self, path: str, body: bytes) -> str:
        """"fetch" for a request that transfers objects, "ls-refs" for protocol v2's
        listing (ls-remote), "" for anything else."""
        if self.command != "POST" or not path.endswith("/git-upload-pack"):
            return ""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        if b"command=ls-refs" in body:
            return "ls-refs"
        return "fetch"  # protocol v2's command=fetch, or any v0 upload-pack request

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            # git posts bodies larger than http.postBuffer in chunks.
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: GitHTTPServer


class GitHTTPServer:
    """git's smart HTTP over ROOT on HOST:PORT (port 0: a free one), in a thread.

    Use as a context manager, or start() and stop(). After stop() the port is closed,
    so a client gets "connection refused", as from a host that is down."""

    def __init__(self, root: Path | str, host: str = "127.0.0.1", port: int = 0,
                 private: tuple[str, ...] = ()):
        self.root = Path(root)
        self.host, self.port = host, port
        self.private = tuple(private)
        self.requests: list[tuple[str, str, str]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def fetches(self) -> int:
        """How many object transfers (upload-pack fetch requests) were served so far;
        ls-remote's listings do not count."""
        return sum(1 for _, _, command in self.requests if command == "fetch")

    def start(self) -> GitHTTPServer:
        self._server = _Server((self.host, self.port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="gitserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self) -> GitHTTPServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    server = GitHTTPServer(options.root, options.host, options.port).start()
    print(f"serving {options.root} at {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
