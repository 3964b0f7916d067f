"""Start Edge processes in a fraction of a second: import Edge once, then fork a child per
start. For tests that start and SIGKILL Edge a hundred times, where importing Edge afresh
(seconds on two cores) would be most of the run.

Run as `python -m tests.agent.zygote`; each line on stdin is a JSON object `{"port", "log",
"env"}`; for each, a child process is forked that becomes its own session (so `killpg` takes
exactly it), sends its output to `log`, takes `env` as its whole environment, and serves
`backend.agent.api:app` on 127.0.0.1:`port`, building the app from that environment as
`uvicorn backend.agent.api:app` would. The zygote answers each line with the child's pid.
Children are reaped automatically; the zygote exits when stdin closes.

Nothing is started before the fork: importing Edge opens no database, starts no thread (BLAS
is held to one thread) and creates no event loop, so each child is as fresh as a new process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback

import uvicorn

import backend.agent.api  # noqa: F401  the import is the point: children inherit it


def _child(port: int, log: str, env: dict[str, str]) -> None:
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    uvicorn.run(
        "backend.agent.api:app",
        host="127.0.0.1",
        port=port,
        log_level="info",
        access_log=False,
    )


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # no zombies: the kernel reaps children
    for line in sys.stdin:
        order = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(int(order["port"]), str(order["log"]), dict(order["env"]))
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
