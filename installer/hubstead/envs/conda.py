"""Conda environments: solve with py-rattler, lock as conda-lock.yml, install with py-rattler.

    spec = parse_environment_yml(text, "environment.yml")     # envs/condaspec.py
    records = solve(spec)                                      # conda packages only
    write_lock(records, spec, "conda-lock.yml")                # conda-lock format, version 1
    install("conda-lock.yml", prefix)                          # shared, hardlinked cache
    lock_hash("conda-lock.yml")                                # stable id of the package set

No conda, mamba or micromamba binary is involved. The lock is written with conda-lock's
own models and writer, so `conda-lock install` reproduces it anywhere; read_lock turns
it back into rattler records. The pip part of a spec is not locked here (uv locks it).

Every expected failure is an EnvError of one or two lines: an unknown package or an
unsatisfiable pin (the solver's reason), an unreachable channel (its URL and what to do),
a download or hash failure, a malformed lock.

Network: rattler honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY and reads CA certificates from
the system store by default; SSL_CERT_FILE / SSL_CERT_DIR replace that store. It does not
read REQUESTS_CA_BUNDLE, so when only that is set it is copied to SSL_CERT_FILE.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from . import EnvError
from .condaspec import CondaSpec, parse_environment_yml

__all__ = ["CondaSpec", "DEFAULT_CHANNELS", "DEFAULT_PACKAGE_CACHE", "channel_urls", "install",
           "lock_hash", "parse_environment_yml", "read_lock", "solve", "write_lock"]

DEFAULT_CHANNELS = ("conda-forge",)  # what repo2docker uses when a spec names none
DEFAULT_PLATFORMS = ("linux-64", "noarch")
DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org/"
# conda's meaning of the `defaults` channel on Linux.
ANACONDA_DEFAULTS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
# Extracted packages, shared by every environment: files are hardlinked from here into
# each prefix, so this must be on the same filesystem as /opt/hubstead/envs.
DEFAULT_PACKAGE_CACHE = Path("/var/cache/hubstead/pkgs")
DEFAULT_REPODATA_CACHE = Path("/var/cache/hubstead/repodata")
CHANNELS_HINT = "use a reachable channel or mirror: hubstead config add-item envs.channels URL"

Progress = Callable[[int, int, str], None]  # (operations done, operations total, package)


def leave_process(code: int = 0):
    """Exit now, skipping the interpreter's finalization, with output flushed.

    py-rattler's Rust threads can crash Python's shutdown (SIGSEGV, exit -11) after the
    work succeeded, losing buffered output too. Every process that has loaded rattler
    and is done leaves this way: the hubstead command (hubstead.cli.main) and scripts."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_coroutine(coroutine):
    """Run a rattler coroutine to completion, also from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def trust_site_ca() -> None:
    """Give rattler the site's CA bundle when only REQUESTS_CA_BUNDLE names it."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and os.path.exists(bundle):
        os.environ["SSL_CERT_FILE"] = bundle


def channel_urls(names: Iterable[str], channel_alias: str = DEFAULT_CHANNEL_ALIAS) -> list[str]:
    """Channel names or URLs -> base URLs (`nodefaults` dropped, `defaults` expanded)."""
    from rattler import Channel, ChannelConfig

    config = ChannelConfig(channel_alias=channel_alias)
    urls: list[str] = []
    for name in names:
        if name == "nodefaults":
            continue
        for one in ANACONDA_DEFAULTS if name == "defaults" else (name,):
            try:
                url = Channel(one, config).base_url
            except Exception as error:
                raise EnvError(f"channel {one!r} is not a channel name or URL: {error}") from None
            if url not in urls:
                urls.append(url)
    return urls


# --- solving -----------------------------------------------------------------------


