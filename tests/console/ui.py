"""Steps the Console's end-to-end tests share, in the words of its `data-testid` contract."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from playwright.sync_api import Locator, Page, expect

T = TypeVar("T")

# Records every data-testid that ever appears, however briefly (a streaming marker can come
# and go between two of Playwright's polls).
WATCH_TESTIDS = """
(() => {
  const seen = new Set();
  window.__stewardSeen = seen;
  const note = (el) => {
    if (el.nodeType !== 1) return;
    if (el.dataset && el.dataset.testid) seen.add(el.dataset.testid);
    el.querySelectorAll && el.querySelectorAll('[data-testid]').forEach(
      (e) => seen.add(e.dataset.testid));
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') note(r.target);
      r.addedNodes.forEach(note);
    }
  }).observe(document, {subtree: true, childList: true, attributes: true,
                        attributeFilter: ['data-testid']});
})();
"""


def tid(page: Page | Locator, testid: str) -> Locator:
    """Elements with this data-testid."""
    return page.get_by_test_id(testid)


def sign_in(page: Page, token: str, *, expect_role: str | None = None) -> None:
    """Sign in on /signin/ with `token`; wait for the shell's `whoami`."""
    page.goto("/signin/")
    tid(page, "signin-token").fill(token)
    tid(page, "signin-submit").click()
    whoami = tid(page, "whoami")
    expect(whoami).to_be_visible()
    if expect_role:
        expect(whoami).to_contain_text(expect_role)


def ever_seen(page: Page, testid: str) -> bool:
    """Whether an element with `testid` appeared since the page loaded (needs WATCH_TESTIDS)."""
    return bool(
        page.evaluate("(t) => !!window.__stewardSeen && window.__stewardSeen.has(t)", testid)
    )


def poll(read: Callable[[], T], done: Callable[[T], bool], what: str, timeout: float = 20) -> T:
    """Read until `done(value)`; fail with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout}s")
        time.sleep(0.05)
        value = read()
    return value


def get_json(client: httpx.Client, path: str, **params: Any) -> Any:
    """GET `path` as the client's user; fail on an error status."""
    r = client.get(path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def conversation_from_url(page: Page) -> str:
    """The `c` query parameter of a /chat/ URL, once the Console has put it there."""
    expect(page).to_have_url(re.compile(r"/chat/\?(.*&)?c=conv_"))
    url = httpx.URL(page.url)
    value = url.params.get("c")
    assert value, page.url
    return str(value)


def messages(page: Page, role: str) -> Locator:
    """Chat messages of one role (`user` or `assistant`)."""
    return page.locator(f'[data-testid="message"][data-role="{role}"]')
