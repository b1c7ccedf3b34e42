"""Environment builds started from the instructors' page, run on in the web service.

`hubstead env create` builds in the foreground; the page cannot wait that long, so a job
runs the same call (envs.manage.create) in a thread of the web service and writes its
progress to a log (root only, beside hubstead's DB) that the page reads from an offset.
A job lives as long as the web service does; the environment it built stays.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import audit, paths
from . import EnvError, store
from .manage import create, spec_kind

LOG_LIMIT = 256 * 1024
_jobs = {}
_lock = threading.Lock()


@dataclass
class Job:
    id: str
    name: str
    state: str  # running | succeeded | failed
    message: str
    started: float
    log: Path

    def as_dict(self):
        data = asdict(self)
        data.pop("log")
        return data


def jobs_dir():
    return paths.STATE_DIR / "env-jobs"


def start(name, filename, spec, description="", run=create):
    """Build environment NAME from an uploaded spec (FILENAME names its kind) in a thread."""
    store.valid_name(name)
    spec_kind(filename)
    if store.env_dir(name).is_dir() or running_for(name):
        raise EnvError(f"{name!r} exists already (or is being built); choose another name.")
    scratch = Path(tempfile.mkdtemp(prefix="hubstead-upload-"))  # mode 0700
    spec_path = scratch / Path(filename).name
    spec_path.write_bytes(spec)
    jobs_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    job_id = secrets.token_hex(8)
    job = Job(job_id, name, "running", "", time.time(), jobs_dir() / f"{job_id}.log")
    os.close(os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    with _lock:
        _jobs[job_id] = job
    # A thread does not inherit the request's context: pass on who asked, for the audit log.
    threading.Thread(target=_run, args=(job, spec_path, description, run, audit.actor()), daemon=True).start()
    return job


def _run(job, spec_path, description, run, actor):
    def progress(message):
        with job.log.open("a") as out:
            out.write(f"{message}\n")

    try:
        with audit.acting_as(*actor):
            run(job.name, spec_path, description=description, progress=progress)
    except Exception as error:  # a build's failure is the job's outcome, shown to the page
        progress(f"failed: {error}")
        job.state, job.message = "failed", str(error).splitlines()[0] if str(error) else type(error).__name__
    else:
        progress("done")
        job.state, job.message = "succeeded", f"{job.name} is ready"
    finally:
        shutil.rmtree(spec_path.parent, ignore_errors=True)


def get(job_id):
    with _lock:
        job = _jobs.get(job_id)
    if job is None:
        raise JobNotFound(f"no environment build {job_id!r} (jobs end when the hub service restarts)")
    return job


def progress(job_id, offset=0):
    """The job's state and its log from byte OFFSET on."""
    job = get(job_id)
    with job.log.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read(LOG_LIMIT)
    return {**job.as_dict(), "log": chunk.decode("utf-8", "replace"), "next_offset": offset + len(chunk)}


def running_for(name):
    with _lock:
        return next((job.id for job in _jobs.values() if job.name == name and job.state == "running"), None)


class JobNotFound(EnvError):
    status = 404
