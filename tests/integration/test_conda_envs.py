"""Conda environments end to end on the host, against a REAL local channel.

tests/harness/conda_channel.py builds genuine .tar.bz2 conda packages (and a `python`
package made from Debian's /usr/bin/python3.11) and indexes them with rattler's own
indexer; hubstead.envs.conda solves against the file:// channel, writes conda-lock.yml
with conda-lock's models, reads it back and installs with py-rattler. Nothing here
reaches conda-forge (it is not reachable from these machines).
"""

from __future__ import annotations

import bz2
import hashlib
import http.server
import io
import json
import os
import shutil
import ssl
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from hubstead.envs import EnvError
from hubstead.envs import conda
from hubstead.envs.condaspec import parse_environment_yml
from tests.conftest import require
from tests.harness.conda_channel import (
    DEFAULT_PACKAGES, HELLO_MESSAGE, PythonFromSystem, build_channel, index_stdlib)

REPO = Path(__file__).resolve().parents[2]
ALPHA_DATA = "share/hubstead-test/alpha-data.bin"


def say(message):
    # Measurements show with -s (or in the -rA report of a failure).
    print(f"[conda] {message}", file=sys.stderr)


@pytest.fixture(scope="session")
def channel(tmp_path_factory):
    built = build_channel(tmp_path_factory.mktemp("conda") / "channel")
    say(f"channel built in {built.seconds:.1f} s with {built.indexer}: "
        f"{', '.join(p.describe() for p in built.packages)}")
    assert built.indexer == "rattler"
    return built


@pytest.fixture
def python_channel(channel):
    require("python" not in channel.skipped, "a python package for the test channel",
            channel.skipped.get("python", ""))
    return channel


@pytest.fixture
def work(tmp_path):
    """Per-test caches (so cold means cold) under one directory: one filesystem."""
    for name in ("pkgs", "repodata"):
        (tmp_path / name).mkdir()
    return tmp_path


def spec_for(channel, *dependencies, source="environment.yml"):
    listed = "".join(f"  - {d}\n" for d in dependencies)
    return parse_environment_yml(f"name: test\nchannels:\n  - {channel.url}\ndependencies:\n{listed}",
                                 source)


def solve(channel, work, *dependencies, **options):
    return conda.solve(spec_for(channel, *dependencies), virtual_packages=[],
                       cache_dir=work / "repodata", **options)


def names(records):
    return sorted((r.name.normalized, str(r.version)) for r in records)


# --- the channel itself ------------------------------------------------------------


def test_channel_packages_are_real_conda_packages(channel):
    archives = sorted(channel.directory.glob("*/*.tar.bz2"))
    assert {a.parent.name for a in archives} == {"noarch"} | ({"linux-64"} if "python" not in channel.skipped else set())
    for archive in archives:
        with tarfile.open(archive, "r:bz2") as tar:
            index = json.load(tar.extractfile("info/index.json"))
            paths = json.load(tar.extractfile("info/paths.json"))
            files = tar.extractfile("info/files").read().decode().splitlines()
            assert archive.name == f"{index['name']}-{index['version']}-{index['build']}.tar.bz2"
            assert files == [entry["_path"] for entry in paths["paths"]]
            assert paths["paths_version"] == 1
            for entry in paths["paths"]:
                member = tar.getmember(entry["_path"])
                if entry["path_type"] == "hardlink":
                    data = tar.extractfile(member).read()
                    assert entry["size_in_bytes"] == len(data)
                    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
                else:
                    assert entry["path_type"] == "softlink" and member.issym()
    repodata = json.loads((channel.directory / "noarch" / "repodata.json").read_text())
    listed = repodata["packages"]
    assert "hubstead-test-beta-1.0-h_hubstead_0.tar.bz2" in listed
    beta = listed["hubstead-test-beta-1.0-h_hubstead_0.tar.bz2"]
    assert beta["depends"] == ["hubstead-test-alpha <2"]
    data = (channel.directory / "noarch" / "hubstead-test-beta-1.0-h_hubstead_0.tar.bz2").read_bytes()
    assert beta["sha256"] == hashlib.sha256(data).hexdigest() and beta["size"] == len(data)


