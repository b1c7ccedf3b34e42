"""Build a real, local conda channel in a directory, with no conda-forge and no network.

    python3 tests/harness/conda_channel.py DIRECTORY [--python /usr/bin/python3.11 | --no-python]
                                           [--indexer auto|rattler|stdlib]

Every package is a genuine `.tar.bz2` conda package (info/index.json, info/paths.json
with the sha256 and size of each file, info/files, info/link.json for noarch python,
payload), and the channel is indexed into `<subdir>/repodata.json`: by py-rattler's own
indexer (`rattler.index.index_fs`) when py-rattler is importable, otherwise by the small
stdlib indexer below, so that this file also runs with a plain `python3` inside a test
container. Only the standard library is imported at module level.

What DEFAULT_PACKAGES holds (see the list at the bottom):

- hubstead-test-alpha 1.0 and 2.0 (noarch generic): a text file plus 256 KiB of data,
  so hardlinks between environments are measurable;
- hubstead-test-beta 1.0 (noarch generic), depending on `hubstead-test-alpha <2`;
- hubstead-test-hello 1.0 (noarch python, needs `python`): a module that prints
  HELLO_MESSAGE when imported, and a `hubstead-test-hello` entry point;
- python X.Y.Z (linux-64): the machine's Debian CPython (/usr/bin/python3.11) relocated
  into a conda package, version named after the real interpreter. See PythonFromSystem.

How the python package works (measured on Debian 12, python3.11 3.11.2):

- Debian's /usr/bin/python3.11 links libpython statically (ldd shows only libc, libm,
  libz, libexpat), so the binary can be copied as it is: PREFIX/bin/python3.11, with
  bin/python3 and bin/python as relative symlinks.
- CPython's getpath finds its prefix by walking up from the executable's directory to
  the first `lib/python3.11/os.py`; with the stdlib copied to PREFIX/lib/python3.11,
  sys.prefix and sys.exec_prefix become PREFIX with no pyvenv.cfg, no PYTHONHOME and no
  patching of the binary. lib-dynload's extension modules keep using the system's
  shared libraries (libssl, libffi, libsqlite3...), which every Debian with python3.11
  has.
- Debian patches site.py (site-packages only inside a venv; dist-packages otherwise)
  and sysconfig.py (default scheme posix_local -> PREFIX/local/...). A conda python
  uses PREFIX/lib/python3.11/site-packages, which is where rattler links noarch python
  packages. Patching site.py does nothing: python3.11 runs a copy of `site` frozen into
  the binary. So the package ships a sitecustomize.py (imported from sys.path) that
  adds lib/python3.11/site-packages, and its sysconfig.py gets one checked text patch
  (posix_local -> posix_prefix, so pip/uv install into that site-packages too; the
  build fails loudly if Debian's text changes). Debian's EXTERNALLY-MANAGED marker
  (pip would refuse to install) and its sitecustomize.py (a symlink to /etc, the apport
  hook) are left out.
- An interpreter that links libpython dynamically (pyenv, python.org builds) is refused
  with a clear error: its RPATH points at its own install, so a copy would not be
  relocatable without patchelf.
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# Fixed times and owners: the same inputs always give byte-identical packages, so
# locks (and lock hashes) made from a rebuilt channel are stable.
PACKAGE_MTIME = 1_700_000_000
PACKAGE_TIMESTAMP_MS = PACKAGE_MTIME * 1000
HELLO_MESSAGE = "hello from hubstead-test-hello"
DEBIAN_PYTHON = "/usr/bin/python3.11"

# Left out of the python package: bytecode caches (rebuilt on demand), Debian's static
# libpython archives (25 MB, only for embedding), the test suite and GUI tools.
STDLIB_SKIP_DIRS = {"__pycache__", "test", "idlelib", "tkinter", "turtledemo"}
STDLIB_SKIP_FILES = {"EXTERNALLY-MANAGED", "sitecustomize.py"}
STDLIB_SKIP_SUFFIXES = (".a", ".o")


@dataclass(frozen=True)
class Package:
    """A small conda package whose payload is given inline.

    noarch: None (the package is for `subdir`), "generic" or "python". For noarch python
    the payload paths start with site-packages/ (or python-scripts/) as conda-build
    writes them; the installer moves them to lib/pythonX.Y/site-packages.
    """

    name: str
    version: str
    files: dict[str, bytes | str] = field(default_factory=dict)
    depends: tuple[str, ...] = ()
    build_number: int = 0
    noarch: str | None = "generic"
    subdir: str = "noarch"
    entry_points: tuple[str, ...] = ()
    license: str = "BSD-3-Clause"

    @property
    def build(self) -> str:
        prefix = {"python": "pyh", "generic": "h"}.get(self.noarch or "", "h")
        return f"{prefix}_hubstead_{self.build_number}"

    def payload(self) -> list[tuple[str, bytes | None, str | None]]:
        """(path, content, symlink target) for each payload entry."""
        return [(path, data.encode() if isinstance(data, str) else data, None)
                for path, data in sorted(self.files.items())]

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.noarch or self.subdir})"


class PythonFromSystem:
    """A `python` package for linux-64 assembled from a CPython on this machine."""

    name = "python"
    subdir = "linux-64"
    noarch = None
    entry_points: tuple[str, ...] = ()
    license = "PSF-2.0"

    def __init__(self, interpreter: str = DEBIAN_PYTHON, build_number: int = 0):
        self.interpreter = interpreter
        self.build_number = build_number
        self._facts: dict | None = None

    def available(self) -> str | None:
        """None if the interpreter can be packaged, else why not."""
        if not os.access(self.interpreter, os.X_OK):
            return f"{self.interpreter} does not exist (apt-get install python3.11)"
        try:
            self.facts()
        except (OSError, subprocess.CalledProcessError, ValueError) as error:
            return str(error)
        return None

    def facts(self) -> dict:
        if self._facts is None:
            probe = ("import json, sys, sysconfig; print(json.dumps({'version': '%d.%d.%d' % "
                     "sys.version_info[:3], 'short': '%d.%d' % sys.version_info[:2], "
                     "'stdlib': sysconfig.get_paths()['stdlib'], 'shared': "
                     "bool(sysconfig.get_config_var('Py_ENABLE_SHARED'))}))")
            output = subprocess.run([self.interpreter, "-I", "-c", probe], capture_output=True,
                                    text=True, check=True).stdout
            facts = json.loads(output)
            try:
                linked = subprocess.run(["ldd", self.interpreter], capture_output=True,
                                        text=True).stdout
            except FileNotFoundError:  # no ldd: the dynamic section names what it links
                linked = "libpython" if b"libpython" in Path(self.interpreter).read_bytes() else ""
            if facts["shared"] and "libpython" in linked:
                raise ValueError(f"{self.interpreter} links libpython dynamically "
                                 f"(Py_ENABLE_SHARED); use a statically linked interpreter "
                                 f"such as Debian's {DEBIAN_PYTHON}")
            facts["real"] = os.path.realpath(self.interpreter)
            self._facts = facts
        return self._facts

    @property
    def version(self) -> str:
        return self.facts()["version"]

    @property
    def build(self) -> str:
        return f"h_system_{self.build_number}"

    @property
    def depends(self) -> tuple[str, ...]:
        return ()

    def describe(self) -> str:
        return f"python {self.version} (linux-64, from {self.interpreter})"

    def payload(self) -> list[tuple[str, bytes | None, str | None]]:
        facts = self.facts()
        short = facts["short"]
        entries: list[tuple[str, bytes | None, str | None]] = [
            (f"bin/python{short}", Path(facts["real"]).read_bytes(), None),
            ("bin/python3", None, f"python{short}"),
            ("bin/python", None, f"python{short}"),
        ]
        stdlib = Path(facts["stdlib"])
        target = f"lib/python{short}"
        for directory, subdirs, files in os.walk(stdlib):
            subdirs[:] = sorted(d for d in subdirs if d not in STDLIB_SKIP_DIRS
                                and not (Path(directory) / d).is_symlink())
            for filename in sorted(files):
                source = Path(directory) / filename
                relative = source.relative_to(stdlib).as_posix()
                if filename in STDLIB_SKIP_FILES or filename.endswith(STDLIB_SKIP_SUFFIXES):
                    continue
                if source.is_symlink():
                    link = os.readlink(source)
                    resolved = (source.parent / link).resolve()
                    if os.path.isabs(link) or stdlib.resolve() not in resolved.parents:
                        continue  # points outside the stdlib (e.g. /etc, ../x86_64-linux-gnu)
                    entries.append((f"{target}/{relative}", None, link))
                    continue
                data = source.read_bytes()
                if relative == "sysconfig.py":
                    data = _patch(data, relative,
                                  b"        else:\n            prefix_scheme = 'posix_local'\n",
                                  b"        else:\n            prefix_scheme = 'posix_prefix'\n")
                entries.append((f"{target}/{relative}", data, None))
        entries.append((f"{target}/sitecustomize.py", SITECUSTOMIZE.encode(), None))
        entries.append((f"{target}/site-packages/README.hubstead",
                        b"Packages installed into this environment live here.\n", None))
        return entries


# Debian's site module is frozen into the binary (python3.11 freezes site, os, codecs...
# for start-up speed), so a patched copy of site.py would never run; sitecustomize is
# imported from sys.path, so it can add the conda-style site-packages.
SITECUSTOMIZE = """\
# Written by Hubstead's test channel: a conda-style site-packages for Debian's python.
import os
import site
import sys

