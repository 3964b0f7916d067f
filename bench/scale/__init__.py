"""Steward past one process: PostgreSQL with several workers (`python -m bench.scale`)."""
