#!/usr/bin/env bash
# Install everything Steward needs (uv included), build the Console when its sources changed,
# and start Steward on its embedded defaults: the bundled local model through Core, the
# Console at Edge's address. Extra arguments go to `steward up`
# (e.g. --backend mock). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh
ensure_uv
sync_env --extra llamacpp --extra embeddings
if ! build_console; then
  echo "warning: starting without the Console; the API works, and Edge's / says how to" >&2
  echo "         build it." >&2
fi
step "Starting Steward"
exec uv run --no-sync steward up "$@"
