"""Steward's benchmarks; each subpackage is one benchmark run with `python -m bench.<name>`."""
