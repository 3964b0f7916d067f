"""Fixtures shared by every test package: a real Core and real Edge servers on loopback."""

from tests.agent.conftest import core_url, edge, make_edge

__all__ = ["core_url", "edge", "make_edge"]
