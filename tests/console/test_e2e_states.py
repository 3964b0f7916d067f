"""Every page shows its loading, empty and error states: a request held in flight shows
`state-loading`; a failed one shows `state-error` with the server's explanation; a list
with nothing in it shows `state-empty`."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, Route, expect

from tests.console.conftest import OWNER_TOKEN, Steward, shot
from tests.console.ui import sign_in, tid

# Each page and the request its main content waits for.
PAGES = {
    "tasks": re.compile(r"/v1/agent/tasks(\?|$)"),
    "approvals": re.compile(r"/v1/approvals(\?|$)"),
    "memory": re.compile(r"/v1/memory/candidates(\?|$)"),
    "config": re.compile(r"/v1/config/effective(\?|$)"),
    "tools": re.compile(r"/v1/tools(\?|$)"),
}
PROBLEM = {
    "type": "https://steward.local/problems/internal_error",
    "title": "Internal error",
    "status": 500,
    "detail": "Edge hit an unexpected error (a test made it so).",
    "code": "internal_error",
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_page_shows_loading_then_the_error_it_got(
    page: Page, steward: Steward, name: str
) -> None:
    sign_in(page, OWNER_TOKEN)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(PAGES[name], hold)
    with page.expect_request(PAGES[name]):
        page.goto(f"/{name}/")
    expect(tid(page, "state-loading").first).to_be_visible()
    assert held, f"/{name}/ never asked for {PAGES[name].pattern}"
    for route in held:
        route.fulfill(status=500, content_type="application/problem+json", body=json.dumps(PROBLEM))
    error = tid(page, "state-error").first
    expect(error).to_be_visible()
    expect(tid(page, "state-loading")).to_have_count(0)
    shot(page, f"{name}-error")


def test_an_empty_list_says_so(page: Page, steward: Steward) -> None:
    sign_in(page, OWNER_TOKEN)
    page.goto("/tasks/")
    tid(page, "task-filter-status").select_option("cancelled")
    expect(tid(page, "state-empty")).to_be_visible()
    expect(tid(page, "task-row")).to_have_count(0)
