"""Signing in to the Console: a wrong token is refused, the owner's token opens the shell, the
token lives in localStorage until sign-out, and all of it works from the keyboard alone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.conftest import OWNER_TOKEN, Steward, shot
from tests.console.ui import tid

STORED = "(t) => Object.values(localStorage).some((v) => String(v).includes(t))"


def test_a_wrong_token_is_refused_and_the_owner_signs_in(page: Page, steward: Steward) -> None:
    page.goto("/signin/")
    expect(tid(page, "signin-token")).to_be_visible()
    shot(page, "signin")
    tid(page, "signin-token").fill("stw_not-a-real-token-at-all-000000")
    tid(page, "signin-submit").click()
    expect(tid(page, "signin-error")).to_be_visible()
    expect(tid(page, "whoami")).to_have_count(0)
    shot(page, "signin-error")
    assert not page.evaluate(STORED, "stw_not-a-real-token")

    tid(page, "signin-token").fill(OWNER_TOKEN)
    tid(page, "signin-submit").click()
    whoami = tid(page, "whoami")
    expect(whoami).to_contain_text("owner")
    assert page.evaluate(STORED, OWNER_TOKEN)
    for nav in ("chat", "tasks", "approvals", "memory", "config", "tools", "audit"):
        expect(tid(page, f"nav-{nav}")).to_be_visible()

    tid(page, "signout").click()
    expect(tid(page, "signin-token")).to_be_visible()
    assert not page.evaluate(STORED, OWNER_TOKEN)


def test_pages_send_a_signed_out_visitor_to_sign_in(page: Page, steward: Steward) -> None:
    page.goto("/chat/")
    expect(page).to_have_url(re.compile(r"/signin/"))
    expect(tid(page, "signin-token")).to_be_visible()


def test_signing_in_with_the_keyboard_alone(page: Page, steward: Steward) -> None:
    page.goto("/signin/")
    expect(tid(page, "signin-token")).to_be_visible()
    for _ in range(12):  # however many stops come before the token field
        if page.evaluate("() => document.activeElement?.dataset?.testid") == "signin-token":
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("Tab never reached the token field (data-testid=signin-token)")
    page.keyboard.type(OWNER_TOKEN)
    page.keyboard.press("Enter")
    expect(tid(page, "whoami")).to_contain_text("owner")
    # The shell's navigation is reachable by keyboard too: focus moves onto a nav link.
    for _ in range(20):
        focused = page.evaluate("() => document.activeElement?.dataset?.testid ?? ''")
        if focused.startswith("nav-"):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("Tab never reached the sidebar's links (data-testid=nav-*)")
