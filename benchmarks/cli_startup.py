"""Start-up time of the `assess` command line: `assess --help` and `assess rubrics`.

Each command runs in a fresh interpreter (``python -m assess.cli``) several times; the script prints
the fastest and the median wall time, the ratio to a bare interpreter start (``python -c pass``) and
to the 0.5 s target of `assess --help`, and which heavy modules each command imported.

    python benchmarks/cli_startup.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.5
HEAVY = ("scipy", "matplotlib", "torch", "pandas", "sklearn")
ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import runpy, sys; sys.argv = ['assess', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('assess.cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         f"sys.stderr.write(','.join(m for m in {HEAVY!r} if m in sys.modules))\n")


def timed(argv: list[str], repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` fresh runs of ``argv`` (output discarded)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - start)
    return times


def heavy_imports(args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env)
    return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    bare = min(timed([sys.executable, "-c", "pass"], repeats))
    print(f"bare interpreter start: {bare:.3f} s (fastest of {repeats})")
    for args in (["--help"], ["rubrics"]):
        times = timed([sys.executable, "-m", "assess.cli", *args], repeats)
        best, median = min(times), statistics.median(times)
        target = f"; {best / TARGET_S:.2f}x the {TARGET_S} s target" if args == ["--help"] else ""
        print(f"assess {' '.join(args)}: fastest {best:.3f} s, median {median:.3f} s, "
              f"{best / bare:.1f}x a bare start{target}; heavy modules imported: {heavy_imports(args) or 'none'}")


if __name__ == "__main__":
    main()
