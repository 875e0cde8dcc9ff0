"""A bare JSON-RPC client over the server's stdio, for what a well-behaved client
(pytest-lsp) cannot send: broken frames, malformed messages, thousands of notifications
as fast as a pipe takes them. Answers and notifications are collected by a thread."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SERVER = [sys.executable, "-m", "sdf_lsp", "serve"]


class RawServer:
    def __init__(self, cwd: Path | None = None):
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, cwd=cwd)
        self.inbox: queue.Queue = queue.Queue()
        self.seen: list[dict] = []  # every message the server sent that was not waited for
        self._id = 0
        threading.Thread(target=self._read, daemon=True).start()

    # -- the wire --------------------------------------------------------------------
    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                if line == b"\r\n":
                    break
            self.inbox.put(json.loads(out.read(length)))

    def frame(self, body: bytes, length: int | None = None):
        """One frame, with the given (possibly wrong) Content-Length."""
        n = len(body) if length is None else length
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (n, body))
        self.proc.stdin.flush()

    def send(self, message):
        self.frame(json.dumps(message).encode())

    # -- messages --------------------------------------------------------------------
    def next_id(self) -> int:
        self._id += 1
        return self._id

    def notify(self, method: str, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params=None, timeout: float = 30.0) -> dict:
        """Send a request and return the response (the whole message), failing the test
        when none comes."""
        msg_id = self.next_id()
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.wait_for(lambda m: m.get("id") == msg_id and "method" not in m, timeout, f"{method} #{msg_id}")

    def wait_for(self, pred, timeout: float = 30.0, what: str = "a message") -> dict:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer to {what} within {timeout} s; stderr:\n{self.errors()[-3000:]}")
            try:
                m = self.inbox.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if pred(m):
                return m
            self.seen.append(m)

    def drain(self):
        while True:
            try:
                self.seen.append(self.inbox.get_nowait())
            except queue.Empty:
                return

    # -- lifecycle ---------------------------------------------------------------------
    def initialize(self, root: Path | None = None):
        params = {"capabilities": {}, "processId": None}
        if root is not None:
            params["rootUri"] = root.as_uri()
        answer = self.request("initialize", params)
        assert "result" in answer, answer
        self.notify("initialized", {})
        return answer["result"]

    def open(self, uri: str, text: str, version: int = 1):
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "sdf", "version": version, "text": text}},
        )

    def rss_kib(self) -> int:
        """Resident memory of the server process."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def close(self):
        try:
            if self.proc.poll() is None:
                self.request("shutdown", timeout=10)
                self.notify("exit", None)
                self.proc.wait(timeout=10)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                f.close()
            self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
