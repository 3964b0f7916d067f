"""Every bad request gets an OpenAI error envelope with a 4xx, never a 500 or FastAPI's 422."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.api import create_app
from core.settings import CoreSettings
from tests.servers import serve

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def http(mock_core_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock_core_url, timeout=10) as client:
        yield client


def _assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["code"] == code, err
    assert err["message"]
    return err


def test_malformed_json_is_invalid_json(http: httpx.Client) -> None:
    r = http.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    err = _assert_error(r, 400, "invalid_json")
    assert err["type"] == "invalid_request_error"


def test_non_object_body_is_refused(http: httpx.Client) -> None:
    _assert_error(http.post("/v1/chat/completions", json=[1, 2]), 400, "invalid_json")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER}, "model"),
        ({"model": "mock"}, "messages"),
        ({"model": "mock", "messages": "nope"}, "messages"),
        ({"model": "mock", "messages": []}, "messages"),
        ({"model": "mock", "messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"model": "mock", "messages": USER, "temperature": 3}, "temperature"),
        ({"model": "mock", "messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"model": "mock", "messages": USER, "stream": "yes please"}, "stream"),
        ({"model": "mock", "messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "mock", "messages": USER, "tools": [{"type": "function"}]}, "tools.0.function"),
    ],
)
def test_missing_or_mistyped_fields_name_the_parameter(
    http: httpx.Client, body: dict[str, Any], param: str
) -> None:
    err = _assert_error(http.post("/v1/chat/completions", json=body), 400, "invalid_request")
    assert err["param"] == param
    assert param.split(".")[0] in err["message"]


def test_unknown_argument_is_refused_by_name(http: httpx.Client) -> None:
    r = http.post("/v1/chat/completions", json={"model": "mock", "messages": USER, "bogus": 1})
    err = _assert_error(r, 400, "unknown_parameter")
    assert "bogus" in err["message"]


def test_known_openai_arguments_are_accepted(http: httpx.Client) -> None:
    body = {
        "model": "mock",
        "messages": USER,
        "presence_penalty": 0.5,
        "user": "u1",
        "seed": 7,
        "top_p": 0.9,
        "n": 1,
    }
    assert http.post("/v1/chat/completions", json=body).status_code == 200


def test_n_greater_than_one_is_unsupported(http: httpx.Client) -> None:
    r = http.post("/v1/chat/completions", json={"model": "mock", "messages": USER, "n": 2})
    assert _assert_error(r, 400, "unsupported_parameter")["param"] == "n"


def test_unknown_model_is_404_model_not_found(http: httpx.Client) -> None:
    r = http.post("/v1/chat/completions", json={"model": "gpt-9", "messages": USER})
    err = _assert_error(r, 404, "model_not_found")
    assert "gpt-9" in err["message"]
    assert "mock" in err["message"]
    _assert_error(
        http.post("/v1/embeddings", json={"model": "gpt-9", "input": "x"}), 404, "model_not_found"
    )
    _assert_error(http.get("/v1/models/gpt-9"), 404, "model_not_found")


def test_default_alias_resolves_to_the_first_model(http: httpx.Client) -> None:
    r = http.post("/v1/chat/completions", json={"model": "default", "messages": USER})
    assert r.json()["model"] == "mock"


def test_forced_tool_choice_without_tools_is_refused(http: httpx.Client) -> None:
    r = http.post(
        "/v1/chat/completions", json={"model": "mock", "messages": USER, "tool_choice": "required"}
    )
    _assert_error(r, 400, "invalid_request")


@pytest.mark.parametrize(
    "bad", [{"model": "mock"}, {"model": "mock", "input": []}, {"model": "mock", "input": 5}]
)
def test_bad_embedding_requests(http: httpx.Client, bad: dict[str, Any]) -> None:
    _assert_error(http.post("/v1/embeddings", json=bad), 400, "invalid_request")


def test_embedding_dimensions_mismatch_is_explained(http: httpx.Client) -> None:
    r = http.post("/v1/embeddings", json={"model": "mock", "input": "x", "dimensions": 10})
    assert "384" in _assert_error(r, 400, "unsupported_parameter")["message"]


def test_unknown_route_and_wrong_method(http: httpx.Client) -> None:
    _assert_error(http.get("/v1/nothing"), 404, "not_found")
    _assert_error(http.get("/v1/chat/completions"), 405, "http_405")


def test_oversized_body_is_413() -> None:
    app = create_app(CoreSettings(backend="mock", max_body_bytes=1000))
    with serve(app) as url:
        big = {"model": "mock", "messages": [{"role": "user", "content": "x" * 2000}]}
        r = httpx.post(url + "/v1/chat/completions", json=big)
        _assert_error(r, 413, "payload_too_large")
        chunked = httpx.post(
            url + "/v1/chat/completions",
            content=iter([b'{"model": "mock", "messages": [', b"1," * 600, b"1]}"]),
        )
        _assert_error(chunked, 413, "payload_too_large")


def test_api_key_guards_everything_but_health() -> None:
    with serve(create_app(CoreSettings(backend="mock", api_key="k-123"))) as url:
        assert httpx.get(url + "/health").status_code == 200
        _assert_error(httpx.get(url + "/v1/models"), 401, "invalid_api_key")
        _assert_error(
            httpx.get(url + "/v1/models", headers={"Authorization": "Bearer wrong"}),
            401,
            "invalid_api_key",
        )
        ok = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer k-123"})
        assert ok.status_code == 200


def test_health_and_models(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok", "backend": "mock", "models": ["mock"]}
    assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["mock"]
    assert http.get("/v1/models/mock").json()["id"] == "mock"


def test_openapi_documents_the_request_bodies(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    assert "ChatCompletionRequest" in schema["components"]["schemas"]
    body = schema["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("ChatCompletionRequest")
