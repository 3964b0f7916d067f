"""Fixtures for Core: a real Core server on loopback per backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.api import create_app
from core.settings import CoreSettings
from tests.servers import serve


@pytest.fixture(scope="module")
def mock_core_url() -> Iterator[str]:
    """Base URL (without /v1) of a real Core server on the mock backend."""
    with serve(create_app(CoreSettings(backend="mock"))) as url:
        yield url
