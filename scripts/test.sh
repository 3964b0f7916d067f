#!/usr/bin/env bash
# Install everything (uv included) and run the whole test suite: format check, lint, strict
# type check, then pytest (including the real local model). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh
ensure_uv
sync_env --all-extras
step "ruff format --check"
uv run --no-sync ruff format --check .
step "ruff check"
uv run --no-sync ruff check .
step "mypy --strict"
uv run --no-sync mypy
step "pytest"
uv run --no-sync pytest "$@"
