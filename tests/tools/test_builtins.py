"""The built-in tools through the registry, as the runner calls them: schemas derived from
typed parameters, `validate` then `call` with a `ToolContext`; external writes against a
real HTTP server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from backend.settings import EdgeSettings
from backend.tools import builtins
from backend.tools.errors import ToolError
from backend.tools.registry import ArgumentsInvalid, ToolContext, ToolRegistry, ToolSpec
from tests.servers import free_port, serve


@pytest.fixture(scope="module")
def registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.add_module(builtins)
    return registry


def _spec(registry: ToolRegistry, name: str) -> ToolSpec:
    spec = registry.get(name)
    assert spec is not None, name
    return spec


def _ctx(tmp_path: Path, webhook_url: str | None = None) -> ToolContext:
    settings = EdgeSettings(data_dir=tmp_path, webhook_url=webhook_url)
    return ToolContext(
        "usr_1", "owner", None, None, "tc_1", workspace=settings.workspace, settings=settings
    )


async def _run(registry: ToolRegistry, name: str, args: dict[str, Any], ctx: ToolContext) -> Any:
    spec = _spec(registry, name)
    return await spec.call(spec.validate(args), ctx)


@dataclass
class Recorder:
    """What reached the loopback server."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    """A real HTTP server: `/ok` answers 200 with a long body, `/down` answers 503."""
    record = Recorder()
    app = FastAPI()

    @app.post("/{path:path}")
    async def receive(path: str, request: Request) -> Response:
        body = await request.body()
        with record.lock:
            record.requests.append(
                {
                    "path": path,
                    "content_type": request.headers.get("content-type"),
                    "body": body.decode(),
                }
            )
        if path == "down":
            return Response("maintenance", status_code=503)
        return Response("x" * 5000, media_type="text/plain")

    with serve(app) as url:
        record.url = url
        yield record


def test_schemas_are_derived_from_typed_parameters(registry: ToolRegistry) -> None:
    expected = {
        "web_search": (["query"], {"query": "string", "max_results": "integer"}),
        "get_time": ([], {"timezone": "string"}),
        "calculator": (["expression"], {"expression": "string"}),
        "notes_write": (["path", "content"], {"path": "string", "content": "string"}),
        "send_message": (["to", "text"], {"to": "string", "text": "string"}),
        "http_post": (["url"], {"url": "string"}),
    }
    assert {s.name for s in registry.all()} == set(expected)
    for name, (required, types) in expected.items():
        schema = _spec(registry, name).schema
        assert schema["type"] == "object"
        assert schema.get("required", []) == required, name
        assert "ctx" not in schema["properties"]
        for prop, kind in types.items():
            assert schema["properties"][prop]["type"] == kind, (name, prop)
    notes = _spec(registry, "notes_write").schema["properties"]["mode"]
    assert notes["enum"] == ["overwrite", "append"]
    assert notes["default"] == "overwrite"
    body = _spec(registry, "http_post").schema["properties"]["body"]
    assert {k.get("type") for k in body["anyOf"]} == {"string", "object"}
    assert _spec(registry, "web_search").schema["properties"]["max_results"]["default"] == 3


def test_risks_are_declared(registry: ToolRegistry) -> None:
    risks = {s.name: str(s.risk) for s in registry.all()}
    assert risks == {
        "web_search": "read_only",
        "get_time": "read_only",
        "calculator": "read_only",
        "notes_write": "local_write",
        "send_message": "external_write",
        "http_post": "external_write",
    }


def test_validate_lists_each_bad_field(registry: ToolRegistry) -> None:
    with pytest.raises(ArgumentsInvalid) as caught:
        _spec(registry, "notes_write").validate({"path": 3, "mode": "shred"})
    assert {e["field"] for e in caught.value.errors} == {"path", "content", "mode"}
    assert all(e["message"] for e in caught.value.errors)
    with pytest.raises(ArgumentsInvalid) as caught:
        _spec(registry, "web_search").validate({"query": ["a"], "max_results": "many"})
    assert {e["field"] for e in caught.value.errors} == {"query", "max_results"}
    with pytest.raises(ArgumentsInvalid):
        _spec(registry, "calculator").validate(["1 + 1"])


def test_web_search_is_offline_and_says_so(registry: ToolRegistry) -> None:
    description = _spec(registry, "web_search").description.lower()
    assert "offline corpus, not the internet" in description


async def test_web_search_finds_a_document_from_a_paraphrase(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path)
    hits = await _run(registry, "web_search", {"query": "my frying pan is getting rusty"}, ctx)
    assert hits[0]["url"] == "steward://corpus/cast-iron"
    assert set(hits[0]) == {"title", "url", "snippet", "score"}
    assert "rust" in hits[0]["snippet"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    hits = await _run(
        registry, "web_search", {"query": "retry a payment without charging twice"}, ctx
    )
    assert hits[0]["url"] == "steward://corpus/idempotency-keys"
    assert await _run(registry, "web_search", {"query": "zzzz qqqq"}, ctx) == []
    many = await _run(registry, "web_search", {"query": "the water", "max_results": 50}, ctx)
    assert 1 <= len(many) <= builtins.MAX_SEARCH_RESULTS
    with pytest.raises(ToolError, match="empty"):
        await _run(registry, "web_search", {"query": "  "}, ctx)


async def test_get_time_in_a_zone(registry: ToolRegistry, tmp_path: Path) -> None:
    result = await _run(registry, "get_time", {"timezone": "Asia/Tokyo"}, _ctx(tmp_path))
    assert result["utc_offset"] == "+0900"
    moment = datetime.fromisoformat(result["iso"])
    assert moment.utcoffset() == timedelta(hours=9)
    assert abs(moment - datetime.now(UTC)) < timedelta(minutes=1)
    assert result["weekday"] == moment.strftime("%A")
    utc = await _run(registry, "get_time", {}, _ctx(tmp_path))
    assert utc["timezone"] == "UTC"
    assert utc["utc_offset"] == "+0000"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "/etc/localtime"])
async def test_get_time_refuses_unknown_zones(
    registry: ToolRegistry, tmp_path: Path, zone: str
) -> None:
    with pytest.raises(ToolError, match="unknown time zone"):
        await _run(registry, "get_time", {"timezone": zone}, _ctx(tmp_path))


async def test_calculator_tool(registry: ToolRegistry, tmp_path: Path) -> None:
    result = await _run(registry, "calculator", {"expression": "2 * (3 + 4)"}, _ctx(tmp_path))
    assert result == {"expression": "2 * (3 + 4)", "result": 14}
    with pytest.raises(ToolError, match="division by zero"):
        await _run(registry, "calculator", {"expression": "1 / 0"}, _ctx(tmp_path))


async def test_notes_write_goes_into_the_workspace(registry: ToolRegistry, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    result = await _run(registry, "notes_write", {"path": "a/b.md", "content": "hé\n"}, ctx)
    assert result == {"path": "a/b.md", "bytes": 4}
    appended = await _run(
        registry, "notes_write", {"path": "a/b.md", "content": "more", "mode": "append"}, ctx
    )
    assert appended == {"path": "a/b.md", "bytes": 8}
    assert (tmp_path / "workspace" / "a" / "b.md").read_text() == "hé\nmore"
    with pytest.raises(ToolError, match=r"'\.\.'"):
        await _run(registry, "notes_write", {"path": "../escape.md", "content": "x"}, ctx)
    assert not (tmp_path / "escape.md").exists()


async def test_send_message_posts_to_the_webhook(
    registry: ToolRegistry, recorder: Recorder, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, webhook_url=recorder.url + "/ok/hook")
    before = len(recorder.received())
    result = await _run(registry, "send_message", {"to": "ann", "text": "hello"}, ctx)
    assert result == {"status_code": 200, "delivered": True}
    sent = recorder.received()[before:]
    assert sent == [
        {
            "path": "ok/hook",
            "content_type": "application/json",
            "body": '{"to":"ann","text":"hello"}',
        }
    ]


async def test_send_message_reports_a_refusing_webhook(
    registry: ToolRegistry, recorder: Recorder, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, webhook_url=recorder.url + "/down")
    result = await _run(registry, "send_message", {"to": "ann", "text": "hello"}, ctx)
    assert result == {"status_code": 503, "delivered": False}


async def test_send_message_without_a_webhook_says_how_to_fix_it(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    with pytest.raises(ToolError, match="set STEWARD_WEBHOOK_URL"):
        await _run(registry, "send_message", {"to": "a", "text": "b"}, _ctx(tmp_path))


async def test_an_unreachable_webhook_is_reported_without_its_secret(
    registry: ToolRegistry, tmp_path: Path
) -> None:
    secret_url = f"http://127.0.0.1:{free_port()}/hooks/T0KEN-s3cret"
    with pytest.raises(ToolError, match="could not reach the webhook") as caught:
        await _run(registry, "send_message", {"to": "a", "text": "b"}, _ctx(tmp_path, secret_url))
    assert "s3cret" not in str(caught.value)


async def test_http_post_sends_text_or_json(
    registry: ToolRegistry, recorder: Recorder, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path)
    before = len(recorder.received())
    text = await _run(registry, "http_post", {"url": recorder.url + "/ok/a", "body": "plain"}, ctx)
    assert text["status_code"] == 200
    assert text["body"] == "x" * builtins.MAX_RESPONSE_CHARS
    data = await _run(
        registry, "http_post", {"url": recorder.url + "/down", "body": {"k": [1, 2]}}, ctx
    )
    assert data == {"status_code": 503, "body": "maintenance"}
    sent = recorder.received()[before:]
    assert [(r["path"], r["body"]) for r in sent] == [("ok/a", "plain"), ("down", '{"k":[1,2]}')]
    assert sent[0]["content_type"].startswith("text/plain")
    assert sent[1]["content_type"] == "application/json"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://h/", "not a url", "http://"]
)
async def test_http_post_refuses_anything_but_http_urls(
    registry: ToolRegistry, recorder: Recorder, tmp_path: Path, url: str
) -> None:
    before = len(recorder.received())
    with pytest.raises(ToolError, match=r"only http and https|no host|not a valid URL"):
        await _run(registry, "http_post", {"url": url, "body": "x"}, _ctx(tmp_path))
    assert len(recorder.received()) == before
