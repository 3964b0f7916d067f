"""llamacpp benchmark: tokens per second through Core against llama-cpp-python called directly.

One run loads the same GGUF twice: in this process as a plain `llama_cpp.Llama` (the floor:
no server, no HTTP), and in a Core server (`uvicorn core.api:app`, llamacpp backend) started as
its own process on a free loopback port. Each repetition sends the same chat request to both,
non-streaming and streaming, alternating which goes first, and one side at a time, so the two
never compete for the CPU. It prints each mode's median tokens per second, the Core/direct
ratio (of the medians, and the median of the back-to-back pairs, which the verdict uses) and
the target's PASS/FAIL (Core within 5% of direct); nothing is asserted. Other work on the
machine moves these numbers more than Core does: the load average is printed with them.

Run it with `uv run python -m bench.llamacpp --help`.
"""
