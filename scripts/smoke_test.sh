#!/usr/bin/env bash
# Smoke test against running Steward servers, with curl (SPEC §11). Start them first, e.g.
#   steward up --backend mock
# then run:  scripts/smoke_test.sh
# Environment: CORE_BASE_URL (default http://127.0.0.1:9000), EDGE_URL (default
# http://127.0.0.1:8000), STEWARD_TOKEN (a bearer token: the owner's, printed at first start).
# Exits non-zero at the first check that fails, saying which.
set -euo pipefail
CORE=${CORE_BASE_URL:-http://127.0.0.1:9000}
EDGE=${EDGE_URL:-http://127.0.0.1:8000}
TOKEN=${STEWARD_TOKEN:-${STEWARD_OWNER_TOKEN:-}}
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

echo "== Edge at $EDGE"
[ -n "$TOKEN" ] || fail "a token" "set STEWARD_TOKEN to the owner's token (printed when Steward first started)"
auth=(-H "Authorization: Bearer $TOKEN")
eh=$(curl -sf "$EDGE/health") || fail "Edge /health answers" "is Edge running at $EDGE?"
code=$(curl -s -o /dev/null -w '%{http_code}' "$EDGE/v1/agent/tasks")
[ "$code" = 401 ] || fail "no token is refused" "got $code"
ok "Edge is healthy and refuses requests without a token"
[ "$(jget "$eh" '(d.get("core") or {}).get("breaker")')" = closed ] \
  || fail "Edge's circuit breaker in front of Core is closed" "$eh"
ok "Edge's circuit breaker in front of Core is closed"

echo "== Console at $EDGE/"
headers=$(mktemp); trap 'rm -f "$headers"' EXIT
page=$(curl -s -D "$headers" -H 'Accept: text/html' "$EDGE/") || fail "Edge answers at /"
code=$(head -n 1 "$headers" | cut -d' ' -f2)
if [ "$code" = 503 ] && grep -q 'npm run build' <<<"$page"; then
  ok "Console not built, and / says how to build it (./scripts/up.sh builds it)"
else
  [ "$code" = 200 ] || fail "Edge serves the Console at /" "got $code"
  grep -qi '<html' <<<"$page" && grep -q '/_next/static/' <<<"$page" \
    || fail "/ is the Console's HTML" "$(head -c 300 <<<"$page")"
  grep -qi '^content-security-policy:.*frame-ancestors' "$headers" \
    || fail "the Console's HTML has a Content-Security-Policy" "$(cat "$headers")"
  asset=$(grep -o '/_next/static/[^"]*\.js' <<<"$page" | head -n 1)
  curl -sfI "$EDGE$asset" | grep -qi '^cache-control:.*immutable' \
    || fail "the Console's scripts are served as immutable" "$asset"
  ok "Console served at / without a token (HTML, CSP, immutable $asset)"
fi

sent=$(curl -sf "${auth[@]}" "$EDGE/v1/agent/messages" -H 'content-type: application/json' \
  -d '{"text":"Hello Steward, what can you do?"}') || fail "message accepted"
task=$(jget "$sent" 'd["task_id"]'); conv=$(jget "$sent" 'd["conversation_id"]')
ok "message accepted: task $task in conversation $conv"
status=queued
for _ in $(seq 600); do
  t=$(curl -sf "${auth[@]}" "$EDGE/v1/agent/tasks/$task") || fail "task readable"
  status=$(jget "$t" 'd["status"]')
  case "$status" in completed|failed|cancelled) break;; esac
  sleep 0.1
done
[ "$status" = completed ] || fail "task completes" "$t"
ok "task completed; reply: $(jget "$t" 'd["reply"]' | head -c 100 | tr '\n' ' ')"

tl=$(curl -sf "${auth[@]}" "$EDGE/v1/audit/conversations/$conv/timeline") || fail "timeline"
echo "     timeline:"
jget "$tl" '"\n".join("       %4d  %-16s %s" % (e["seq"], e["type"], e["payload"].get("status", "")) for e in d["data"])'
types=$(jget "$tl" '" ".join(e["type"] for e in d["data"])')
for ty in InputEvent PlanEvent RouteEvent CompletionEvent; do
  grep -q "$ty" <<<"$types" || fail "timeline has $ty" "$types"
done
ok "timeline holds input, plan, route and completion"
v=$(curl -sf "${auth[@]}" "$EDGE/v1/audit/verify") || fail "verify"
[ "$(jget "$v" 'd["ok"]')" = True ] || fail "ledger verifies" "$v"
ok "ledger hash chain verifies ($(jget "$v" 'd["events"]') events)"
md=$(curl -sf "${auth[@]}" "$EDGE/v1/audit/render" -H 'content-type: application/json' \
  -d '{"task_id":"'"$task"'","format":"markdown"}') || fail "audit render of the task"
grep -q "$task" <<<"$md" || fail "the report names its task" "$(head -c 300 <<<"$md")"
ok "audit report of the task rendered ($(wc -l <<<"$md") lines of Markdown)"

echo "== Tools and approvals"
tools=$(curl -sf "${auth[@]}" "$EDGE/v1/tools") || fail "tools list"
ok "tools: $(jget "$tools" '", ".join(t["name"] + " (" + t["risk"] + ")" for t in d["data"])')"
calc=$(curl -sf "${auth[@]}" "$EDGE/v1/tools:execute" -H 'content-type: application/json' \
  -d '{"tool":"calculator","args":{"expression":"6*7"}}') || fail "read-only call"
[ "$(jget "$calc" 'd["status"]')" = completed ] || fail "read-only call runs at once" "$calc"
ok "read-only call ran at once: 6*7 = $(jget "$calc" 'd["result"]["result"]')"
held=$(curl -s "${auth[@]}" "$EDGE/v1/tools:execute" -H 'content-type: application/json' \
  -d '{"tool":"http_post","args":{"url":"http://127.0.0.1:9/smoke","body":"hello"}}')
[ "$(jget "$held" 'd["status"]')" = pending_approval ] || fail "external write is held" "$held"
approval=$(jget "$held" 'd["approval_id"]')
ok "external write held for approval: $approval"
member=$(curl -sf "${auth[@]}" "$EDGE/v1/users" -H 'content-type: application/json' \
  -d "{\"name\":\"smoke-member-$RANDOM$RANDOM\"}") || fail "owner adds a member"
mtoken=$(jget "$member" 'd["token"]')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $mtoken" \
  "$EDGE/v1/approvals/$approval:approve")
[ "$code" = 403 ] || fail "a member cannot approve" "got $code"
ok "a member's approve is refused (403)"
decided=$(curl -sf "${auth[@]}" -X POST "$EDGE/v1/approvals/$approval:approve" \
  -H 'content-type: application/json' -d '{"reason":"smoke test"}') || fail "owner approves"
[ "$(jget "$decided" 'd["status"]')" = approved ] || fail "approved" "$decided"
ok "the owner's approve ran it once: tool call $(jget "$decided" 'd["tool_call"]["status"]')"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${auth[@]}" "$EDGE/v1/approvals/$approval:approve")
[ "$code" = 409 ] || fail "a second decision is refused" "got $code"
ok "a second decision is refused (409)"

echo "== Preferences"
ask() {  # ask TEXT -> prints the reply of a fresh conversation
  local sent task t status
  sent=$(curl -sf "${auth[@]}" "$EDGE/v1/agent/messages" -H 'content-type: application/json' \
    -d "{\"text\":\"$1\"}") || fail "message accepted"
  task=$(jget "$sent" 'd["task_id"]')
  for _ in $(seq 600); do
    t=$(curl -sf "${auth[@]}" "$EDGE/v1/agent/tasks/$task")
    status=$(jget "$t" 'd["status"]')
    case "$status" in completed|failed|cancelled) break;; esac
    sleep 0.1
  done
  [ "$status" = completed ] || fail "task completes" "$t"
  jget "$t" 'd["reply"]'
}
question="How should I organise my week?"
before=$(ask "$question")
patch=$(curl -sf "${auth[@]}" "$EDGE/v1/config/patches:propose" -H 'content-type: application/json' \
  -d '{"text":"回复更简洁"}') || fail "propose a preference"
