"""Apply Hubstead's Ansible roles on this machine through ansible-runner.

Progress is shown with rich from the runner's events; the artifacts of the last
runs stay in /var/lib/hubstead/ansible for debugging.
"""

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths

PLAYBOOK = Path(__file__).with_name("site.yml")
KEEP_RUNS = 5
QUIET_ANSIBLE = {
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_RETRY_FILES_ENABLED": "False",
    "ANSIBLE_LOCALHOST_WARNING": "False",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
    "ANSIBLE_DEPRECATION_WARNINGS": "False",
    "ANSIBLE_PIPELINING": "True",
    "ANSIBLE_GATHERING": "explicit",
    "ANSIBLE_FORCE_COLOR": "0",
}


@dataclass
class TaskOutcome:
    name: str
    status: str  # ok, changed, failed, skipped
    message: str = ""


@dataclass
class ApplyResult:
    status: str
    outcomes: list = field(default_factory=list)

    @property
    def changed(self):
        return [outcome for outcome in self.outcomes if outcome.status == "changed"]

    @property
    def failed(self):
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def ok(self):
        return self.status == "successful" and not self.failed


def _task_name(event_data):
    role = event_data.get("role")
    task = event_data.get("task", "")
    return f"{role}: {task}" if role else task


def _failure_message(result):
    for key in ("msg", "stderr", "stdout"):
        text = result.get(key)
        if text:
            lines = str(text).strip().splitlines()
            return "\n".join(lines[-6:])
    return "failed"


class _Progress:
    """Turns runner events into a spinner line and a line per changed task."""

    def __init__(self, console, check):
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.check = check
        self.outcomes = []
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.bar = self.progress.add_task("Starting Ansible", total=None)

    def __call__(self, event):
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == "playbook_on_task_start":
            self.progress.update(self.bar, description=_task_name(data))
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
            self._record(kind, data)
        return True  # ansible-runner drops events whose handler returns False

    def _record(self, kind, data):
        result = data.get("res", {}) or {}
        name = _task_name(data)
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            outcome = TaskOutcome(name, "failed", _failure_message(result))
            self.console.print(f"[red]✗ {name}[/red]\n  {outcome.message}")
        elif kind == "runner_on_skipped":
            outcome = TaskOutcome(name, "skipped")
        elif result.get("changed"):
            outcome = TaskOutcome(name, "changed")
            verb = "would change" if self.check else "changed"
            self.console.print(f"[yellow]• {verb}:[/yellow] {name}")
        else:
            outcome = TaskOutcome(name, "ok")
        self.outcomes.append(outcome)


def apply(extravars, check=False, console=None):
    """Run the playbook; return an ApplyResult. `check` changes nothing."""
    import ansible_runner
    from rich.console import Console

    console = console or Console(stderr=True)
    base = paths.STATE_DIR / "ansible"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A fresh private data dir each run: ansible-runner saves a run's cmdline and
    # extravars there and would silently reuse them (a --check would stick).
    data_dir = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    # ansible-runner starts ansible-playbook from PATH: the one in this venv.
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    envvars = {**QUIET_ANSIBLE, "ANSIBLE_ROLES_PATH": str(paths.roles_dir())}
    inventory = f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}"
    progress = _Progress(console, check)
    try:
        with progress.progress:
            runner = _run(ansible_runner, data_dir, base / "artifacts", inventory, extravars, envvars, check,
                          progress)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return ApplyResult(status=runner.status, outcomes=progress.outcomes)


def _run(ansible_runner, data_dir, artifact_dir, inventory, extravars, envvars, check, progress):
    return ansible_runner.run(
        private_data_dir=str(data_dir),
        artifact_dir=str(artifact_dir),
        playbook=str(PLAYBOOK),
        inventory=inventory,
        extravars=extravars,
        envvars=envvars,
        cmdline="--check --diff" if check else "",
        event_handler=progress,
        rotate_artifacts=KEEP_RUNS,
        quiet=True,
    )
