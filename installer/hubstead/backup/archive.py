"""The archive format: a gzip'd tar whose first member, hubstead-backup.json, says which
Hubstead wrote it and whose last, manifest.json, holds a sha256 for every file member.

An archive is written to a temporary file in the target's directory (mode 0600) and
renamed into place only when complete, so a full disk or a crash never leaves a file
that looks like a backup. Reading checks everything before anyone acts on it.
"""

import hashlib
import io
import json
import os
import posixpath
import subprocess
import tarfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .. import __version__
from . import BackupError

FORMAT = 1
HEADER = "hubstead-backup.json"
MANIFEST = "manifest.json"
CHUNK = 1 << 20


@dataclass
class Manifest:
    version: str
    created: float
    format: int = FORMAT
    homes: bool = False
    members: dict = field(default_factory=dict)  # name -> {"sha256": ...} | {"link": ...} | {"dir": True}

    def header(self):
        return {"format": self.format, "version": self.version, "created": self.created, "homes": self.homes}


class _HashingReader:
    """Reads SIZE bytes from a file object, hashing them; pads with zeros if the file
    shrank while it was read (a learner's file changing during a live backup)."""

    def __init__(self, stream, size):
        self.stream, self.left, self.digest = stream, size, hashlib.sha256()

    def read(self, size=-1):
        size = self.left if size < 0 else min(size, self.left)
        data = self.stream.read(size) if size else b""
        data += b"\0" * (size - len(data))
        self.left -= len(data)
        self.digest.update(data)
        return data


class ArchiveWriter:
    """Write an archive at PATH: `with ArchiveWriter(path) as out: out.add_bytes(...)`."""

    def __init__(self, path, homes=False, compresslevel=6):
        self.path = Path(path)
        self.manifest = Manifest(version=__version__, created=time.time(), homes=homes)
        self.compresslevel = compresslevel
        self.temp = None

    def __enter__(self):
        directory = self.path.parent
        if not directory.is_dir():
            raise BackupError(f"cannot write {self.path}: {directory} is not a directory.")
        name = f".{self.path.name}.partial-{os.getpid()}"
        try:
            descriptor = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as error:
            raise BackupError(f"cannot write {self.path}: {error.strerror}.") from None
        self.temp = directory / name
        self.raw = os.fdopen(descriptor, "wb")
        self.tar = tarfile.open(fileobj=self.raw, mode="w:gz", compresslevel=self.compresslevel,
                                format=tarfile.PAX_FORMAT)
        self.add_bytes(HEADER, json.dumps(self.manifest.header(), indent=2).encode(), record=False)
        return self

    def __exit__(self, kind, error, trace):
        try:
            if kind is None:
                self.add_bytes(MANIFEST, json.dumps({**self.manifest.header(), "members": self.manifest.members},
                                                    indent=1).encode(), record=False)
                self.tar.close()
                self.raw.flush()
                os.fsync(self.raw.fileno())
                self.raw.close()
                os.replace(self.temp, self.path)
                return False
        except OSError as failure:
            self._discard()
            raise BackupError(f"cannot write {self.path}: {failure.strerror or failure}; "
                              "nothing was left behind.") from None
        self._discard()
        if isinstance(error, OSError):
            # An error reading what goes in names that file, not the archive.
            read = error.filename and str(error.filename) != str(self.temp)
            raise BackupError(f"cannot {'read ' + str(error.filename) if read else 'write ' + str(self.path)}: "
                              f"{error.strerror or error}; nothing was left behind.") from None
        return False

    def _discard(self):
        for close in (self.tar.close, self.raw.close):
            try:
                close()
            except (OSError, ValueError, tarfile.TarError):
                pass
        if self.temp and self.temp.exists():
            self.temp.unlink()

    def add_bytes(self, name, data, mode=0o600, record=True):
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, int(time.time())
        self.tar.addfile(info, io.BytesIO(data))
        if record:
            self.manifest.members[name] = {"sha256": hashlib.sha256(data).hexdigest()}

    def add_file(self, name, path, mode=None):
        """Add a regular file that only root can change (state, config)."""
        data = Path(path).read_bytes()
        self.add_bytes(name, data, mode if mode is not None else Path(path).stat().st_mode & 0o7777)

    def add_stream(self, info, stream):
        """Add INFO (a TarInfo) with its content read from STREAM, hashing as it goes."""
        if info.isreg():
            reader = _HashingReader(stream, info.size)
            self.tar.addfile(info, reader)
            self.manifest.members[info.name] = {"sha256": reader.digest.hexdigest()}
        else:
            self.tar.addfile(info)
            self.manifest.members[info.name] = {"link": info.linkname} if info.issym() else {"dir": True}


def _problem(path, error):
    if isinstance(error, (EOFError, tarfile.ReadError, OSError)) and "truncated" in str(error).lower():
        return f"{path} is truncated (it ends before the archive does); nothing was changed."
    if isinstance(error, EOFError):
        return f"{path} is truncated (it ends before the archive does); nothing was changed."
    return f"{path} is not a Hubstead backup ({error}); nothing was changed."


def check_header(path, header):
    if not isinstance(header, dict) or "version" not in header or "format" not in header:
        raise BackupError(f"{path} is not a Hubstead backup (its first member is not a backup header).")
    try:
        newer = Version(str(header["version"])) > Version(__version__)
    except InvalidVersion:
        raise BackupError(f"{path} names an unknown Hubstead version {header['version']!r}.") from None
    if newer or int(header["format"]) > FORMAT:
        raise BackupError(f"{path} was written by Hubstead {header['version']}, newer than this one "
                          f"({__version__}); upgrade Hubstead here first. Nothing was changed.")


