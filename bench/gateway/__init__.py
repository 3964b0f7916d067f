"""Gateway benchmark: Steward Core against a bare FastAPI floor and the LiteLLM proxy.

One run starts each server in turn as its own process on a free loopback port, applies the same
wrk load (non-streaming and streaming chat completions), measures streaming time to first chunk
with a raw-socket client, then prints a table, the Core ratios and the targets' PASS/FAIL.

Run it with `uv run --group bench python -m bench.gateway --help`.
"""
