"""Headless Debian Chromium, driven by Playwright, for tests that click what users click.

    with Chromium() as chromium:
        page = chromium.new_page()
        login(page, hub.url, "bob", password)          # the hub's own login form
        page.goto(hub.url + "/hub/spawn")
        wait_for_jupyterlab(page)
        assert run_cell(page, "print(6 * 7)") == "42"
        save_artifacts(page, directory, "name")          # screenshot + HTML, for failures

Playwright drives /usr/bin/chromium (Debian's package); `playwright install` is never
run, since it downloads browsers from hosts this network does not reach. The flags
keep Chromium from its background connections, which the closed network refuses.
Every wait is a wait for a condition with an explicit timeout.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--no-proxy-server",
         "--disable-dev-shm-usage"]
LAB_TIMEOUT = 120_000  # ms: a server's first start, then JupyterLab's first load
CELL_TIMEOUT = 60_000


def missing_prerequisite() -> str | None:
    """What this machine lacks for browser tests, in one line, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} (Debian package chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package (locks/test.txt)"
    return None


class Chromium:
    """One headless Chromium; each new_page() is a new context (its own cookies)."""

    def __init__(self):
        self._playwright = self._browser = None
        self._profile = None

    def __enter__(self) -> Chromium:
        from playwright.sync_api import sync_playwright

        self._profile = tempfile.mkdtemp(prefix="hubstead-chromium-")
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*FLAGS, f"--disk-cache-dir={self._profile}"])
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._browser:
                self._browser.close()
        finally:
            if self._playwright:
                self._playwright.stop()
            shutil.rmtree(self._profile, ignore_errors=True)

    @property
    def version(self) -> str:
        return self._browser.version

    def new_page(self, width: int = 1280, height: int = 900):
        context = self._browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(30_000)
        return context.new_page()


def save_artifacts(page, directory: Path, name: str) -> Path:
    """A full-page screenshot and the page's HTML, for a failed test's report."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]
    page.screenshot(path=str(directory / f"{stem}.png"), full_page=True)
    (directory / f"{stem}.html").write_text(page.content())
    return directory / f"{stem}.png"


def login(page, hub_url: str, username: str, password: str, next_path: str = "") -> None:
    """Fill in the hub's login form (NativeAuthenticator's) and submit it."""
    url = f"{hub_url.rstrip('/')}/hub/login"
    if next_path:
        from urllib.parse import quote

        url += f"?next={quote(next_path, safe='')}"
    page.goto(url)
    fill_login_form(page, username, password)


def fill_login_form(page, username: str, password: str) -> None:
    """Submit the login form the page shows (after a redirect to it, say)."""
    page.fill("#username_input", username)
    page.fill("#password_input", password)
    with page.expect_navigation():
        page.click("#login_submit")
    error = page.locator(".login_error, .alert-danger")
    if "/hub/login" in page.url and error.count() and error.first.is_visible():
        raise AssertionError(f"login as {username} refused: {error.first.inner_text().strip()}")


def start_from_spawn_page(page, timeout: float = LAB_TIMEOUT) -> None:
    """After a login: submit the spawn form with its defaults if the hub shows one
    (several environments), or let the spawn that started by itself go on."""
    page.wait_for_function("() => location.pathname.includes('/spawn-pending/') || "
                           "location.pathname.includes('/lab') || document.querySelector('#spawn_form')",
                           timeout=timeout)
    form = page.locator("#spawn_form")
    if form.count():
        with page.expect_navigation(timeout=timeout):
            form.locator("[type=submit]").click()


def wait_for_jupyterlab(page, timeout: float = LAB_TIMEOUT) -> None:
    """Until JupyterLab's shell is on screen (after any spawn-pending page)."""
    page.wait_for_url(re.compile(r"/user/[^/]+/lab"), timeout=timeout)
    page.locator("#jp-main-dock-panel").wait_for(state="visible", timeout=timeout)


def wait_for_notebook(page, name: str, timeout: float = LAB_TIMEOUT) -> None:
    """Until the notebook `name` is the current tab and its kernel is idle."""
    tab = page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel", has_text=name)
    tab.first.wait_for(state="visible", timeout=timeout)
    kernel_idle(page, timeout)


def kernel_idle(page, timeout: float = LAB_TIMEOUT) -> None:
    """Until the status bar says the current notebook's kernel is connected and idle
    (the toolbar's indicator says idle before the kernel is there)."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).first.wait_for(
        state="visible", timeout=timeout)


def new_notebook(page, timeout: float = LAB_TIMEOUT) -> None:
    """A new notebook from the launcher's first Python kernel tile."""
    page.locator(".jp-LauncherCard[data-category='Notebook']").first.click(timeout=timeout)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").wait_for(timeout=timeout)
    kernel_idle(page, timeout)


def run_cell(page, code: str, timeout: float = CELL_TIMEOUT) -> str:
    """Type code into the open notebook's last cell (a new one below if it is not
    empty), run it with Shift+Enter, and return its output text once it has run."""
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")
    index = cells.count() - 1
    if cells.nth(index).locator(".cm-content").inner_text().strip():
        cells.nth(index).locator(".jp-InputPrompt").click()  # select it, command mode
        page.keyboard.press("b")  # a new cell below
        index += 1
    # nth(index), not .last: running the last cell appends another one.
    cell = cells.nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    # The prompt shows [N] once the cell has run ([*] while it runs).
    prompt = cell.locator(".jp-InputArea-prompt").element_handle()
    page.wait_for_function("(el) => /\\[\\d+\\]/.test(el.textContent)", arg=prompt, timeout=timeout)
    return cell.locator(".jp-OutputArea").inner_text().strip()


def save_notebook(page, timeout: float = 30_000) -> None:
    """Ctrl+S (accepting JupyterLab's rename-on-first-save dialog for an Untitled
    notebook), then wait until the tab no longer shows unsaved changes."""
    page.keyboard.press("Control+s")
    dirty = ".lm-TabBar-tab.lm-mod-current.jp-mod-dirty"
    page.wait_for_function(f"() => !document.querySelector('{dirty}') || document.querySelector('.jp-Dialog')",
                           timeout=timeout)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        dialog.locator(".jp-mod-accept").click()
    page.locator(dirty).wait_for(state="detached", timeout=timeout)
