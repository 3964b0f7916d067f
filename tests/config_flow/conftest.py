"""The owner/member world of the approvals tests, reused for configuration."""

from tests.approvals.conftest import world

__all__ = ["world"]
