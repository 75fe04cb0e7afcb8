"""A fault-injecting OpenAI-compatible chat server on 127.0.0.1, for retry, failure and resume tests.

Each incoming POST takes the next behaviour from ``script`` (then ``default``):

* ``ok``      — 200 with a valid answer (JSON levels for all-scales prompts, ``Level: N`` otherwise)
* ``429``     — 429 with ``Retry-After: <retry_after>``
* ``500``, ``400``, any status — that status with an error body
* ``slow``    — waits ``slow_s`` before answering (longer than the client's timeout)
* ``garbage`` — 200 whose message content holds no level
* ``badbody`` — 200 whose body is not JSON
* ``drop``    — closes the connection without any response

It counts what it received and, per prompt hash (the same SHA-256 the annotation store records),
what it *answered* with a 200 completion — i.e. what a paying client would have paid for.
Run as a script (``python tests/faultserver.py --port 8011 [--delay-s 0.05]``) it serves ``ok`` forever.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from assess.annotate.prompts import messages_hash
from assess.scales import ANNOTATED, UG


class FaultServer:
    """Start with :meth:`start` (or as a context manager); ``base_url`` ends in ``/v1``."""

    def __init__(self, script: Iterable[str] = (), *, default: str = "ok", delay_s: float = 0.0,
                 slow_s: float = 3.0, retry_after: str = "0", port: int = 0) -> None:
        self.script = collections.deque(script)
        self.default, self.delay_s, self.slow_s, self.retry_after = default, delay_s, slow_s, retry_after
        self.received = 0
        self.answered: collections.Counter[str] = collections.Counter()
        self.behaviours: list[str] = []
        self.authorizations: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FaultServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def answered_total(self) -> int:
        return sum(self.answered.values())

    def _next(self) -> str:
        with self._lock:
            self.received += 1
            behaviour = self.script.popleft() if self.script else self.default
            self.behaviours.append(behaviour)
            return behaviour

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                behaviour = server._next()
                server.authorizations.add(self.headers.get("Authorization", ""))
                try:
                    self._respond(behaviour, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _respond(self, behaviour: str, body: dict) -> None:
                if behaviour == "drop":
                    self.close_connection = True
                    return
                if behaviour.isdigit():
                    headers = {"Retry-After": server.retry_after} if behaviour == "429" else {}
                    return self._send(int(behaviour), {"error": {"message": f"injected {behaviour}"}}, headers)
                if behaviour == "badbody":
                    return self._send_raw(200, b"<html>upstream proxy error</html>")
                time.sleep(server.slow_s if behaviour == "slow" else server.delay_s)
                text = "I would rather not say." if behaviour == "garbage" else answer_for(body["messages"])
                with server._lock:
                    server.answered[messages_hash(body["messages"])] += 1
                self._send(200, {"id": "x", "object": "chat.completion", "model": body.get("model", ""),
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}],
                                 "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})

            def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def level_for(messages: list[dict[str, str]]) -> int:
    """A deterministic level 0-5 derived from the prompt, so tests can predict the server's answer."""
    prompt = messages[1] if len(messages) > 1 else messages[0]  # annotation prompts: (system, user); runs: (user,)
    return int(hashlib.sha256(prompt["content"].encode()).hexdigest(), 16) % 6


def answer_for(messages: list[dict[str, str]]) -> str:
    """A well-formed answer in the form the prompt asks for."""
    level = level_for(messages)
    if any("Answer with only a JSON object" in message["content"] for message in messages):
        levels = {code: (level * 20 if code == UG else level) for code in ANNOTATED}
        return json.dumps({"reasoning": "Injected answer.", "levels": levels})
    return f"Brief reasoning.\nLevel: {level}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-s", type=float, default=0.0, help="latency of every answer")
    args = parser.parse_args()
    FaultServer(port=args.port, delay_s=args.delay_s).serve_forever()