ok "proposed: $(jget "$patch" 'd["risk"] + " " + "; ".join(c["path"] + ": " + str(c["before"]) + " -> " + str(c["after"]) for c in d["diff"])')"
rev=$(curl -sf "${auth[@]}" -X POST "$EDGE/v1/config/patches/$(jget "$patch" 'd["patch_id"]'):commit") \
  || fail "commit the patch"
after=$(ask "$question")
backend=$(jget "$health" 'd["backend"]')
if [ "$backend" = mock ]; then
  [ "${#after}" -lt "${#before}" ] || fail "the next reply is shorter" "$before / $after"
fi
ok "committed; the reply went from ${#before} to ${#after} characters"
curl -sf "${auth[@]}" -X POST "$EDGE/v1/config/revisions/$(jget "$rev" 'd["revision_id"]'):rollback" \
  >/dev/null || fail "roll back"
again=$(ask "$question")
if [ "$backend" = mock ]; then  # a sampling model varies; the mock is deterministic
  [ "$again" = "$before" ] || fail "rollback restores the reply" "$before / $again"
  ok "rolled back; the reply is exactly as before"
else
  ok "rolled back; the reply has ${#again} characters again"
fi

echo "== Memory"
remember() {  # remember TEXT [CONFIDENCE] -> prints the write's JSON
  curl -sf "${auth[@]}" "$EDGE/v1/memory/write" -H 'content-type: application/json' \
    -d "{\"text\":\"$1\",\"confidence\":${2:-0.95}}" || fail "memory write: $1"
}
recall() {  # recall TEXT -> prints the query's JSON
  curl -sf "${auth[@]}" "$EDGE/v1/memory/query" -H 'content-type: application/json' \
    -d "{\"text\":\"$1\",\"top_k\":3}" || fail "memory query: $1"
}
tag="smoke$RANDOM$RANDOM"
fact="The spare key for $tag is under the blue flowerpot."
w=$(remember "$fact")
[ "$(jget "$w" 'd["status"]')" = stored ] || fail "a plain fact is stored" "$w"
memid=$(jget "$w" 'd["memory"]["memory_id"]')
ok "a plain fact is stored: $memid"
q=$(recall "where is the spare key for $tag")
[ "$(jget "$q" 'd["data"][0]["memory_id"]')" = "$memid" ] || fail "query finds it first" "$q"
ok "query finds it first (score $(jget "$q" 'round(d["data"][0]["score"], 3)'))"
w=$(remember "My $tag PIN code is 4071" 0.99)
[ "$(jget "$w" 'd["status"]')" = candidate ] || fail "a credential becomes a candidate" "$w"
ok "a credential becomes a candidate: $(jget "$w" '", ".join(d["reasons"])')"
cand=$(jget "$w" 'd["candidate"]["candidate_id"]')
curl -sf "${auth[@]}" -X POST "$EDGE/v1/memory/candidates/$cand:reject" >/dev/null || fail "reject"
ok "the owner rejects it"
w=$(remember "I think $tag might open on Sundays" 0.3)
cand=$(jget "$w" 'd["candidate"]["candidate_id"]')
a=$(curl -sf "${auth[@]}" -X POST "$EDGE/v1/memory/candidates/$cand:approve") || fail "approve"
ok "a low-confidence candidate approved: now $(jget "$a" 'd["memory_id"]')"
curl -sf "${auth[@]}" -X DELETE "$EDGE/v1/memory/items/$memid" >/dev/null || fail "delete"
q=$(recall "where is the spare key for $tag")
[ "$(jget "$q" 'any(x["memory_id"] == "'"$memid"'" for x in d["data"])')" = False ] \
  || fail "a deleted item is gone" "$q"
ok "a deleted item is never returned again"

echo "smoke: $pass passed, 0 failed"