site.addsitedir(os.path.join(sys.prefix, "lib", "python%d.%d" % sys.version_info[:2],
                             "site-packages"))
"""


def _patch(data: bytes, name: str, old: bytes, new: bytes) -> bytes:
    """Replace `old` exactly once; Debian's Python (where these texts exist) is required."""
    if data.count(old) != 1:
        raise ValueError(f"{name}: expected Debian's text {old!r} exactly once; this "
                         f"interpreter's stdlib is not Debian's python3 layout")
    return data.replace(old, new)


# --- packaging ---------------------------------------------------------------------


def _tarinfo(path: str, size: int = 0, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.size, info.mode, info.mtime = size, mode, PACKAGE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _add(tar: tarfile.TarFile, path: str, data: bytes | None = None, link: str | None = None,
         mode: int = 0o644) -> None:
    if link is not None:
        info = _tarinfo(path, mode=0o777)
        info.type, info.linkname = tarfile.SYMTYPE, link
        tar.addfile(info)
    else:
        tar.addfile(_tarinfo(path, len(data), mode), io.BytesIO(data))


def _executable(path: str, data: bytes) -> bool:
    return path.startswith("bin/") or data[:2] == b"#!" or data[:4] == b"\x7fELF"


def package_filename(package) -> str:
    return f"{package.name}-{package.version}-{package.build}.tar.bz2"


def build_package(package, directory: Path) -> Path:
    """Write `package` as DIRECTORY/<subdir>/<name>-<version>-<build>.tar.bz2."""
    subdir = directory / package.subdir
    subdir.mkdir(parents=True, exist_ok=True)
    payload = package.payload()
    contents = {path: (data, link) for path, data, link in payload}
    paths = []
    for path, data, link in payload:
        if link is not None:
            # conda-build records a symlink to a file with that file's hash and size.
            resolved = os.path.normpath(str(PurePosixPath(path).parent / link))
            target = contents.get(resolved, (b"", None))[0] or b""
            paths.append({"_path": path, "path_type": "softlink",
                          "sha256": hashlib.sha256(target).hexdigest(),
                          "size_in_bytes": len(target)})
        else:
            paths.append({"_path": path, "path_type": "hardlink",
                          "sha256": hashlib.sha256(data).hexdigest(),
                          "size_in_bytes": len(data)})
    index = {
        "name": package.name,
        "version": package.version,
        "build": package.build,
        "build_number": package.build_number,
        "depends": list(package.depends),
        "license": package.license,
        "subdir": package.subdir,
        "timestamp": PACKAGE_TIMESTAMP_MS,
    }
    if package.noarch:
        index["noarch"] = package.noarch
    else:
        system, bits = package.subdir.split("-", 1)
        index["platform"], index["arch"] = system, {"64": "x86_64"}.get(bits, bits)
    info = {
        "info/index.json": json.dumps(index, indent=2, sort_keys=True),
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}, indent=2),
        "info/files": "".join(f"{path}\n" for path, _, _ in payload),
        "info/about.json": json.dumps({"summary": f"Hubstead test package {package.name}",
                                       "license": package.license}),
    }
    if package.noarch == "python":
        info["info/link.json"] = json.dumps({
            "noarch": {"type": "python", "entry_points": list(package.entry_points)},
            "package_metadata_version": 1})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, text in info.items():
            _add(tar, path, text.encode())
        for path, data, link in payload:
            executable = data is not None and _executable(path, data)
            _add(tar, path, data, link, 0o755 if executable else 0o644)
    target = subdir / package_filename(package)
    partial = target.with_name(f".{target.name}.partial")
    # Level 6: bzip2's level barely changes the size here and 9 is slower.
    partial.write_bytes(bz2.compress(buffer.getvalue(), 6))
    os.replace(partial, target)
    return target


