"""A launch link in a real browser: log in, watch the build, land on the notebook, run it.

The repository is ../shared/data/binder-repos/requirements (seaborn, scipy, pandas;
runtime.txt asks for Python 3.10, so the build falls back to the machine's 3.11 and
says so), published under a name no other test builds, from a git server on this
machine that the hub's `gh` provider points at.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.harness.browser import (fill_login_form, login, run_cell, save_notebook, start_from_spawn_page,
                                   wait_for_jupyterlab, wait_for_notebook)
from tests.harness.gitserver import BINDER_FIXTURES, GitHTTPServer, copy_tree, make_repo, publish
from tests.harness.hubcli import hubstead

LINK = "/v2/gh/owner/browser-course/main?urlpath=lab/tree/index.ipynb"
BUILD_TIMEOUT = 900_000  # ms: a cold build of seaborn, scipy and pandas
MARKER = "kept by the second click"


@pytest.fixture(scope="module")
def hub(installed_hub, tmp_path_factory):
    root, work = tmp_path_factory.mktemp("served"), tmp_path_factory.mktemp("work")
    copy_tree(BINDER_FIXTURES / "requirements", work / "browser-course")
    make_repo(work / "browser-course", {"BROWSER-TEST.md": "a commit of its own: never built before\n"})
    publish(work / "browser-course", root, "owner/browser-course")
    with GitHTTPServer(root) as server:
        hubstead(installed_hub, "config", "set", "binder.providers.gh.url", server.url)
        yield installed_hub
        for name in ("iris", "omar"):
            hubstead(installed_hub, "user", "remove", name, "--purge", "--yes", check=False)
        for item in json.loads(hubstead(installed_hub, "env", "list", "--json").stdout):
            if item["name"].startswith("binder-owner-browser-course"):
                hubstead(installed_hub, "env", "remove", item["name"], "--yes", check=False)


def builds_of(hub, repo):
    return [item for item in json.loads(hubstead(hub, "build", "list", "--json").stdout)
            if item["repo"].endswith(repo)]


def test_a_new_link_builds_lands_on_the_notebook_and_a_second_click_keeps_the_edit(hub, page):
    password = hubstead(hub, "user", "add", "iris").stdout.strip()
    hubstead(hub, "group", "add-user", "instructors", "iris")
    page.goto(hub.url + LINK)
    assert urlsplit(page.url).path == "/hub/login", "a visitor logs in first"
    fill_login_form(page, "iris", password)
    assert urlsplit(page.url).path == "/services/hubstead/v2/gh/owner/browser-course/main"

    # The build's log streams into the page while it runs.
    page.locator("#hubstead-build-log").get_by_text(re.compile("resolving requirements.txt")).wait_for(
        timeout=BUILD_TIMEOUT)
    wait_for_jupyterlab(page, timeout=BUILD_TIMEOUT)
    wait_for_notebook(page, "index.ipynb")
    assert urlsplit(page.url).path == "/user/iris/lab/tree/browser-course/index.ipynb"
    assert run_cell(page, "import seaborn, scipy, pandas; print(seaborn.__version__)") == "0.13.2"
    run_cell(page, f"note = {MARKER!r}")
    save_notebook(page)

    page.goto(hub.url + LINK)
    wait_for_jupyterlab(page)
    wait_for_notebook(page, "index.ipynb")
    # JupyterLab renders a restored notebook's cells a moment after its tab appears:
    # wait for the edit (a lost edit never shows, and the wait fails).
    page.locator(".jp-Notebook").get_by_text(MARKER).first.wait_for(state="visible", timeout=30_000)
    assert page.locator(".jp-Notebook").get_by_text(MARKER).first.is_visible(), "the user's edit survived"
    assert len(builds_of(hub, "/owner/browser-course")) == 1, "the second click built nothing"


def test_a_server_in_another_environment_is_restarted_only_when_asked(hub, page):
    password = hubstead(hub, "user", "add", "omar").stdout.strip()
    login(page, hub.url, "omar", password)
    start_from_spawn_page(page)
    wait_for_jupyterlab(page)  # the default environment
    page.goto(hub.url + LINK)
    busy = page.locator("#hubstead-busy-message")
    busy.wait_for(state="visible", timeout=120_000)
    assert "running the default environment" in busy.inner_text()
    assert page.locator("#hubstead-open-running").get_attribute("href") == "/user/omar/"
    page.click("#hubstead-restart")
    wait_for_jupyterlab(page)
    wait_for_notebook(page, "index.ipynb")
    assert run_cell(page, "import seaborn; print('seaborn here')") == "seaborn here"
