#!/usr/bin/env bash
# Regenerate the Console's copy of Edge's API schema (frontend/openapi.json) from the live
# app, then its TypeScript types (`npm run gen:api`). Run it after changing any route;
# tests/console/test_openapi_sync.py fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bootstrap.sh
ensure_uv
step "Writing frontend/openapi.json from Edge's live schema"
uv run --no-sync python -m backend.openapi_schema frontend/openapi.json
if [ -f frontend/package.json ] && grep -q '"gen:api"' frontend/package.json; then
  require_node
  if [ ! -d frontend/node_modules ]; then
    step "Installing the Console's packages (npm ci)"
    (cd frontend && npm ci --no-audit --no-fund)
  fi
  step "Generating the Console's API types (npm run gen:api)"
  (cd frontend && npm run --silent gen:api)
fi
