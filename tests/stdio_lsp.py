"""A minimal LSP client over a server process's stdio (for tests that need the process
itself: its stderr, its environment, an installed `sdf-lsp` command)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time


def frame(message: dict) -> bytes:
    """One message as the base protocol sends it."""
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class StdioServer:
    def __init__(self, cmd: list[str], cwd=None, env=None):
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.messages: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.stderr = b""
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                key, _, value = line.decode().partition(":")
                headers[key.lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def _read_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.stderr += chunk

    def send(self, msg: dict):
        self.proc.stdin.write(frame(msg))
        self.proc.stdin.flush()

    def notify(self, method: str, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def _wait(self, pred, timeout: float):
        deadline = time.monotonic() + timeout
        for msg in self.notifications:
            if pred(msg):
                self.notifications.remove(msg)
                return msg
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer in {timeout} s; stderr:\n{self.stderr.decode(errors='replace')}")
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if pred(msg):
                return msg
            if "id" in msg and "method" in msg:  # a request from the server: answer it with nothing
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
            elif "method" in msg:
                self.notifications.append(msg)

    def request(self, method: str, params, timeout: float = 60) -> dict:
        """The whole response message (`result` or `error`)."""
        self._next += 1
        rid = self._next
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return self._wait(lambda m: m.get("id") == rid and "method" not in m, timeout)

    def notification(self, method: str, pred=lambda p: True, timeout: float = 60) -> dict:
        return self._wait(lambda m: m.get("method") == method and pred(m.get("params")), timeout)["params"]

    def initialize(self, root_uri: str | None, options: dict | None = None) -> dict:
        res = self.request(
            "initialize",
            {"processId": None, "rootUri": root_uri, "capabilities": {}, "initializationOptions": options or {}},
        )
        self.notify("initialized", {})
        return res["result"]

    def open(self, uri: str, text: str, version: int = 1) -> list[dict]:
        """Open a document; the diagnostics published for it."""
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "sdf", "version": version, "text": text}},
        )
        return self.notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)["diagnostics"]

    def close(self, timeout: float = 20) -> int:
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit", None)
            return self.proc.wait(timeout=timeout)
        except (OSError, TimeoutError, subprocess.TimeoutExpired):
            self.proc.kill()
            return self.proc.wait()
        finally:
            time.sleep(0.1)  # the stderr reader's last chunk