def _one_line(text: str, limit: int = 300) -> str:
    """The solver's tree as one line: box-drawing characters out, lines joined."""
    parts = [re.sub(r"^[\s│├└─]+", "", line).strip() for line in text.splitlines()]
    joined = " ".join(part for part in parts if part)
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def _solver_error(error, spec: CondaSpec, urls: Sequence[str],
                  platforms: Sequence[str]) -> EnvError:
    reason = str(error).strip()
    reason = re.sub(r"^Cannot solve the request because of:\s*", "", reason)
    first, _, rest = reason.partition("\n")
    message = f"{spec.source}: cannot solve the environment: {first.strip()}"
    if rest.strip():
        message += "\n" + _one_line(rest)
    elif "No candidates were found" in first:
        message += f"\nsearched {', '.join(urls)} for {', '.join(platforms)}"
    return EnvError(message)


def _network_error(error, urls: Sequence[str], what: str) -> EnvError:
    """A gateway/download error -> which channel, why (last cause), what to do."""
    text = str(error)
    mentioned = re.findall(r"(?:url \(|channel ')([^)' ]+)", text)
    channel = next((u for m in mentioned for u in urls if m.startswith(u.rstrip("/"))),
                   mentioned[0] if mentioned else (urls[0] if urls else "?"))
    causes = [line.removeprefix("Caused by:").strip() for line in text.splitlines() if line.strip()]
    cause = causes[-1] if causes else type(error).__name__
    if "certificate" in text.lower():
        return EnvError(f"{what}: the TLS certificate of {channel} is not trusted ({cause})\n"
                        f"point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at your site's CA bundle, "
                        f"or {CHANNELS_HINT}")
    if re.search(r"\b404 Not Found|No such file or directory", text):
        return EnvError(f"{what}: {channel} is not a conda channel, or lacks this platform "
                        f"({cause})\n{CHANNELS_HINT}")
    proxy = next((f"{key}={os.environ[key]}" for key in ("HTTPS_PROXY", "https_proxy",
                  "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy") if os.environ.get(key)),
                 None)
    network = f"the network and the proxy ({proxy})" if proxy else "the network"
    return EnvError(f"{what}: cannot reach conda channel {channel} ({cause})\n"
                    f"check {network}, or {CHANNELS_HINT}")


def _virtual_packages(given):
    from rattler import GenericVirtualPackage, PackageName, Version, VirtualPackage

    if given is None:
        return VirtualPackage.detect()
    result = []
    for item in given:
        if isinstance(item, str):
            name, _, rest = item.partition("=")
            version, _, build = rest.partition("=")
            item = GenericVirtualPackage(PackageName(name), Version(version or "0"), build or "0")
        result.append(item)
    return result


def solve(spec: CondaSpec, channels: Sequence[str] | None = None,
          platforms: Sequence[str] = DEFAULT_PLATFORMS, virtual_packages=None, *,
          channel_alias: str = DEFAULT_CHANNEL_ALIAS, cache_dir=DEFAULT_REPODATA_CACHE):
    """Solve the conda part of `spec`; return rattler RepoDataRecords (pip part untouched).

    channels: names or URLs to solve against (the caller maps spec.channels through the
    site's envs.channels mirrors); None means spec.channels, or conda-forge if it names
    none. virtual_packages: None detects this machine's (__glibc, __linux, __unix,
    __archspec); or give "__glibc=2.36"-style strings / GenericVirtualPackage objects,
    e.g. [] in tests. cache_dir: rattler's repodata cache.
    """
    from rattler import Channel, Gateway, solve as rattler_solve
    from rattler.exceptions import FetchRepoDataError, GatewayError, SolverError

    urls = channel_urls(channels if channels is not None else (spec.channels or DEFAULT_CHANNELS),
                        channel_alias)
    if not urls:
        raise EnvError(f"{spec.source}: no channels to solve against (only nodefaults?)")
    trust_site_ca()
    if cache_dir:
        try:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise EnvError(f"repodata cache {cache_dir}: {error.strerror}") from None
    gateway = Gateway(cache_dir=cache_dir) if cache_dir else Gateway()
    try:
        return run_coroutine(rattler_solve(
            sources=[Channel(url) for url in urls], specs=list(spec.dependencies),
            gateway=gateway, platforms=list(platforms),
            virtual_packages=_virtual_packages(virtual_packages)))
    except SolverError as error:
        raise _solver_error(error, spec, urls, platforms) from None
    except (GatewayError, FetchRepoDataError) as error:
        raise _network_error(error, urls, f"{spec.source}: fetching package lists") from None


