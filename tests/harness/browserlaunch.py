"""Timing launch links in Chromium, for benchmarks/binder.py.

    times = time_launches(hub.url, "student", password, "/v2/gh/owner/repo/main?urlpath=...",
                          "index.ipynb", runs=5, before_each=user.stop_server)

Each run is what a student's click costs: from navigating to the link to JupyterLab
showing the notebook with its kernel idle.
"""

from __future__ import annotations

import time

from .browser import Chromium, login, wait_for_jupyterlab, wait_for_notebook


def time_launches(hub_url, username, password, link, notebook, runs=5, before_each=None,
                  timeout=600_000):
    times = []
    with Chromium() as chromium:
        page = chromium.new_page()
        login(page, hub_url, username, password, next_path="/hub/home")
        for _ in range(runs):
            if before_each:
                before_each()
            started = time.perf_counter()
            page.goto(hub_url.rstrip("/") + "/" + link.lstrip("/"))
            wait_for_jupyterlab(page, timeout=timeout)
            wait_for_notebook(page, notebook, timeout=timeout)
            times.append(time.perf_counter() - started)
    return times
