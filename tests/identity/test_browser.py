"""In a real browser: an administrator requires an authenticator app for quality officers; one sets
it up at their next sign-in and from then on signs in with its code."""

from __future__ import annotations

import time

import pyotp
from playwright.sync_api import expect

from ..browser import browser_page, live_server, sign_in  # noqa: F401  (fixtures)
from ..conftest import PASSWORD
from ..nonconformities.test_browser import pytestmark  # noqa: F401


def _password_step(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_required_second_factor_is_set_up_and_then_asked_for(browser_page, live_server, org):  # noqa: F811
    page, base = browser_page, live_server
    sign_in(page, base, org.admin.email)
    page.goto(f"{base}/admin/users")
    page.get_by_role("link", name="Security and failed attempts").click()
    page.get_by_role("checkbox", name="Quality officer").check()
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Security settings saved.").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()

    # the quality officer can do nothing before setting up the app
    _password_step(page, base, org.quality.email)
    page.get_by_text("Your role requires an authenticator app").first.wait_for()
    page.goto(f"{base}/nonconformities")
    expect(page.get_by_role("heading", name="Authenticator app (second factor)")).to_be_visible()
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("code.token").inner_text()
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Done").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out.").wait_for()

    # signing in now asks for the code; a wrong one is refused, the next right one lets in
    _password_step(page, base, org.quality.email)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label("Code from your authenticator app, or a recovery code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("This code is not right")).to_be_visible()
    next_code = pyotp.TOTP(secret).at(int(time.time()) + 30)  # the current one turned the app on
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(next_code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
