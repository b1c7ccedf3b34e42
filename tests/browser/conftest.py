"""Fixtures for tests that drive Debian's headless Chromium against the installed hub.

The hub is the session's one `installed_hub` (tests/harness/fixtures.py), shared with
tests/e2e. A failed test leaves a screenshot and the page's HTML in
$HUBSTEAD_TEST_ARTIFACTS (default: the test's tmp_path) and says where.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import require
from tests.harness.browser import Chromium, missing_prerequisite, save_artifacts


@pytest.fixture(scope="package")
def chromium(require_root):
    """One Chromium for tests/browser, stopped when the package is done.

    Playwright's sync API keeps an asyncio loop running in the main thread while it is
    started; a session-wide browser would leave it running under later tests that call
    asyncio.run() themselves (the conda channel indexer)."""
    missing = missing_prerequisite()
    require(missing is None, str(missing), "run bash scripts/test, which installs it")
    with Chromium() as browser:
        yield browser


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(chromium, request, tmp_path):
    """A fresh browser context (no cookies) and its page; artifacts kept on failure."""
    page = chromium.new_page()
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        directory = Path(os.environ.get("HUBSTEAD_TEST_ARTIFACTS") or tmp_path)
        shot = save_artifacts(page, directory, request.node.name)
        print(f"browser artifacts of {request.node.name}: {shot} (+ .html), at {page.url}")
    page.context.close()
