"""What every browser test shares: the app served on a free port, Debian's Chromium, sign-in, screenshots.

Browser tests drive a server on SQLite (``pytestmark`` in each module), wait for what
they assert (``expect``/``wait_for``), never for time, and fail on any JavaScript error.
Import the fixtures a module uses: ``from ..browser import browser_page, live_server, shots``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from .conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[1]
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}


@contextmanager
def serve(app: Any, *, csrf: bool = False) -> Iterator[str]:
    """The app on a free local port, in a thread; ``csrf`` turns CSRF protection on, as in production."""
    if csrf:
        app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["QMS_BASE_URL"] = base  # the links given to suppliers and customers lead here
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=10)


#: this worker's Chromium and its Playwright, started by the first browser test (``close_chromium`` ends them)
_SHARED: dict[str, Any] = {}


def _shared_chromium() -> Any:
    """The worker's one Chromium under Playwright (a launch costs seconds, a new context milliseconds),
    with Playwright's loop marked as running, as its sync API expects."""
    if "playwright" not in _SHARED:
        if not os.path.exists(CHROMIUM):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
        from playwright.sync_api import sync_playwright

        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["loop"] = asyncio.get_running_loop()  # Playwright's own loop, marked as running
    asyncio._set_running_loop(_SHARED["loop"])
    browser = _SHARED.get("browser")
    if browser is None or not browser.is_connected():
        browser = _SHARED["browser"] = _SHARED["playwright"].chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    return browser


def close_chromium() -> None:
    """Close the worker's Chromium and stop its Playwright (at the end of the session)."""
    if "playwright" not in _SHARED:
        return
    asyncio._set_running_loop(_SHARED.pop("loop"))
    browser = _SHARED.pop("browser", None)
    if browser is not None and browser.is_connected():
        browser.close()
    _SHARED.pop("playwright").stop()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a downloaded browser): the worker's one browser.

    Every context the test opens in it is closed after the test, so the next test starts without
    its cookies, storage or cache.  Between tests the thread's running-loop mark that Playwright's
    sync API leaves set (its loop stays alive) is cleared, so a test that runs an asyncio loop of
    its own is not refused; it is set again while a browser test runs.
    """
    try:
        browser = _shared_chromium()
        yield browser
    finally:
        try:
            browser = _SHARED.get("browser")
            if browser is not None and browser.is_connected():
                for context in browser.contexts:
                    context.close()
        finally:
            asyncio._set_running_loop(None)


def watch(page: Any, errors: list[str]) -> Any:
    """A page that waits up to 15 s for what a test asserts and records JavaScript errors in ``errors``."""
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


@contextmanager
def browser_context(**options: Any) -> Iterator[tuple[Any, Any]]:
    """A fresh browser context and its first page; fails the test on a JavaScript error."""
    errors: list[str] = []
    with chromium() as browser:
        context = browser.new_context(**options)
        yield context, watch(context.new_page(), errors)
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app) as base:
        yield base


@pytest.fixture
def browser_page(live_server) -> Iterator[Any]:
    with browser_context(viewport=DESKTOP, accept_downloads=True) as (_, page):
        yield page


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: the test's folder, or docs/screenshots/ for ``make screenshots``."""
    folder = ROOT / "docs" / "screenshots" if os.environ.get("QMS_UPDATE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    if page.get_by_role("button", name="Sign out").count():  # the page has loaded: an instant check is enough
        page.get_by_role("button", name="Sign out").click()
        page.get_by_text("You are signed out.").wait_for()  # a goto right away could cancel the sign-out
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def sign(form: Any, email: str, password: str = PASSWORD) -> None:
    """Fill an event form's electronic signature: the e-mail on the session's first signature, then the password."""
    first = form.get_by_label("E-mail address — your first signature in this session")
    if first.count():  # the form is on the page already: an instant check is enough
        first.fill(email)
    form.get_by_label("Password — electronic signature", exact=False).fill(password)
