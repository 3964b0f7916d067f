"""`CORE_MOCK_STREAM_DELAY_S` paces the mock backend's stream without changing what it says."""

from __future__ import annotations

import pytest

from core.backends.mock import MockBackend
from core.schemas import ChatCompletionRequest
from core.settings import CoreSettings

REQUEST = ChatCompletionRequest.model_validate(
    {"model": "mock", "messages": [{"role": "user", "content": "Plan my week, please"}]}
)


async def _stream(backend: MockBackend) -> list[str]:
    return [d.content async for d in backend.chat_stream(REQUEST, "mock") if d.content]


async def test_a_paced_stream_pauses_before_each_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr("core.backends.mock.asyncio.sleep", fake_sleep)
    paced = await _stream(MockBackend(CoreSettings(mock_stream_delay_s=0.05)))
    assert len(paced) > 1
    assert pauses == [0.05] * len(paced)
    pauses.clear()
    assert await _stream(MockBackend(CoreSettings())) == paced
    assert pauses == []


def test_the_pace_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORE_MOCK_STREAM_DELAY_S", "0.02")
    assert CoreSettings().mock_stream_delay_s == 0.02
