"""Suite-wide helpers: say clearly what a test needs, and never pass silently in CI.

A test that needs root, a container or a browser calls `require(...)` (or uses one of
the fixtures below). On a developer machine a missing prerequisite skips the test; in
CI (CI set and non-empty) it fails, so a broken CI machine cannot turn into a green run
that tested nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.harness import file_times

# The containers and the installed hub, one per session for tests/e2e and tests/browser.
from tests.harness.fixtures import (base_rootfs, fresh_container, installed_hub, report_free_space,  # noqa: F401
                                    tljh_flags_hub)

# Directory under tests/ -> marker applied to every test in it, so `-m "not e2e"` works
# without each test module repeating the marker.
DIRECTORY_MARKERS = {"unit": "unit", "integration": "integration", "e2e": "e2e",
                     "browser": "browser", "vm": "vm"}


def require(condition: bool, what: str, how: str = "") -> None:
    """Skip (locally) or fail (CI) the current test unless `condition` holds.

    `what` names the missing prerequisite; `how` says how to get it.
    """
    if condition:
        return
    message = f"missing prerequisite: {what}"
    if how:
        message += f" -- {how}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(config, items):
    tests_root = Path(__file__).parent
    for item in items:
        try:
            top = Path(item.path).relative_to(tests_root).parts[0]
        except ValueError:
            continue
        if top in DIRECTORY_MARKERS:
            item.add_marker(DIRECTORY_MARKERS[top])


def pytest_runtest_logreport(report):
    file_times.record(report)


@pytest.fixture(name="require")
def require_fixture():
    """The `require` function, for tests that cannot import conftest."""
    return require


@pytest.fixture(scope="session")
def require_root():
    require(os.geteuid() == 0, "root privileges",
            "run the suite as root: sudo bash scripts/test")


@pytest.fixture(scope="session")
def require_nspawn(require_root):
    for tool, package in (("systemd-nspawn", "systemd-container"), ("nsenter", "util-linux"),
                          ("setpriv", "util-linux"), ("debootstrap", "debootstrap")):
        require(shutil.which(tool) is not None, f"{tool} (Debian package {package})",
                f"apt-get install {package}, or run bash scripts/test, which installs it")


@pytest.fixture(scope="session")
def require_chromium():
    for tool, package in (("chromium", "chromium"), ("chromedriver", "chromium-driver")):
        require(shutil.which(tool) is not None, f"{tool} (Debian package {package})",
                f"apt-get install {package}, or run bash scripts/test, which installs it")


# py-rattler's Rust threads can crash the interpreter's own shutdown after every test has
# passed (SIGSEGV/SIGABRT), which would turn a green run red. When rattler was loaded in
# this process, pytest leaves the way the hubstead command does: results already
# reported, output flushed, no finalization.
_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    import sys
    if _exit_status and "rattler" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
