"""The fake Bot API server (tests/channels/fake_telegram.py) in a process of its own.

A test that measures when requests reach the server (the delivery worker's rate windows) cannot
run the fake on a thread of its own process: under the GIL the fake's arrival stamps wait while
the worker (and the database driver) hold the interpreter, by up to ~100 ms. Here the fake runs
as a child process, `python -m tests.channels.fake_telegram_process [TOKEN]`, and stamps each
call on its own interpreter. `time.monotonic()` is CLOCK_MONOTONIC, one clock for every process
of the machine, so the stamps can be compared with the parent's clock as well.

The child speaks line-delimited JSON. The first line it writes is `{"root": ..., "token": ...}`;
then, for each command read from stdin, one reply line on stdout:

    {"cmd": "calls"} -> [{"method": ..., "params": {...}, "content_type": ..., "status": ..., "at": ...}, ...]
    {"cmd": "stop"}  -> {"stopped": true}, then exit

It exits as well when stdin reaches EOF (the parent died or closed the pipe), and ignores SIGINT
(Ctrl-C reaches the whole process group; the parent stops it). `FakeTelegramProcess` is the
parent's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from tests.channels.fake_telegram import Call, FakeTelegram

DEFAULT_TOKEN = "123456:TEST-token"  # the TOKEN of tests/delivery/conftest.py
ROOT = Path(__file__).resolve().parents[2]  # the repository: `-m tests.channels...` imports from here


# -- the child ------------------------------------------------------------------------------


def _call_json(call: Call) -> dict[str, Any]:
    return {"method": call.method, "params": call.params, "content_type": call.content_type,
            "status": call.status, "at": call.at}  # fmt: skip


async def _serve(token: str, out: TextIO) -> None:
    def reply(message: Any) -> None:
        out.write(json.dumps(message, default=str) + "\n")
        out.flush()

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    fake = await FakeTelegram(token).start()
    try:
        reply({"root": fake.root, "token": fake.token})
        while line := await stdin.readline():  # b"" at EOF: the parent is gone
            try:
                command = json.loads(line)["cmd"]
            except (ValueError, KeyError, TypeError):
                reply({"error": f"bad command line {line!r}"})
                continue
            if command == "stop":
                reply({"stopped": True})
                return
            if command == "calls":
                reply([_call_json(c) for c in fake.calls])
            else:
                reply({"error": f"unknown command {command!r}"})
    finally:
        await fake.stop()


def main() -> None:
    token = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TOKEN
    # The protocol gets its own copy of stdout; anything printed by mistake goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(token, out))


# -- the parent -----------------------------------------------------------------------------


class FakeTelegramProcess:
    """The parent's handle on the child: `start()`, point a bot at `root` with `token`, read
    `calls_of(method)` (the child's `Call`s, stamped on its clock), `close()`."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.root = ""
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    def start(self, timeout: float = 15.0) -> FakeTelegramProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.channels.fake_telegram_process", self.token],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        # A thread reads stdout, so that every read here can have a timeout.
        threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True).start()
        try:
            hello = self._reply(timeout)
            self.root, self.token = hello["root"], hello["token"]
        except BaseException:
            self.close()
            raise
        return self

    def calls(self, timeout: float = 15.0) -> list[Call]:
        """Every call the server has recorded so far, in order of arrival."""
        self._send({"cmd": "calls"})
        return [
            Call(c["method"], c["params"], c["content_type"], status=c["status"], at=c["at"])
            for c in self._reply(timeout)
        ]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls() if c.method == method.lower()]

    def close(self, timeout: float = 5.0) -> None:
        """Stop the child politely (a stop command, then EOF on its stdin); kill it if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
                    proc.stdin.flush()
                except OSError:  # it is gone already
                    pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()

    def __enter__(self) -> FakeTelegramProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def _read(self, stdout: TextIO) -> None:
        for line in stdout:
            self._lines.put(line)
        self._lines.put(None)  # EOF: the child has exited

    def _send(self, command: dict[str, Any]) -> None:
        if self._proc is None or self._proc.stdin is None:
            raise RuntimeError("the fake Bot API process is not running")
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()

    def _reply(self, timeout: float) -> Any:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"the fake Bot API process did not answer within {timeout:.0f} s") from None
        if line is None:
            code = self._proc.poll() if self._proc is not None else None
            raise RuntimeError(f"the fake Bot API process exited (code {code}); see its stderr in the output")
        message = json.loads(line)
        if isinstance(message, dict) and "error" in message:
            raise RuntimeError(f"the fake Bot API process: {message['error']}")
        return message


if __name__ == "__main__":
    main()
