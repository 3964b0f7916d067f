#!/usr/bin/env bash
# Install everything (uv included), build the Console, and run the whole test suite: format
# check, lint, strict type checks (Python and the Console's TypeScript), then pytest (including
# the real local model, the Console in headless Chromium, and the backend suites on SQLite and
# on the PostgreSQL at 127.0.0.1:5432, started here if it is installed but stopped). Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh
ensure_uv
sync_env --all-extras
build_console
ensure_chromium
ensure_postgres
step "ruff format --check"
uv run --no-sync ruff format --check .
step "ruff check"
uv run --no-sync ruff check .
step "mypy --strict"
uv run --no-sync mypy
typecheck_console
step "pytest"
uv run --no-sync pytest "$@"
