"""An Inspect AI task for any `assess` battery (optional extra ``inspect``: ``pip install 'assess[inspect]'``).

    inspect eval assess/battery -T battery=battery.parquet --model openai/gpt-4o-mini
    inspect eval assess/battery -T battery=sample -T benchmarks=bbh -T annotated=true --limit 50

Inspect finds the task through the ``inspect_ai`` entry point of this package (registered name
``assess/battery``). Each battery row becomes one sample: its prompt rendered with the same
templates as ``assess run`` (:data:`assess.runs.dataset.DEFAULT_TEMPLATES`), the instance id as
sample id, and metadata ``instance_id``, ``benchmark``, ``task``, ``answer_format`` (its family),
``options``, ``candidates`` and ``demands`` (every annotated level, UG included). The scorer is ``assess run``'s
:class:`~assess.runs.scorers.AutoScorer` (option letter, exact match or number by answer format),
so a log imports back with ``assess import inspect LOG --battery SAME_BATTERY -o outcomes.csv`` and
no id mapping: the ids are the battery's.
"""
from __future__ import annotations

import math

import pandas as pd
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState, generate

from .config import SAMPLE
from .datasets import load_sample
from .runs.dataset import Sample as RunSample
from .runs.dataset import build_samples
from .runs.scorers import AutoScorer
from .scales import ANNOTATED
from .sources import read_battery


def _battery(spec: str, benchmarks: str, tasks: str, annotated: bool) -> pd.DataFrame:
    battery = load_sample()[0] if spec == SAMPLE else read_battery(spec)
    for column, wanted in (("benchmark", benchmarks), ("task", tasks)):
        names = [name.strip() for name in wanted.split(",") if name.strip()]
        if names:
            battery = battery[battery[column].isin(names)]
    if annotated:
        battery = battery[battery[list(ANNOTATED)].notna().any(axis=1)]
    return battery.reset_index(drop=True)


def demands(row: pd.Series) -> dict[str, float]:
    """The annotated levels of a battery row (scales without a level left out)."""
    return {code: float(row[code]) for code in ANNOTATED if not math.isnan(row[code])}


@task
def battery(battery: str = SAMPLE, benchmarks: str = "", tasks: str = "", annotated: bool = False) -> Task:
    """Every item of an `assess` battery (a file, or ``sample``), optionally filtered by benchmark/task names
    (comma-separated) or to annotated items; scored as ``assess run`` scores it."""
    rows = _battery(battery, benchmarks, tasks, annotated)
    samples = build_samples(rows)
    by_id = rows.set_index("instance_id")
    dataset = [Sample(input=s.prompt, target=s.target, id=s.instance_id,
                      metadata={"instance_id": s.instance_id, "benchmark": str(by_id.at[s.instance_id, "benchmark"]),
                                "task": str(by_id.at[s.instance_id, "task"]), "answer_format": s.answer_format,
                                "options": list(s.options), "candidates": list(s.candidates), "demands": demands(by_id.loc[s.instance_id])})
               for s in samples]
    return Task(dataset=MemoryDataset(dataset, name=f"assess:{battery}"), solver=generate(), scorer=assess_scorer())


@scorer(metrics=[accuracy(), stderr()])
def assess_scorer():
    """``assess run``'s automatic scorer: the answer read from the output, compared by answer format."""
    auto = AutoScorer()

    async def score(state: TaskState, target: Target) -> Score:
        meta = state.metadata
        sample = RunSample(instance_id=meta["instance_id"], prompt=state.input_text, target=target.text,
                           answer_format=meta["answer_format"], options=tuple(meta["options"]),
                           candidates=tuple(meta["candidates"]))
        result = await auto.score(sample, state.output.completion)
        return Score(value=CORRECT if result.correct else INCORRECT, answer=result.extracted,
                     explanation=state.output.completion)

    return score