def test_the_stdlib_indexer_agrees_with_rattlers(channel, tmp_path):
    # The stdlib indexer is what a plain python3 in a test container uses.
    copy = tmp_path / "copy"
    shutil.copytree(channel.directory, copy, ignore=shutil.ignore_patterns("repodata*", ".tmp"))
    index_stdlib(copy)
    for subdir in ("noarch", "linux-64"):
        if not (channel.directory / subdir).exists():
            continue
        ours = json.loads((copy / subdir / "repodata.json").read_text())["packages"]
        theirs = json.loads((channel.directory / subdir / "repodata.json").read_text())["packages"]
        for record in theirs.values():
            record.pop("indexed_timestamp", None)
        assert ours == theirs


def test_packages_are_byte_for_byte_reproducible(channel, tmp_path):
    again = build_channel(tmp_path / "again", [p for p in DEFAULT_PACKAGES
                                               if not isinstance(p, PythonFromSystem)])
    for archive in again.directory.glob("noarch/*.tar.bz2"):
        assert archive.read_bytes() == (channel.directory / "noarch" / archive.name).read_bytes()


# --- solve, lock, read, install ----------------------------------------------------


def test_solve_lock_read_back_and_install_two_environments_sharing_files(channel, work):
    started = time.monotonic()
    records = solve(channel, work, "hubstead-test-beta")
    say(f"solve: {1000 * (time.monotonic() - started):.0f} ms")
    assert names(records) == [("hubstead-test-alpha", "1.0"), ("hubstead-test-beta", "1.0")]

    spec = spec_for(channel, "hubstead-test-beta", source=str(work / "environment.yml"))
    lock = conda.write_lock(records, spec, work / "conda-lock.yml")
    text = lock.read_text()
    assert "conda-lock install -n YOURENV conda-lock.yml" in text  # conda-lock's own writer
    assert "version: 1" in text and "sources:\n  - environment.yml" in text.replace("  -", "  -")
    assert not list(work.glob(".conda-lock-*")), "the scratch directory must be gone"

    back = conda.read_lock(lock)
    assert {(r.url, r.sha256, r.md5, str(r.build)) for r in back} == \
        {(r.url, r.sha256, r.md5, str(r.build)) for r in records}
    beta = next(r for r in back if r.name.normalized == "hubstead-test-beta")
    assert beta.depends == ["hubstead-test-alpha <2"] and beta.subdir == "noarch"
    assert beta.channel == channel.url + "/"

    events = []
    started = time.monotonic()
    conda.install(lock, work / "env1", cache_dir=work / "pkgs",
                  progress=lambda done, total, package: events.append((done, total, package)))
    cold = time.monotonic() - started
    assert events[0] == (0, 2, "") and events[-1][:2] == (2, 2)
    assert {e[2] for e in events[1:]} == {"hubstead-test-alpha", "hubstead-test-beta"}

    env1 = work / "env1"
    assert (env1 / "share/hubstead-test/alpha.txt").read_text() == "alpha 1.0\n"
    assert (env1 / "share/hubstead-test/beta.txt").exists()
    assert os.access(env1 / "bin/hubstead-test-beta", os.X_OK)
    assert subprocess.run([env1 / "bin/hubstead-test-beta"], capture_output=True,
                          text=True).stdout == "beta 1.0\n"
    meta = json.loads((env1 / "conda-meta/hubstead-test-beta-1.0-h_hubstead_0.json").read_text())
    assert meta["name"] == "hubstead-test-beta" and meta["version"] == "1.0"
    assert meta["url"] == beta.url and meta["sha256"] == beta.sha256.hex()
    assert "share/hubstead-test/beta.txt" in meta["files"]

    # A second environment with alpha too: its files are the cache's files, hardlinked.
    started = time.monotonic()
    conda.install(solve(channel, work, "hubstead-test-alpha <2"), work / "env2",
                  cache_dir=work / "pkgs")
    warm = time.monotonic() - started
    say(f"install: cold {1000 * cold:.0f} ms, warm {1000 * warm:.0f} ms (2 packages)")
    cached = next((work / "pkgs").glob("hubstead-test-alpha-1.0-*")) / ALPHA_DATA
    one, two = (env1 / ALPHA_DATA).stat(), (work / "env2" / ALPHA_DATA).stat()
    assert one.st_ino == two.st_ino == cached.stat().st_ino
    assert one.st_nlink >= 3