def read_manifest(path, handle=None):
    """Read the whole archive, checking every member against the manifest; return it.

    handle(TarInfo, tar), when given, reads each member instead of this function and
    returns what digest() would (the checks compare it with the manifest at the end)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file.")
    seen, header, manifest = {}, None, None
    try:
        with _gunzipped(path) as (stream, gunzip), tarfile.open(fileobj=stream, mode="r|") as tar:
            for info in tar:
                if header is None:
                    header = json_member(path, tar, info, HEADER)
                    check_header(path, header)
                    continue
                if info.name == MANIFEST:
                    manifest = json_member(path, tar, info, MANIFEST)
                    continue
                seen[info.name] = handle(info, tar) if handle else digest(tar, info)
            stream.read()  # to the end, so that gzip's verdict on the whole file counts
            _gzip_verdict(path, gunzip)
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise BackupError(_problem(path, error)) from None
    if header is None or manifest is None:
        raise BackupError(f"{path} is truncated or not a Hubstead backup: it has no manifest; nothing was changed.")
    _compare(path, manifest.get("members", {}), seen)
    return Manifest(version=header["version"], created=header["created"], format=header["format"],
                    homes=bool(header.get("homes")), members=manifest["members"])


@contextmanager
def _gunzipped(path):
    """The archive's tar stream, decompressed by gzip(1) in a process of its own, so that
    inflating runs beside the hashing and writing here, as in `tar -xz` (the restore
    took 1.6x tar's time inflating in this process)."""
    with open(path, "rb") as raw:
        gunzip = subprocess.Popen(["gzip", "-dc"], stdin=raw, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield gunzip.stdout, gunzip
    finally:
        gunzip.stdout.close()
        if gunzip.poll() is None:
            gunzip.kill()
        gunzip.wait()
        gunzip.stderr.close()


def _gzip_verdict(path, gunzip):
    problem = gunzip.stderr.read().decode(errors="replace").strip()
    if gunzip.wait() == 0 or (gunzip.returncode == 2 and "trailing garbage ignored" in problem):
        return  # bytes after the gzip stream are not part of the archive the manifest checked
    if "unexpected end of file" in problem:
        raise BackupError(f"{path} is truncated (it ends before the archive does); nothing was changed.")
    raise BackupError(f"{path} is not a Hubstead backup (gzip: {problem.splitlines()[-1] if problem else 'failed'}); "
                      "nothing was changed.")


def json_member(path, tar, info, expected):
    if info.name != expected or not info.isreg() or info.size > 64 << 20:
        raise BackupError(f"{path} is not a Hubstead backup (no {expected} where it belongs).")
    try:
        return json.loads(tar.extractfile(info).read())
    except ValueError:
        raise BackupError(f"{path}: {expected} is not valid JSON; the archive is damaged.") from None


def digest(tar, info, sink=None):
    """What the manifest records for INFO: the content's sha256, or a link's target.
    sink(chunk), when given, also receives the content as it is read."""
    if info.issym():
        return {"link": info.linkname}
    if info.isdir():
        return {"dir": True}
    if not info.isreg():
        return {"other": info.type.decode(errors="replace")}
    hashed, stream = hashlib.sha256(), tar.extractfile(info)
    while chunk := stream.read(CHUNK):
        hashed.update(chunk)
        if sink:
            sink(chunk)
    return {"sha256": hashed.hexdigest()}


def _compare(path, expected, seen):
    damaged = sorted(name for name in expected if seen.get(name) != expected[name])
    extra = sorted(set(seen) - set(expected))
    if damaged or extra:
        names = ", ".join((damaged + extra)[:3])
        raise BackupError(f"{path} is damaged: {len(damaged) + len(extra)} member(s) do not match its manifest "
                          f"({names}); nothing was changed.")


def member_problem(info, root):
    """Why INFO may not be extracted under ROOT (a home, e.g. homes/jupyter-ann), or None.

    Only files, directories and links, with relative names inside ROOT: no absolute
    names, no '..', no devices or FIFOs."""
    name = info.name
    if name.startswith("/") or ".." in name.split("/"):
        return f"{name!r} leaves its home"
    if name != root and not name.startswith(root + "/"):
        return f"{name!r} is outside {root}"
    if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
        return f"{name!r} is a device, FIFO or other special file"
    return None


def escapes(info, root):
    """True for a link (symbolic or hard) whose target is not inside ROOT."""
    if not (info.issym() or info.islnk()):
        return False
    target = info.linkname
    if info.issym():
        if target.startswith("/"):
            return True
        target = posixpath.join(posixpath.dirname(info.name), target)
    target = posixpath.normpath(target)
    return target != root and not target.startswith(root + "/")


def safe_members(members, root):
    """The members of one home that may be extracted: refuses (BackupError) bad names and
    special files, and anything below a symbolic link (extracting it would write through
    the link); leaves out links pointing out of the home. Returns (kept, left_out_names)."""
    links = {info.name for info in members if info.issym()}
    kept, left_out = [], []
    for info in members:
        problem = member_problem(info, root)
        if problem is None:
            parts = info.name.split("/")
            if any("/".join(parts[:end]) in links for end in range(1, len(parts))):
                problem = f"{info.name!r} lies below a symbolic link"
        if problem:
            raise BackupError(f"refusing to restore {root}: {problem}. The archive was not made by Hubstead; "
                              "nothing of this home was written.")
        (left_out if escapes(info, root) else kept).append(info)
    return kept, [info.name for info in left_out]
