"""Fixtures for audit reports: the owner/member/webhook `world` of the approvals tests."""

from tests.approvals.conftest import world

__all__ = ["world"]
