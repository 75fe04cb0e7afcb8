"""Run many `assess` command lines cheaply, each in its own process with memory and time limits.

:func:`run_cases` starts one worker process (``python tests/cli_sandbox.py cases.json``) that imports
the CLI once, then forks a child per case. Each child gets an address-space limit and an alarm,
writes its stdout/stderr to files and calls :func:`assess.cli.main`; the worker records how it
ended — exit code, or the signal that killed it — with its wall time and peak memory. A Python
exception escaping ``main`` is printed as a traceback and exits 99, so tests see it.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

#: Per-case limits of the hardening harnesses.
MEMORY_BYTES = 4 * 2 ** 30
TIME_S = 60


@dataclass(frozen=True)
class Outcome:
    """How one command line ended."""

    returncode: int | None  # None when killed by a signal
    signal: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float

    @property
    def clean_exit(self) -> bool:
        """Exit 0, or exit 2 with an error message and no traceback."""
        if self.signal is not None or "Traceback" in self.stderr:
            return False
        return self.returncode == 0 or (self.returncode == 2 and "error:" in self.stderr)


def run_cases(cases: list[dict], workdir: Path, env: dict[str, str] | None = None, parallel: int = 2,
              timeout_s: float = 900) -> list[Outcome]:
    """Run every case (``{"argv": [...], "cwd": str}``) and return their outcomes in order."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = workdir / "cases.json"
    spec.write_text(json.dumps({"cases": cases, "parallel": parallel}))
    child_env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
                 "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                os.environ.get("PYTHONPATH", "")]), **(env or {})}
    subprocess.run([sys.executable, __file__, str(spec)], env=child_env, check=True, timeout=timeout_s)
    results = json.loads((workdir / "results.json").read_text())
    return [Outcome(**r) for r in results]


def _child(case: dict, index: int, folder: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    signal.alarm(TIME_S)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        handle = os.open(folder / f"{index}.{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
    os.chdir(case.get("cwd", "."))
    from assess.cli import main

    try:
        code = main(case["argv"])
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:  # noqa: BLE001 — the harness must report it, not hide it
        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _worker(spec_path: Path) -> None:
    import assess.cli  # noqa: F401 — imported once, inherited by every fork
    import predictors  # noqa: F401
    import transformers  # noqa: F401 — what loading a fine-tuned assessor imports
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification  # noqa: F401

    spec = json.loads(spec_path.read_text())
    folder = spec_path.parent
    cases, parallel = spec["cases"], spec["parallel"]
    results: list[dict | None] = [None] * len(cases)
    running: dict[int, tuple[int, float]] = {}
    queue = list(range(len(cases)))
    while queue or running:
        while queue and len(running) < parallel:
            index = queue.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(cases[index], index, folder)
            running[pid] = (index, time.monotonic())
        pid, status, usage = os.wait4(-1, 0)
        index, started = running.pop(pid)
        results[index] = {
            "returncode": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "stdout": (folder / f"{index}.stdout").read_text(errors="replace"),
            "stderr": (folder / f"{index}.stderr").read_text(errors="replace"),
            "seconds": time.monotonic() - started, "peak_rss_mb": usage.ru_maxrss / 1024}
    (folder / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
