"""Fixtures for subject-run tests: a small battery file and a scripted completions server on 127.0.0.1.

The server is a real OpenAI-compatible HTTP endpoint (``/v1/completions`` and
``/v1/chat/completions``) whose "model" is a Python function of the prompt, so tests know
the right and wrong answers in advance. ``fail_from`` makes every request from that number on
fail with HTTP 400 (not retried), to interrupt a run part-way.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

#: Eight items over two tasks and all four answer-format families.
ITEMS = [
    ("t/mc/0", "quiz", "mc", "Capital of France?\n\nA. Rome\nB. Paris\nC. Oslo", "B", "multiple_choice_3"),
    ("t/mc/1", "quiz", "mc", "Largest planet?\n(A) Jupiter\n(B) Mars", "(A)", "multiple_choice_2"),
    ("t/mc/2", "quiz", "mc", "2 + 2?\n\nA. 3\nB. 5\nC. 4\nD. 22", "C", "multiple_choice_4"),
    ("t/bin/0", "quiz", "bin", "Is ice cold?", "Yes", "binary"),
    ("t/bin/1", "quiz", "bin", "Is fire cold?", "No", "binary"),
    ("t/num/0", "quiz", "num", "((3 + 4) * 2) =", "14", "numeric"),
    ("t/num/1", "quiz", "num", "(10 - 25) =", "-15", "numeric"),
    ("t/free/0", "quiz", "free", "Sort the words: pear apple", "apple pear", "free_text"),
]


def write_battery(folder: Path) -> Path:
    """The eight items as a battery CSV; returns its path."""
    path = folder / "battery.csv"
    columns = ["instance_id", "benchmark", "task", "prompt", "target", "answer_format"]
    pd.DataFrame(ITEMS, columns=columns).to_csv(path, index=False)
    return path


def scripted_answer(prompt: str) -> str:
    """Right on the first three kinds of item (in chatty wording), wrong on the rest."""
    question = prompt.rsplit("Question: ", 1)[-1]
    answers = {"Capital of France": "The answer is (B).", "Largest planet": "a) Jupiter", "2 + 2": "D",
               "Is ice cold": "Yes\nBecause it is frozen.", "Is fire cold": "Yes",
               "((3 + 4) * 2)": "It equals 14.", "(10 - 25)": "15", "Sort the words": "pear apple"}
    return next(text for key, text in answers.items() if question.startswith(key))


class ScriptedServer:
    """Answers completions with ``respond(prompt)``; counts the answers it gave (what a client would pay for)."""

    def __init__(self, respond: Callable[[str], str] = scripted_answer, fail_from: int | None = None) -> None:
        self.respond, self.fail_from = respond, fail_from
        self.received = 0
        self.answered: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply(self, body: dict) -> tuple[int, dict]:
        """Status and JSON body for one request."""
        prompt = body["prompt"] if "prompt" in body else body["messages"][-1]["content"]
        with self._lock:
            self.received += 1
            if self.fail_from is not None and self.received >= self.fail_from:
                return 400, {"error": {"message": "scripted failure"}}
            self.answered.append(prompt)
        text = self.respond(prompt)
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        return 200, {"choices": [{"index": 0, "text": text, "finish_reason": "stop"}], "usage": usage}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                status, payload = owner.reply(json.loads(self.rfile.read(int(self.headers["content-length"]))))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def write_run_config(folder: Path, base_url: str, concurrency: int = 2, **overrides: str) -> Path:
    """A run.yaml for the scripted server over the battery in ``folder``; ``overrides`` are top-level keys."""
    lines = {"subject": "scripted", "battery": "battery.csv", "output": "out/outcomes.parquet",
             "select": "{stratify: null}", **overrides}
    text = "".join(f"{key}: {value}\n" for key, value in lines.items())
    text += (f"backend:\n  backend: openai\n  model: scripted\n  base_url: {base_url}\n  concurrency: {concurrency}\n"
             "  retry: {max_attempts: 2, initial_delay_s: 0.01, max_delay_s: 0.02, timeout_s: 5}\n"
             "  generation: {max_tokens: 16}\n")
    path = folder / "run.yaml"
    path.write_text(text)
    return path
