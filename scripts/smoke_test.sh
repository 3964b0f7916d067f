#!/usr/bin/env bash
# Smoke test against running Steward servers, with curl (SPEC §11). Start them first, e.g.
#   steward up --backend mock
# then run:  scripts/smoke_test.sh
# Environment: CORE_BASE_URL (default http://127.0.0.1:9000).
# Exits non-zero at the first check that fails, saying which.
set -euo pipefail
CORE=${CORE_BASE_URL:-http://127.0.0.1:9000}
command -v curl >/dev/null || { echo "smoke: curl is required (apt-get install curl)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "smoke: python3 is required to read JSON" >&2; exit 2; }

pass=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1" >&2; [ $# -gt 1 ] && printf '     %s\n' "$2" >&2; exit 1; }
# jget JSON EXPR: evaluate a Python expression over the parsed JSON `d`.
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

echo "== Core at $CORE"
health=$(curl -sf "$CORE/health") || fail "Core /health answers" "is Core running at $CORE?"
[ "$(jget "$health" 'd["status"]')" = ok ] && ok "Core is healthy (backend: $(jget "$health" 'd["backend"]'))"
model=$(jget "$(curl -sf "$CORE/v1/models")" 'd["data"][0]["id"]') || fail "model list"
ok "model listed: $model"

body=$(printf '{"model":"%s","messages":[{"role":"user","content":"Say hello"}],"max_tokens":24}' "$model")
reply=$(curl -sf "$CORE/v1/chat/completions" -H 'content-type: application/json' -d "$body") \
  || fail "chat completion"
text=$(jget "$reply" 'd["choices"][0]["message"]["content"]')
[ -n "$text" ] || fail "chat completion has text" "$reply"
ok "chat completion: $(printf '%s' "$text" | head -c 80 | tr '\n' ' ')"

stream=$(curl -sfN "$CORE/v1/chat/completions" -H 'content-type: application/json' \
  -d "${body%\}},\"stream\":true}") || fail "streaming completion"
chunks=$(grep -c '^data: {' <<<"$stream" || true)
tail -n 2 <<<"$stream" | grep -q '^data: \[DONE\]' || fail "stream ends with [DONE]" "$stream"
ok "streaming completion: $chunks chunks, then [DONE]"

code=$(curl -s -o /dev/null -w '%{http_code}' "$CORE/v1/chat/completions" \
  -H 'content-type: application/json' -d '{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}')
[ "$code" = 404 ] || fail "unknown model is 404" "got $code"
ok "unknown model is refused with 404"

echo "smoke: $pass passed, 0 failed"