def test_conda_locks_own_reader_and_renderer_accept_the_lock(channel, work):
    from conda_lock.lockfile import parse_conda_lock_file

    records = solve(channel, work, "hubstead-test-beta")
    lock = conda.write_lock(records, spec_for(channel, "hubstead-test-beta"), work / "conda-lock.yml")
    parsed = parse_conda_lock_file(lock)
    assert parsed.metadata.platforms == ["linux-64"]
    assert sorted((p.name, p.manager, p.hash.sha256) for p in parsed.package) == \
        sorted((r.name.normalized, "conda", r.sha256.hex()) for r in records)
    # What `conda-lock install` feeds conda: an explicit list of URL#md5.
    conda_lock_cli = Path(sys.executable).parent / "conda-lock"
    require(conda_lock_cli.exists(), "conda-lock's CLI in the test venv", "bash scripts/test")
    subprocess.run([conda_lock_cli, "render", "--kind", "explicit", "--platform", "linux-64",
                    str(lock)], cwd=work, check=True, capture_output=True, timeout=120)
    explicit = (work / "conda-linux-64.lock").read_text()
    assert "@EXPLICIT" in explicit
    for record in records:
        assert f"{record.url}#{record.md5.hex()}" in explicit


def test_a_lock_written_by_conda_lock_itself_without_build_fields_installs(channel, work):
    # conda-lock's own solver leaves `build` out; read_lock takes it from the file name.
    records = solve(channel, work, "hubstead-test-beta")
    lock = conda.write_lock(records, spec_for(channel, "hubstead-test-beta"), work / "conda-lock.yml")
    lock.write_text("".join(line for line in lock.read_text().splitlines(keepends=True)
                            if not line.startswith("  build:")))
    back = conda.read_lock(lock)
    assert sorted(str(r.build) for r in back) == ["h_hubstead_0", "h_hubstead_0"]
    conda.install(back, work / "env", cache_dir=work / "pkgs")
    assert (work / "env/conda-meta/hubstead-test-alpha-1.0-h_hubstead_0.json").exists()


LOCK_WITHOUT_CONDA = """
import sys
from pathlib import Path
from hubstead.envs import conda
from hubstead.envs.condaspec import parse_environment_yml
spec = parse_environment_yml("dependencies: [hubstead-test-beta]\\n")
records = conda.solve(spec, channels=[sys.argv[1]], virtual_packages=[], cache_dir=sys.argv[2])
lock = conda.write_lock(records, spec, Path(sys.argv[2]) / "conda-lock.yml")
print(len(conda.read_lock(lock)))
conda.leave_process(0)  # as the hubstead command does: rattler can crash Python's shutdown
"""


