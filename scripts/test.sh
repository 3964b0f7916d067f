#!/usr/bin/env bash
# Install everything (uv included), build the Console, and run the whole test suite: format
# check, lint, strict type checks (Python and the Console's TypeScript), then pytest (including
# the real local model and the Console in headless Chromium). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh
ensure_uv
sync_env --all-extras
build_console
ensure_chromium
step "ruff format --check"
uv run --no-sync ruff format --check .
step "ruff check"
uv run --no-sync ruff check .
step "mypy --strict"
uv run --no-sync mypy
typecheck_console
step "pytest"
uv run --no-sync pytest "$@"
