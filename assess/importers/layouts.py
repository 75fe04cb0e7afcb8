"""Known task layouts of lm-evaluation-harness and Inspect AI: which battery id a logged sample is.

A harness's own id is rarely the battery's: lm-eval's ``doc_id`` is the row index *within the task*
(MMLU-Pro is split into one task per category, so ``doc_id`` 0 is the first question of each), and
Inspect ids depend on the task. For the layouts below the importer derives the battery id itself;
any other task falls back to the harness id (with ``--id-prefix`` / ``--id-field`` to adjust it).

* lm-eval ``mmlu_pro_<category>`` / ``leaderboard_mmlu_pro`` → ``mmlu_pro/<doc.question_id>``
* lm-eval ``bbh_[cot_]{fewshot,zeroshot}_<t>`` / ``leaderboard_bbh_<t>`` → ``bbh/<t>/<doc_id>``
* Inspect ``mmlu_pro`` (``inspect_evals/mmlu_pro``; the sample id is the question_id) → ``mmlu_pro/<id>``
* Inspect ``bbh`` (``inspect_evals/bbh``; ids ``<t>_001``, 1-based) → ``bbh/<t>/<n - 1>``
* Inspect ``battery`` (``assess/battery``, our own task) → the instance id itself

lm-eval names the task only in the file name, ``samples_<task>_<timestamp>.jsonl``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_LM_EVAL_FILE = re.compile(r"^samples_(?P<task>.+?)_(?P<stamp>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl$")
_LM_EVAL_BBH = re.compile(r"^(?:leaderboard_bbh|bbh_(?:cot_)?(?:fewshot|zeroshot))_(?P<subtask>\w+)$")
_LM_EVAL_MMLU_PRO = re.compile(r"^(?:leaderboard_)?mmlu_pro(?:_\w+)?$")
_INSPECT_BBH_ID = re.compile(r"^(?P<subtask>[a-z_]+?)_(?P<number>\d+)$")


def lm_eval_task(path: Path) -> str:
    """The task named by an lm-eval samples file name (``samples_<task>_<timestamp>.jsonl``), else ""."""
    match = _LM_EVAL_FILE.match(path.name)
    return match.group("task") if match else ""


def lm_eval_battery_id(task: str, doc_id: Any, doc: Mapping[str, Any]) -> str:
    """The battery id of an lm-eval sample of a known task layout, else ""."""
    if _LM_EVAL_MMLU_PRO.match(task) and "question_id" in doc:
        return f"mmlu_pro/{doc['question_id']}"
    bbh = _LM_EVAL_BBH.match(task)
    if bbh and doc_id is not None:
        return f"bbh/{bbh.group('subtask')}/{doc_id}"
    return ""


def inspect_battery_id(task: str, sample_id: Any, metadata: Mapping[str, Any]) -> str:
    """The battery id of an Inspect sample of a known task layout, else ""."""
    name = task.rsplit("/", 1)[-1]
    if name == "battery":
        return str(metadata.get("instance_id", sample_id))
    if name == "mmlu_pro" and sample_id is not None:
        return f"mmlu_pro/{sample_id}"
    if name == "bbh":
        numbered = _INSPECT_BBH_ID.match(str(sample_id))
        if numbered:
            return f"bbh/{numbered.group('subtask')}/{int(numbered.group('number')) - 1}"
        if isinstance(sample_id, int) and metadata.get("dataset_name"):
            return f"bbh/{metadata['dataset_name']}/{sample_id - 1}"
    return ""
