"""Fixtures that boot fresh-VM-like containers and install Hubstead into one of them.

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

from tests.harness.container import Container, ensure_base_rootfs
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
        yield hub