# --- indexing ----------------------------------------------------------------------


def _read_index_json(archive: Path) -> dict:
    with tarfile.open(archive, "r:bz2") as tar:
        return json.load(tar.extractfile("info/index.json"))


def index_stdlib(directory: Path) -> None:
    """Write <subdir>/repodata.json for every subdir (noarch always), as conda's indexers do."""
    directory = Path(directory)
    (directory / "noarch").mkdir(parents=True, exist_ok=True)
    for subdir in sorted(p for p in directory.iterdir() if p.is_dir()):
        packages = {}
        for archive in sorted(subdir.glob("*.tar.bz2")):
            record = _read_index_json(archive)
            data = archive.read_bytes()
            record.update(md5=hashlib.md5(data).hexdigest(),
                          sha256=hashlib.sha256(data).hexdigest(), size=len(data))
            packages[archive.name] = record
        repodata = {"info": {"subdir": subdir.name}, "packages": packages, "packages.conda": {},
                    "removed": [], "repodata_version": 1}
        (subdir / "repodata.json").write_text(json.dumps(repodata, indent=2, sort_keys=True))


def index_rattler(directory: Path) -> None:
    from rattler.index import index_fs

    from hubstead.envs.conda import run_coroutine

    (Path(directory) / "noarch").mkdir(parents=True, exist_ok=True)
    # No shards and no .zst: plain repodata.json is what a file:// channel needs.
    run_coroutine(index_fs(channel_directory=Path(directory), write_zst=False,
                           write_shards=False, force=True))