def test_locking_needs_no_conda_binary(channel, work):
    # conda-lock's solver would look for conda/mamba/micromamba on PATH; its models and
    # writer must not. PATH holds nothing here, not even /usr/bin.
    environment = {"PYTHONPATH": str(REPO / "installer"), "PATH": str(work / "empty")}
    result = subprocess.run([sys.executable, "-c", LOCK_WITHOUT_CONDA, channel.url, work],
                            capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


def test_lock_hash_follows_the_package_set(channel, work):
    spec = spec_for(channel, "hubstead-test-beta")
    first = conda.write_lock(solve(channel, work, "hubstead-test-beta"), spec, work / "a.yml")
    again = conda.write_lock(solve(channel, work, "hubstead-test-beta"), spec, work / "b.yml")
    other = conda.write_lock(solve(channel, work, "hubstead-test-alpha"), spec, work / "c.yml")
    assert conda.lock_hash(first) == conda.lock_hash(again) != conda.lock_hash(other)


# --- failures: one or two lines each ---------------------------------------------------


def assert_short(error: EnvError) -> str:
    message = str(error)
    assert 1 <= len(message.splitlines()) <= 2, message
    assert "Traceback" not in message
    return message


def test_unknown_package_is_a_short_error(channel, work):
    with pytest.raises(EnvError) as caught:
        solve(channel, work, "hubstead-test-nonexistent")
    message = assert_short(caught.value)
    assert message.startswith("environment.yml: cannot solve the environment: ")
    assert "hubstead-test-nonexistent" in message and channel.url in message


def test_unsatisfiable_pin_is_a_short_error_with_the_solvers_reason(channel, work):
    with pytest.raises(EnvError) as caught:
        solve(channel, work, "hubstead-test-beta", "hubstead-test-alpha >=2")
    message = assert_short(caught.value)
    assert "cannot solve the environment" in message
    assert "hubstead-test-beta 1.0 would require" in message and "hubstead-test-alpha <2" in message


@pytest.mark.parametrize("url, expected", [
    ("file:///nonexistent/hubstead-channel", "is not a conda channel"),
    ("http://127.0.0.1:9/hubstead-channel", "cannot reach conda channel http://127.0.0.1:9/hubstead-channel/"),
])
def test_unreachable_channel_names_it_and_the_config_key(channel, work, url, expected):
    with pytest.raises(EnvError) as caught:
        solve(channel, work, "hubstead-test-beta", channels=[url])
    message = assert_short(caught.value)
    assert expected in message and url in message
    assert "hubstead config add-item envs.channels" in message


def test_a_package_that_changed_on_the_channel_fails_the_install(channel, work, tmp_path):
    # rattler checks hashes of downloads but not of file:// packages; conda.install does.
    private = tmp_path / "private-channel"
    shutil.copytree(channel.directory, private, ignore=shutil.ignore_patterns("linux-64", ".tmp"))
    copied = type(channel)(private, private.as_uri())
    records = solve(copied, work, "hubstead-test-beta")
    lock = conda.write_lock(records, spec_for(copied, "hubstead-test-beta"), work / "conda-lock.yml")
    archive = private / "noarch/hubstead-test-alpha-1.0-h_hubstead_0.tar.bz2"
    with tarfile.open(archive, "r:bz2") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member, data in members:
            if member.name == "share/hubstead-test/alpha.txt":
                data = b"tampered\n"
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    archive.write_bytes(bz2.compress(buffer.getvalue()))
    with pytest.raises(EnvError) as caught:
        conda.install(lock, work / "env", cache_dir=work / "pkgs")
    message = assert_short(caught.value)
    assert "hubstead-test-alpha-1.0-h_hubstead_0.tar.bz2: sha256 does not match the lock" in message
    assert not (work / "env/share/hubstead-test/alpha.txt").exists()
    archive.unlink()
    with pytest.raises(EnvError, match="No such file or directory; the channel changed"):
        conda.install(lock, work / "env", cache_dir=work / "pkgs")


@pytest.mark.parametrize("content, expected", [
    ("version: 9\n", "not a valid conda-lock.yml (has unknown version 9)"),
    ("version: 1\npackage: 3\n", "not a valid conda-lock.yml (package: Input should be a valid list"),
    ("version: 1\n  x: [\n", "not a valid conda-lock.yml (line 2: "),
])
def test_a_bad_lock_is_a_short_error(tmp_path, content, expected):
    (tmp_path / "conda-lock.yml").write_text(content)
    with pytest.raises(EnvError) as caught:
        conda.read_lock(tmp_path / "conda-lock.yml")
    assert expected in assert_short(caught.value)
    with pytest.raises(EnvError, match="no such lock file"):
        conda.install(tmp_path / "missing.yml", tmp_path / "env", cache_dir=tmp_path / "pkgs")


# --- TLS: the site's CA ----------------------------------------------------------------


@pytest.fixture
def https_channel(channel, tmp_path):
    """The channel served over HTTPS with a certificate from a throwaway CA."""
    require(shutil.which("openssl") is not None, "openssl (Debian package openssl)")
    ca, key = tmp_path / "ca.pem", tmp_path / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", ca, "-subj", "/CN=Hubstead test CA",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                      "extendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    tmp_path / "server.key", "-out", tmp_path / "server.csr", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", tmp_path / "server.csr", "-CA", ca, "-CAkey",
                    key, "-CAcreateserial", "-days", "2", "-out", tmp_path / "server.pem",
                    "-extfile", tmp_path / "ext.cnf"], check=True, capture_output=True)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(channel.directory), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}", ca
    finally:
        server.shutdown()
        server.server_close()


