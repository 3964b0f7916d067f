"""Helpers for the tests of Core's `openai` backend."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from core.settings import CoreSettings

KEY = "sk-test-7f3a9c0d-do-not-leak"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.005)


def core_settings(upstream_url: str, **overrides: Any) -> CoreSettings:
    values: dict[str, Any] = {
        "backend": "openai",
        "upstream_base_url": upstream_url + "/v1",
        "upstream_api_key": KEY,
        "upstream_timeout_s": 10.0,
        "upstream_connect_timeout_s": 2.0,
    }
    return CoreSettings(**(values | overrides))


def openai_client(core_url: str) -> OpenAI:
    # No retries: every request must reach the upstream exactly once, and fail fast.
    return OpenAI(base_url=core_url + "/v1", api_key="client-key", max_retries=0, timeout=5.0)
