#!/usr/bin/env bash
# Install everything Steward needs (uv included) and start it on its embedded defaults:
# the bundled local model through Core. Extra arguments go to `steward up`
# (e.g. --backend mock). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh
ensure_uv
sync_env --extra llamacpp --extra embeddings
step "Starting Steward"
exec uv run --no-sync steward up "$@"
