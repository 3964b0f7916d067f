"""Markdown and HTML renders of a report, and the report of a whole conversation."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tests.agent.polling import send, timeline, wait_task
from tests.approvals.conftest import World
from tests.audit.rendering import render, report, run

HOSTILE = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"
# Every element the page is made of; anything else came from a payload unescaped.
PAGE_TAGS = (
    {"html", "head", "meta", "title", "style", "body", "main", "section", "article"}
    | {"h1", "h2", "h3", "h4", "p", "strong", "span", "code", "pre", "br"}
    | {"dl", "dt", "dd", "ul", "ol", "li", "table", "tr", "th", "td", "details", "summary"}
)


class _Tags(HTMLParser):
    """The element names and attribute names of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.attributes.update(name for name, _ in attrs)


def test_markdown_render(world: World) -> None:
    sent = send(world.owner, f'{HOSTILE} [[tool:send_message {{"to": "ann", "text": "hi"}}]]')
    wait_task(world.owner, sent["task_id"], until=("waiting_approval",))
    [approval] = world.owner.get("/v1/approvals", params={"status": "pending"}).json()["data"]
    world.owner.post(f"/v1/approvals/{approval['approval_id']}:approve", json={"reason": "ok"})
    wait_task(world.owner, sent["task_id"])

    r = render(world.owner, task_id=sent["task_id"], format="markdown")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/markdown; charset=utf-8"
    text = r.text
    assert text.startswith(f"# Audit report: task `{sent['task_id']}`")
    assert "**Integrity: verified.**" in text
    for heading in ("Summary", "Plan", "Route", "Memories", "Tool calls", "Timeline"):
        assert f"\n## {heading}\n" in text
    assert "| seq | ts | type | phase | actor | caused by | summary |" in text
    assert "### 1. send_message — completed" in text
    owner_id = world.owner.get("/v1/me").json()["user_id"]
    assert f"Approval `{approval['approval_id']}`: approved; decided by {owner_id} (owner)" in text
    assert "Config revision in force" in text
    # Outside fenced blocks, the user's markup is inert text.
    outside = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    assert "<script>" not in outside
    assert "\\<script\\>" in outside


def test_html_render_is_a_safe_self_contained_page(edge: httpx.Client) -> None:
    task = run(edge, f'{HOSTILE} [[tool:calculator {{"expression": "1 + 1"}}]]')
    r = render(edge, task_id=task["task_id"], format="html")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    page = r.text
    assert page.startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")
    assert "<style>" in page
    assert 'class="integrity ok"' in page
    assert "Integrity: verified" in page
    assert "<h2>Timeline</h2>" in page
    assert page.count("<details>") == len(report(edge, task_id=task["task_id"])["timeline"])
    assert "calculator" in page
    # What the user typed is shown, never run or fetched.
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    tags = _Tags()
    tags.feed(page)
    assert tags.names <= PAGE_TAGS, tags.names - PAGE_TAGS
    assert not tags.attributes & {"src", "href", "onerror", "onload", "style"}


def test_conversation_render(edge: httpx.Client) -> None:
    first = run(edge, "first message")
    second = run(
        edge, 'second [[tool:calculator {"expression": "2 + 2"}]]', first["conversation_id"]
    )
    conv = first["conversation_id"]
    r = report(edge, conversation_id=conv)
    assert r["kind"] == "conversation"
    assert r["conversation_id"] == conv
    assert [t["task"]["task_id"] for t in r["tasks"]] == [first["task_id"], second["task_id"]]
    assert r["tasks"][0]["task"]["input"]["text"] == "first message"
    assert r["tasks"][1]["tool_calls"][0]["tool"] == "calculator"
    assert all(t["integrity"]["verified"] for t in r["tasks"])
    assert r["integrity"]["verified"] is True
    assert r["integrity"]["checked"] == len(timeline(edge, conv))

    md = render(edge, conversation_id=conv, format="markdown")
    assert md.status_code == 200
    assert md.text.startswith(f"# Audit report: conversation `{conv}`")
    assert f"## Task `{first['task_id']}`" in md.text
    assert f"## Task `{second['task_id']}`" in md.text
    assert "### Timeline" in md.text
    page = render(edge, conversation_id=conv, format="html")
    assert page.status_code == 200
    assert page.text.count('<section class="task">') == 2