def index_channel(directory: Path, indexer: str = "auto") -> str:
    """Index DIRECTORY; returns which indexer ran ("rattler" or "stdlib")."""
    if indexer == "auto":
        try:
            import rattler.index  # noqa: F401
        except ImportError:
            indexer = "stdlib"
        else:
            indexer = "rattler"
    (index_rattler if indexer == "rattler" else index_stdlib)(directory)
    return indexer


# --- the channel -------------------------------------------------------------------


def _data(seed: str, size: int) -> bytes:
    """Deterministic filler bytes (sha256 chain), for files big enough to measure."""
    out, block = bytearray(), seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def _alpha(version: str) -> Package:
    return Package("hubstead-test-alpha", version, files={
        "share/hubstead-test/alpha.txt": f"alpha {version}\n",
        "share/hubstead-test/alpha-data.bin": _data(f"alpha-{version}", 256 * 1024),
    })


HELLO_MODULE = f'''"""A test package: prints a line when imported."""
print({HELLO_MESSAGE!r})


def main():
    import sys
    print("hubstead-test-hello main, prefix", sys.prefix)
'''

DEFAULT_PACKAGES = (
    _alpha("1.0"),
    _alpha("2.0"),
    Package("hubstead-test-beta", "1.0", depends=("hubstead-test-alpha <2",), files={
        "share/hubstead-test/beta.txt": "beta 1.0 (needs alpha <2)\n",
        "bin/hubstead-test-beta": "#!/bin/sh\necho beta 1.0\n",
    }),
    Package("hubstead-test-hello", "1.0", noarch="python", depends=("python >=3.8",),
            entry_points=("hubstead-test-hello = hubstead_test_hello:main",),
            files={"site-packages/hubstead_test_hello/__init__.py": HELLO_MODULE}),
    PythonFromSystem(),
)


@dataclass
class Channel:
    directory: Path
    url: str
    packages: list = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # package -> why
    indexer: str = ""
    seconds: float = 0.0


def build_channel(directory, packages=DEFAULT_PACKAGES, indexer: str = "auto") -> Channel:
    """Build the packages into DIRECTORY and index it; returns a Channel with its file:// URL.

    A PythonFromSystem whose interpreter is missing or unsuitable is skipped; why is in
    Channel.skipped, so a test that needs python can say so.
    """
    started = time.monotonic()
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    channel = Channel(directory, directory.as_uri())
    for package in packages:
        if isinstance(package, PythonFromSystem):
            reason = package.available()
            if reason:
                channel.skipped[package.name] = reason
                continue
        build_package(package, directory)
        channel.packages.append(package)
    channel.indexer = index_channel(directory, indexer)
    channel.seconds = time.monotonic() - started
    return channel


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--python", default=DEBIAN_PYTHON, help="interpreter to package")
    parser.add_argument("--no-python", action="store_true", help="leave the python package out")
    parser.add_argument("--indexer", choices=("auto", "rattler", "stdlib"), default="auto")
    options = parser.parse_args(argv)
    packages = [p for p in DEFAULT_PACKAGES if not isinstance(p, PythonFromSystem)]
    if not options.no_python:
        packages.append(PythonFromSystem(options.python))
    channel = build_channel(options.directory, packages, options.indexer)
    for package in channel.packages:
        print(f"built {package.describe()}")
    for name, why in channel.skipped.items():
        print(f"skipped {name}: {why}", file=sys.stderr)
    print(f"indexed with {channel.indexer} in {channel.seconds:.1f} s: {channel.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
