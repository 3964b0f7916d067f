"""Schemathesis against Edge's and Core's own OpenAPI schemas, over real loopback servers.

Every operation gets schema-valid (positive) and schema-violating (negative) requests, as
the owner for Edge. Whatever comes in, nothing answers 5xx, and every 4xx is in the
documented error shape: `application/problem+json` with `type`, `title`, `status`, `detail`
and `code` from Edge; the OpenAI error envelope from Core. Generation is derandomized and
bounded per operation, so a run is deterministic and takes well under a minute.

Nothing is excluded: the one long-lived stream (`GET /v1/agent/tasks/{id}/events`) only
streams for a task that exists, and generated ids never name one, so it answers 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from backend.agent.api import create_app as create_edge
from tests.agent.conftest import OWNER_TOKEN, edge_settings
from tests.servers import serve

EXAMPLES = 12
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
OPENAI_ERROR_FIELDS = {"message", "type", "param", "code"}
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.fixture(scope="module")
def edge_url(core_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fuzz-edge")
    with serve(create_edge(edge_settings(data, core_url))) as url:
        yield url


def edge_problem(status: int, headers: dict[str, str], body: Any) -> str | None:
    """What is wrong with an Edge response, or None."""
    if status >= 500:
        return "server error"
    if status < 400:
        return None
    if headers.get("content-type") != "application/problem+json":
        return f"content-type {headers.get('content-type')}"
    if not isinstance(body, dict) or not body.keys() >= PROBLEM_FIELDS:
        return f"missing problem fields: {body}"
    if body["status"] != status:
        return f"status {body['status']} in a {status} response"
    return None


def core_problem(status: int, headers: dict[str, str], body: Any) -> str | None:
    """What is wrong with a Core response, or None."""
    if status >= 500:
        return "server error"
    if status < 400:
        return None
    if not headers.get("content-type", "").startswith("application/json"):
        return f"content-type {headers.get('content-type')}"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not error.keys() >= OPENAI_ERROR_FIELDS:
        return f"not an OpenAI error envelope: {body}"
    if not isinstance(error["message"], str) or not error["message"]:
        return "empty error message"
    return None


def fuzz(base_url: str, token: str | None, judge: Any) -> list[str]:
    """Run every operation of the schema at `base_url`; return what went wrong."""
    raw = httpx.get(base_url + "/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 3
    with requests.Session() as session:
        for operation in operations:
            for mode in MODES:
                if mode == GenerationMode.NEGATIVE and not _can_violate(operation):
                    continue
                failures += _fuzz_operation(operation, mode, base_url, session, headers, judge)
    return failures


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    judge: Any,
) -> list[str]:
    """Generated requests of one operation in one mode; what went wrong with the answers."""
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        try:
            body = response.json()
        except ValueError:
            body = None
        lowered = {k.lower(): v for k, v in response.headers.items()}
        flat = {k: v[0] if isinstance(v, list) else v for k, v in lowered.items()}
        wrong = judge(response.status_code, flat, body)
        if wrong:
            failures.append(
                f"{operation.label} [{mode.value}] -> {response.status_code}: "
                f"{wrong}; request {case.path_parameters} {case.query} "
                f"{getattr(case, 'body', None)!r:.200}"
            )

    try:
        run()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (e.g. a free-form string in the
        # path): the positive run covered it.
        assert mode == GenerationMode.NEGATIVE, operation.label
    return failures


def _can_violate(operation: Any) -> bool:
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


def test_edge_schema_fuzz_has_no_5xx_and_only_problem_json(edge_url: str) -> None:
    failures = fuzz(edge_url, OWNER_TOKEN, edge_problem)
    assert not failures, "\n".join(dict.fromkeys(failures))


def test_core_schema_fuzz_has_no_5xx_and_only_openai_errors(core_url: str) -> None:
    failures = fuzz(core_url, None, core_problem)
    assert not failures, "\n".join(dict.fromkeys(failures))


def test_the_checks_catch_a_wrong_shape(tmp_path: Path) -> None:
    assert edge_problem(500, {}, None) == "server error"
    assert edge_problem(404, {"content-type": "application/json"}, {"detail": "x"})
    assert core_problem(400, {"content-type": "application/json"}, {"detail": "x"})
    ok = {"type": "t", "title": "t", "status": 404, "detail": "d", "code": "c"}
    assert edge_problem(404, {"content-type": "application/problem+json"}, ok) is None
