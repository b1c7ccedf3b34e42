"""Fixtures that boot fresh-VM-like containers and install Hubstead into one of them,
shared by tests/e2e and tests/browser (tests/conftest.py imports them), so one test
session installs one hub whichever directories run.

- base_rootfs: the cached debootstrapped tree (built once per machine, ~1 min).
- fresh_container: a new booted overlay per test, for tests that break things.
- installed_hub: ONE container per session with the README's install done, shared by
  every test that only needs a working hub (an install costs minutes).

HUBSTEAD_TEST_SUITE picks the Debian suite (default bookworm); HUBSTEAD_TEST_NO_CACHE=1
turns off the host's apt/pip/uv download caches (honest cold timings).
"""

from __future__ import annotations

import os

import pytest

from tests.harness.container import Container, ensure_base_rootfs, log
from tests.harness.hub import InstallFailed, install_hub


@pytest.fixture(scope="session")
def base_rootfs(require_nspawn):
    return ensure_base_rootfs(os.environ.get("HUBSTEAD_TEST_SUITE") or "bookworm")


@pytest.fixture
def fresh_container(base_rootfs):
    """A booted container: repo at /src read-only, download caches on (unless disabled)."""
    with Container(base_rootfs) as container:
        yield container


@pytest.fixture(scope="session")
def installed_hub(base_rootfs):
    """A container where `python3 /src/bootstrap.py --admin alice --from /src ...` ran and
    /hub/api answers 200. Tests must not break it; use fresh_container for that."""
    with Container(base_rootfs) as container:
        try:
            hub = install_hub(container)
        except InstallFailed as error:
            pytest.fail(str(error), pytrace=False)
        _live_hubs.append(hub)
        yield hub
        _live_hubs.remove(hub)


_live_hubs = []


@pytest.fixture(scope="session")
def tljh_flags_hub(base_rootfs):
    """ONE container installed with TLJH's installer flags (tests/harness/tljh_flags.py),
    shared by the ports of TLJH's installer and plugin tests."""
    from tests.harness.tljh_flags import install_with_tljh_flags

    with Container(base_rootfs) as container:
        try:
            yield install_with_tljh_flags(container)
        except InstallFailed as error:
            pytest.fail(str(error), pytrace=False)


@pytest.fixture(autouse=True, scope="module")
def report_free_space(request):
    """Log the shared hub's free space after each module that used it (CI logs show who fills it)."""
    yield
    for hub in _live_hubs:
        free = hub.container.run(["df", "--output=avail", "-B1M", "/"], check=False).stdout.split()[-1:]
        log(f"after {request.module.__name__}: {free[0] if free else '?'} MiB free in the hub container")