SOLVE_SCRIPT = """
import sys
from hubstead.envs import EnvError, conda
from hubstead.envs.condaspec import parse_environment_yml
spec = parse_environment_yml("dependencies: [hubstead-test-beta]\\n")
try:
    records = conda.solve(spec, channels=[sys.argv[1]], virtual_packages=[], cache_dir=sys.argv[2])
except EnvError as error:
    print(error)
    conda.leave_process(1)  # never sys.exit: rattler can crash Python's shutdown
print(" ".join(sorted(r.name.normalized for r in records)))
conda.leave_process(0)  # as the hubstead command does: rattler can crash Python's shutdown
"""


@pytest.mark.parametrize("variables, trusted", [
    ({}, False),  # the system store does not know this CA
    ({"REQUESTS_CA_BUNDLE": "{ca}"}, True),  # rattler ignores it; conda.py passes it on
    ({"SSL_CERT_FILE": "{ca}"}, True),
])
def test_https_channel_with_the_sites_ca(https_channel, tmp_path, variables, trusted):
    url, ca = https_channel
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    environment.update({k: v.format(ca=ca) for k, v in variables.items()})
    environment["PYTHONPATH"] = f"{REPO / 'installer'}"
    result = subprocess.run([sys.executable, "-c", SOLVE_SCRIPT, url, tmp_path / "repodata"],
                            capture_output=True, text=True, env=environment, timeout=120)
    if trusted:
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.split() == ["hubstead-test-alpha", "hubstead-test-beta"]
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stdout.strip().splitlines()
        assert len(lines) == 2, result.stdout
        assert f"the TLS certificate of {url}/ is not trusted" in lines[0]
        assert "SSL_CERT_FILE or REQUESTS_CA_BUNDLE" in lines[1]


# --- the python package --------------------------------------------------------------


def disk_usage(*roots):
    """(apparent bytes, bytes on disk counting each inode once) of regular files."""
    apparent, seen, unique = 0, set(), 0
    for root in roots:
        for directory, _, files in os.walk(root):
            for name in files:
                info = os.lstat(os.path.join(directory, name))
                if not os.path.isfile(os.path.join(directory, name)) or os.path.islink(
                        os.path.join(directory, name)):
                    continue
                apparent += info.st_size
                if info.st_ino not in seen:
                    seen.add(info.st_ino)
                    unique += info.st_size
    return apparent, unique


def test_python_from_the_channel_runs_from_its_prefix_and_imports_noarch_packages(python_channel, work):
    records = solve(python_channel, work, "hubstead-test-hello")
    python = next(r for r in records if r.name.normalized == "python")
    assert python.subdir == "linux-64"
    assert str(python.version) == PythonFromSystem().version  # named after the interpreter
    lock = conda.write_lock(records, spec_for(python_channel, "hubstead-test-hello"),
                            work / "conda-lock.yml")
    timings = {}
    for env in ("env1", "env2"):
        started = time.monotonic()
        conda.install(lock, work / env, cache_dir=work / "pkgs")
        timings[env] = time.monotonic() - started
    for env in ("env1", "env2"):
        prefix = work / env
        result = subprocess.run(
            [prefix / "bin/python", "-c", "import sys, sysconfig, ssl, sqlite3, json, hubstead_test_hello; "
             "print(sys.prefix); print(sys.exec_prefix); print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            HELLO_MESSAGE, str(prefix), str(prefix), str(prefix / "lib/python3.11/site-packages")]
        # The noarch package's entry point, with a shebang into this prefix.
        script = prefix / "bin/hubstead-test-hello"
        assert script.read_text().startswith(f"#!{prefix}/bin/python")
        output = subprocess.run([script], capture_output=True, text=True, timeout=60).stdout
        assert output.splitlines() == [HELLO_MESSAGE, f"hubstead-test-hello main, prefix {prefix}"]
    interpreter = [(work / env / "bin/python3.11").stat() for env in ("env1", "env2")]
    assert interpreter[0].st_ino == interpreter[1].st_ino
    apparent, unique = disk_usage(work / "env1", work / "env2", work / "pkgs")
    say(f"python env install: cold {timings['env1']:.2f} s, warm {timings['env2']:.2f} s; "
        f"two envs + cache: {apparent / 2**20:.1f} MiB of files, {unique / 2**20:.1f} MiB on disk "
        f"(hardlinks save {(apparent - unique) / 2**20:.1f} MiB)")
    assert unique < apparent / 2