# --- the lock ----------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_imports():
    """conda-lock's vendored conda warns about its own deprecations at import; not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield


def _target_platform(subdirs: Iterable[str], given: str | None) -> str:
    if given:
        return given
    concrete = sorted({s for s in subdirs if s != "noarch"})
    if len(concrete) > 1:
        raise EnvError(f"packages for several platforms ({', '.join(concrete)}); name one")
    if concrete:
        return concrete[0]
    from rattler import Subdir

    return str(Subdir.current())


def _dependencies(depends: Iterable[str]) -> dict[str, str]:
    """conda-lock's `dependencies`: name -> version constraint ("" for any)."""
    from rattler import MatchSpec

    merged: dict[str, list[str]] = {}
    for text in depends:
        match = MatchSpec(text)
        constraints = merged.setdefault(match.name.normalized, [])
        if match.version is not None:
            constraints.append(str(match.version))
    return {name: ",".join(parts) for name, parts in merged.items()}


def _spec_hash(spec: CondaSpec, platform: str) -> str:
    text = json.dumps({"channels": list(spec.channels), "dependencies": list(spec.dependencies),
                       "platform": platform}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def write_lock(records, spec: CondaSpec, lock_path, *, channels: Sequence[str] | None = None,
               platform: str | None = None) -> Path:
    """Write `records` as conda-lock.yml (format version 1) at lock_path, atomically.

    channels: recorded in the lock's metadata; default the channels the records came
    from. platform: default the records' (non-noarch) subdir.
    """
    with _quiet_imports():
        from conda_lock.lockfile import write_conda_lock_file
        from conda_lock.lockfile.v2prelim.models import (HashModel, LockedDependency, Lockfile,
                                                         LockMeta)

    records = list(records)
    platform = _target_platform((r.subdir for r in records), platform)
    packages = []
    for record in records:
        if not record.md5 or not record.sha256:
            raise EnvError(f"{record.file_name}: the channel gives no md5/sha256; "
                           f"it cannot be locked")
        packages.append(LockedDependency(
            name=record.name.normalized, version=str(record.version), manager="conda",
            platform=platform, dependencies=_dependencies(record.depends), url=record.url,
            hash=HashModel(md5=record.md5.hex(), sha256=record.sha256.hex()),
            build=str(record.build), categories={"main"}))
    if channels is None:
        channels = list(dict.fromkeys(r.channel.rstrip("/") for r in records if r.channel))
    lock_path = Path(lock_path)
    source = spec.source  # conda-lock records it relative to the lock's directory
    if os.path.isabs(source):
        source = os.path.relpath(source, lock_path.resolve().parent)
    lockfile = Lockfile(package=packages, metadata=LockMeta(
        content_hash={platform: _spec_hash(spec, platform)}, channels=list(channels),
        platforms=[platform], sources=[source]))
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # The writer names the file in its help text, so write it under its own name in a
    # scratch directory next to the target, then rename.
    with tempfile.TemporaryDirectory(prefix=".conda-lock-", dir=lock_path.parent) as scratch:
        partial = Path(scratch) / lock_path.name
        write_conda_lock_file(lockfile, partial, metadata_choices=None)
        os.replace(partial, lock_path)
    return lock_path


def _build_number(build: str) -> int:
    # Not in conda-lock's format; conda builds end in _<build number> by convention.
    tail = build.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _lock_problem(error) -> str:
    """One line for what conda-lock's reader (PyYAML + pydantic) found wrong."""
    if hasattr(error, "errors") and callable(error.errors):  # pydantic ValidationError
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        return f"{where}: {first.get('msg', '')}{more}"
    mark = getattr(error, "problem_mark", None)
    text = " ".join(str(getattr(error, "problem", None) or error).split())
    if mark is not None:
        return f"line {mark.line + 1}: {text}"
    return text or type(error).__name__


def read_lock(lock_path, platform: str | None = None) -> list:
    """The conda packages of a conda-lock.yml (v1 or v2) as rattler RepoDataRecords.

    Only what the lock holds is known (name, version, build, depends, URL, hashes), so
    conda-meta/ gets those; noarch handling comes from each package's own index.json at
    install time. pip entries are skipped (they are installed by uv).
    """
    with _quiet_imports():
        from conda_lock.lockfile import parse_conda_lock_file
    from rattler import BuildString, PackageRecord, RepoDataRecord

    lock_path = Path(lock_path)
    try:
        lockfile = parse_conda_lock_file(lock_path)
    except FileNotFoundError:
        raise EnvError(f"{lock_path}: no such lock file") from None
    except Exception as error:  # YAML, pydantic validation, unknown version
        problem = _lock_problem(error).replace(f"{lock_path} ", "")
        raise EnvError(f"{lock_path}: not a valid conda-lock.yml ({problem})") from None
    platforms = lockfile.metadata.platforms
    if platform is None:
        from rattler import Subdir

        current = str(Subdir.current())
        platform = current if current in platforms or len(platforms) != 1 else platforms[0]
    if platform not in platforms:
        raise EnvError(f"{lock_path}: locked for {', '.join(platforms)}, not {platform}")
    records = []
    for package in lockfile.package:
        if package.manager != "conda" or package.platform != platform:
            continue
        path = urlsplit(package.url).path
        file_name = path.rsplit("/", 1)[-1]
        subdir = path.rsplit("/", 2)[-2] if path.count("/") >= 2 else platform
        build = package.build or re.sub(r"\.(tar\.bz2|conda)$", "", file_name).removeprefix(
            f"{package.name}-{package.version}-")
        depends = [f"{name} {spec}".strip() for name, spec in package.dependencies.items()]
        try:
            record = PackageRecord(
                name=package.name, version=package.version, build=BuildString(build),
                build_number=_build_number(build), subdir=subdir, depends=depends,
                md5=bytes.fromhex(package.hash.md5) if package.hash.md5 else None,
                sha256=bytes.fromhex(package.hash.sha256) if package.hash.sha256 else None)
        except Exception as error:
            raise EnvError(f"{lock_path}: package {package.name} {package.version}: "
                           f"{error}") from None
        channel = package.url[: package.url.rfind(f"/{subdir}/")] + "/"
        records.append(RepoDataRecord(record, file_name, package.url, channel))
    if not records:
        raise EnvError(f"{lock_path}: no conda packages for {platform}")
    return records


def lock_hash(lock_path) -> str:
    """sha256 (hex) of the locked package set: each package's manager, platform, name,
    version and content hash. Comments, metadata, order and URLs (mirrors) do not count."""
    from ruamel.yaml import YAML

    lock_path = Path(lock_path)
    try:
        data = YAML(typ="safe").load(lock_path.read_text())
        entries = sorted({"\t".join((p["manager"], p["platform"], p["name"], str(p["version"]),
                                     p["hash"].get("sha256") or p["hash"].get("md5") or p["url"]))
                          for p in data["package"]})
    except FileNotFoundError:
        raise EnvError(f"{lock_path}: no such lock file") from None
    except Exception as error:
        raise EnvError(f"{lock_path}: not a valid conda-lock.yml ({type(error).__name__}: "
                       f"{str(error).splitlines()[0] if str(error) else ''})") from None
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


# --- installing --------------------------------------------------------------------


def _reporter(progress: Progress | None, errors: list):
    from rattler import InstallerReporter

    class Reporter(InstallerReporter):
        def __init__(self):
            self.total, self.done, self.names = 0, 0, {}

        def _tell(self, package: str) -> None:
            if progress is None or errors:
                return
            try:
                progress(self.done, self.total, package)
            except BaseException as error:  # raised again once rattler returns
                errors.append(error)

        def on_transaction_start(self, total_operations: int) -> None:
            self.total = total_operations
            self._tell("")

        def on_link_start(self, operation: int, package_name: str) -> int:
            self.names[operation] = package_name
            return operation

        def on_transaction_operation_complete(self, operation: int) -> None:
            self.done += 1
            self._tell(self.names.get(operation, ""))

    return Reporter()


def _verify_local_files(records) -> None:
    """Check file:// packages against the lock: rattler checks hashes of downloads only."""
    for record in records:
        parts = urlsplit(record.url)
        if parts.scheme != "file":
            continue
        path = Path(url2pathname(parts.path))
        algorithm, expected = ("sha256", record.sha256) if record.sha256 else ("md5", record.md5)
        if expected is None:
            raise EnvError(f"{record.url}: the lock gives no sha256 or md5 for it")
        digest = hashlib.new(algorithm)
        try:
            with open(path, "rb") as package:
                for block in iter(lambda: package.read(1 << 20), b""):
                    digest.update(block)
        except OSError as error:
            raise EnvError(f"{record.url}: {error.strerror}; the channel changed since the lock "
                           f"was made: lock the environment again") from None
        if digest.digest() != bytes(expected):
            raise EnvError(f"{record.url}: {algorithm} does not match the lock\nthe package "
                           f"changed on the channel since it was locked: "
                           f"lock the environment again")


def _install_error(error, records, prefix) -> EnvError:
    text = str(error)
    causes = [part.strip() for part in re.split(r"\s*Caused by:\s*", text) if part.strip()]
    first, last = (causes[0], causes[-1]) if causes else (type(error).__name__,) * 2
    if "hash mismatch" in text:
        url = re.search(r"when extracting (\S+)", text)
        return EnvError(f"installing into {prefix}: {url.group(1) if url else first} does not "
                        f"match the lock's hash\nthe package changed on the channel since it "
                        f"was locked: lock the environment again")
    if re.search(r"https?://", text):
        urls = list(dict.fromkeys(r.channel for r in records if r.channel))
        return _network_error(error, urls, f"installing into {prefix}")
    detail = f"{first}: {last}" if last != first else first
    return EnvError(f"installing into {prefix} failed: {detail}")


def install(lock_or_records, prefix, cache_dir=DEFAULT_PACKAGE_CACHE,
            progress: Progress | None = None, platform: str | None = None) -> list:
    """Install a conda-lock.yml (path) or rattler records into `prefix`; return the records.

    Packages are downloaded (checked against the lock's sha256/md5) and extracted once
    into cache_dir; their files are hardlinked into the prefix when both are on the same
    filesystem (rattler copies otherwise, and always copies files that need a prefix
    rewritten). Packages' post-link scripts are not run. progress(done, total, package)
    is called as operations complete.
    """
    from rattler import Subdir, install as rattler_install

    if isinstance(lock_or_records, (str, os.PathLike)):
        records = read_lock(lock_or_records, platform)
    else:
        records = list(lock_or_records)
    platform = _target_platform((r.subdir for r in records), platform)
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EnvError(f"package cache {cache_dir}: {error.strerror}") from None
    _verify_local_files(records)
    trust_site_ca()
    errors: list = []
    try:
        run_coroutine(rattler_install(
            records, target_prefix=Path(prefix), cache_dir=cache_dir, platform=Subdir(platform),
            execute_link_scripts=False, show_progress=False,
            reporter=_reporter(progress, errors)))
    except Exception as error:
        raise _install_error(error, records, prefix) from None
    if errors:
        raise errors[0]
    return records
