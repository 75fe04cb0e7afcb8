"""Cost of `assess profile` with three configs on the bundled sample: first run vs "up to date" rerun.

    python benchmarks/profile_rerun.py [--bootstrap 50] [--tree PATH]

Runs the console command in a fresh process twice on the same three subjects (same outcome table)
and prints wall seconds and peak memory of each process, and their ratios. ``--tree`` runs another
checkout of the code (e.g. an older commit, to compare). Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUBJECTS = ("Meta-Llama-3_1-8B-Instruct", "gemma-3-270m", "Mistral-7B-Instruct-v0.2")


def measure(command: list[str], env: dict[str, str], tree: Path) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB and stdout of one process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, env=env, cwd=tree, stdout=subprocess.PIPE, stderr=errors, text=True)
        out = process.stdout.read() if process.stdout else ""
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            sys.exit(f"{' '.join(command)} failed:\n{errors.read()[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=50)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    args.tree = args.tree.resolve()
    env = {**os.environ, "PYTHONPATH": str(args.tree.resolve())}
    with tempfile.TemporaryDirectory() as folder:
        configs = []
        for subject in SUBJECTS:
            path = Path(folder) / f"{subject}.yaml"
            path.write_text(f"subject: {subject}\noutput_dir: out-{subject}\nbootstrap: {args.bootstrap}\n")
            configs.append(str(path))
        command = [sys.executable, "-m", "assess.cli", "profile", *configs]
        first_s, first_mb, _ = measure(command, env, args.tree)  # run from the tree: -m puts the cwd first
        again_s, again_mb, out = measure(command, env, args.tree)
        empty_s, empty_mb, _ = measure([sys.executable, "-c", "import assess.cli"], env, args.tree)
    kept = " ".join(out.split()).count("up to date, kept")  # rich wraps long lines
    print(f"code: {args.tree}; {len(SUBJECTS)} configs, bootstrap {args.bootstrap}")
    print(f"first run:           {first_s:6.2f} s, {first_mb:7.0f} MB peak")
    print(f"up-to-date rerun:    {again_s:6.2f} s, {again_mb:7.0f} MB peak ({kept} of {len(SUBJECTS)} kept)")
    print(f"import of the CLI:   {empty_s:6.2f} s, {empty_mb:7.0f} MB peak")
    print(f"rerun / first run:   {again_s / first_s:.2f}× time, {again_mb / first_mb:.2f}× memory")
    print(f"rerun beyond import: {again_s - empty_s:.2f} s, {again_mb - empty_mb:.0f} MB")


if __name__ == "__main__":
    main()
