"""A user's first steps in a real browser: log in, start a server, run code in JupyterLab."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.harness.browser import login, new_notebook, run_cell, start_from_spawn_page, wait_for_jupyterlab
from tests.harness.hubcli import hubstead


def test_a_visitor_who_is_not_logged_in_sees_the_login_page(installed_hub, page):
    page.goto(f"{installed_hub.url}/hub/home")
    assert urlsplit(page.url).path == "/hub/login"
    assert page.locator("#username_input").is_visible() and page.locator("#login_submit").is_visible()


def test_log_in_start_a_server_and_run_a_cell(installed_hub, page):
    password = hubstead(installed_hub, "user", "add", "lena").stdout.strip()
    login(page, installed_hub.url, "lena", password)
    # The hub sends a user without a server to start one (the form, if the hub offers
    # several environments, with the default chosen), then to JupyterLab.
    start_from_spawn_page(page)
    wait_for_jupyterlab(page)
    assert urlsplit(page.url).path.startswith("/user/lena/lab")
    new_notebook(page)
    assert run_cell(page, "print(6 * 7)") == "42"
    assert run_cell(page, "import os; print(os.getcwd())") == "/home/jupyter-lena"
