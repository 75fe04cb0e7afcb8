"""Batteries from Hugging Face datasets (optional extra ``hf``: the ``datasets`` library).

A registry of common benchmarks maps each dataset's own columns onto the battery layout
(``instance_id, benchmark, task, prompt, target, answer_format``); any other dataset takes
``--prompt-column``/``--template``, ``--target-column`` and ``--id-column``. Registered:

* ``mmlu_pro`` — TIGER-Lab/MMLU-Pro, test: ``mmlu_pro/<question_id>``, task = category, the question
  then ``A. option`` lines (the bundled sample's layout), target = answer letter.
* ``bbh`` — lukaemon/bbh, one config per task, test: ``bbh/<task>/<row>``, prompt = input.
* ``gsm8k`` — openai/gsm8k (main), test: ``gsm8k/<row>``, target = the number after ``####``.
* ``math`` — HuggingFaceH4/MATH-500, test: ``math/<unique_id>``, task = subject, target = answer.
* ``arc`` — allenai/ai2_arc (ARC-Challenge), test: ``arc/<id>``, labelled choices, target = answerKey.
* ``gpqa`` — Idavidrein/gpqa (gpqa_diamond, gated), train: ``gpqa/<Record ID>``; the four answers in
  an order fixed by the record id (the published files list the correct one first).
* ``musr`` — TAUR-Lab/MuSR, splits murder_mysteries, object_placements, team_allocation:
  ``musr/<split>/<row>``, narrative + question + numbered choices, target = the correct choice number.
* ``ifeval`` — google/IFEval, train: ``ifeval/<key>``, prompt only (scored by its instruction checks).

Loading goes through :func:`datasets.load_dataset`: a hub id, a local dataset folder, or a builder
(``parquet``, ``json``, ``csv``) with ``data_files``. With no hub in reach the error says so and
how to load local files instead.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..battery import validate_battery
from ..errors import InputError

Row = Mapping[str, Any]
#: (row, row number within its split/config, config or split name) -> battery fields.
Converter = Callable[[Row, int, str], dict[str, str]]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BBH_TASKS: tuple[str, ...] = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa", "dyck_languages",
    "formal_fallacies", "geometric_shapes", "hyperbaton", "logical_deduction_five_objects",
    "logical_deduction_seven_objects", "logical_deduction_three_objects", "movie_recommendation",
    "multistep_arithmetic_two", "navigate", "object_counting", "penguins_in_a_table",
    "reasoning_about_colored_objects", "ruin_names", "salient_translation_error_detection", "snarks",
    "sports_understanding", "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects", "web_of_lies",
    "word_sorting")
_BINARY = {"yes", "no", "true", "false", "valid", "invalid"}
_OPTION_LABEL = re.compile(r"^\(([A-Z])\)", re.MULTILINE)


@dataclass(frozen=True)
class Benchmark:
    """Where a registered benchmark lives and how its rows become battery items."""

    name: str
    dataset: str
    split: str
    convert: Converter
    #: Dataset configs to load (one each); ``(None,)`` for a dataset without configs.
    configs: tuple[str | None, ...] = (None,)
    #: Splits to load instead of ``split`` when the benchmark spreads over several (MuSR).
    splits: tuple[str, ...] = field(default_factory=tuple)


def options_block(options: Sequence[str], labels: Sequence[str] | None = None) -> str:
    """``A. first`` lines (or the given labels) for a list of options."""
    labels = labels or LETTERS[:len(options)]
    return "\n".join(f"{label}. {text}" for label, text in zip(labels, options))


def _mmlu_pro(row: Row, _index: int, _config: str) -> dict[str, str]:
    options = list(row["options"])
    return {"instance_id": f"mmlu_pro/{row['question_id']}", "benchmark": "mmlu_pro", "task": str(row["category"]),
            "prompt": f"{row['question']}\n\n{options_block(options)}", "target": str(row["answer"]),
            "answer_format": f"multiple_choice_{len(options)}"}


def bbh_answer_format(prompt: str, target: str) -> str:
    """``multiple_choice_N`` for an ``(A)`` target (N = options in the prompt), binary, numeric or free text."""
    if re.fullmatch(r"\([A-Z]\)", target.strip()):
        return f"multiple_choice_{len(set(_OPTION_LABEL.findall(prompt)))}"
    if target.strip().lower() in _BINARY:
        return "binary"
    if re.fullmatch(r"-?\d+(?:\.\d+)?", target.strip()):
        return "numeric"
    return "free_text"


def _bbh(row: Row, index: int, config: str) -> dict[str, str]:
    prompt, target = str(row["input"]), str(row["target"])
    return {"instance_id": f"bbh/{config}/{index}", "benchmark": "bbh", "task": config, "prompt": prompt,
            "target": target, "answer_format": bbh_answer_format(prompt, target)}


def _gsm8k(row: Row, index: int, _config: str) -> dict[str, str]:
    answer = str(row["answer"]).rsplit("####", 1)[-1].strip().replace(",", "")
    return {"instance_id": f"gsm8k/{index}", "benchmark": "gsm8k", "task": "gsm8k", "prompt": str(row["question"]),
            "target": answer, "answer_format": "numeric"}


def _math(row: Row, _index: int, _config: str) -> dict[str, str]:
    return {"instance_id": f"math/{row['unique_id']}", "benchmark": "math", "task": str(row.get("subject", "math")),
            "prompt": str(row["problem"]), "target": str(row["answer"]), "answer_format": "free_text"}


def _arc(row: Row, _index: int, _config: str) -> dict[str, str]:
    choices = row["choices"]
    texts, labels = list(choices["text"]), list(choices["label"])
    return {"instance_id": f"arc/{row['id']}", "benchmark": "arc", "task": "arc_challenge",
            "prompt": f"{row['question']}\n\n{options_block(texts, labels)}", "target": str(row["answerKey"]),
            "answer_format": f"multiple_choice_{len(texts)}"}


def _gpqa(row: Row, _index: int, _config: str) -> dict[str, str]:
    answers = [str(row["Correct Answer"])] + [str(row[f"Incorrect Answer {i}"]) for i in (1, 2, 3)]
    order = sorted(range(4), key=lambda i: hashlib.sha256(f"{row['Record ID']}/{i}".encode()).hexdigest())
    shuffled = [answers[i].strip() for i in order]
    return {"instance_id": f"gpqa/{row['Record ID']}", "benchmark": "gpqa",
            "task": str(row.get("High-level domain", "gpqa")),
            "prompt": f"{str(row['Question']).strip()}\n\n{options_block(shuffled)}",
            "target": LETTERS[order.index(0)], "answer_format": "multiple_choice_4"}


def _musr(row: Row, index: int, split: str) -> dict[str, str]:
    choices = row["choices"]
    if isinstance(choices, str):  # the published files store the list as its Python repr
        import ast

        choices = ast.literal_eval(choices)
    numbered = "\n".join(f"{i}. {text}" for i, text in enumerate(choices, start=1))
    return {"instance_id": f"musr/{split}/{index}", "benchmark": "musr", "task": split,
            "prompt": f"{row['narrative']}\n\n{row['question']}\n\n{numbered}",
            "target": str(int(row["answer_index"]) + 1), "answer_format": f"multiple_choice_{len(choices)}"}


def _ifeval(row: Row, _index: int, _config: str) -> dict[str, str]:
    return {"instance_id": f"ifeval/{row['key']}", "benchmark": "ifeval", "task": "ifeval",
            "prompt": str(row["prompt"]), "target": "", "answer_format": "free_text"}


REGISTRY: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("mmlu_pro", "TIGER-Lab/MMLU-Pro", "test", _mmlu_pro),
    Benchmark("bbh", "lukaemon/bbh", "test", _bbh, configs=BBH_TASKS),
    Benchmark("gsm8k", "openai/gsm8k", "test", _gsm8k, configs=("main",)),
    Benchmark("math", "HuggingFaceH4/MATH-500", "test", _math),
    Benchmark("arc", "allenai/ai2_arc", "test", _arc, configs=("ARC-Challenge",)),
    Benchmark("gpqa", "Idavidrein/gpqa", "train", _gpqa, configs=("gpqa_diamond",)),
    Benchmark("musr", "TAUR-Lab/MuSR", "", _musr, splits=("murder_mysteries", "object_placements", "team_allocation")),
    Benchmark("ifeval", "google/IFEval", "train", _ifeval),
)}


@dataclass(frozen=True)
class ColumnMapping:
    """A user's mapping for an unregistered dataset: which columns (or template) make each battery field."""

    prompt_column: str | None = None
    template: str | None = None
    target_column: str | None = None
    id_column: str | None = None
    benchmark: str = ""

    def convert(self, row: Row, index: int, config: str) -> dict[str, str]:
        try:
            prompt = self.template.format(**row) if self.template else str(row[self.prompt_column or ""])
        except KeyError as err:
            raise InputError(f"row {index + 1}: no column {err.args[0]!r} (columns: {', '.join(row)})",
                             column="--template" if self.template else "--prompt-column") from None
        for option, column in (("--target-column", self.target_column), ("--id-column", self.id_column)):
            if column is not None and column not in row:
                raise InputError(f"row {index + 1}: no column {column!r} (columns: {', '.join(row)})", column=option)
        local_id = row[self.id_column] if self.id_column else index
        return {"instance_id": f"{self.benchmark}/{f'{config}/' if config else ''}{local_id}",
                "benchmark": self.benchmark, "task": config or self.benchmark, "prompt": prompt,
                "target": str(row[self.target_column]) if self.target_column else "", "answer_format": ""}


def load_rows(dataset: str, *, config: str | None, split: str, data_files: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Rows of one split of a dataset via :func:`datasets.load_dataset`; clear errors when it cannot be had."""
    try:
        import datasets
    except ImportError as err:
        raise InputError("`assess battery hf` needs the optional extra: pip install 'assess[hf]' (the datasets "
                         "library)") from err
    kwargs: dict[str, Any] = {"split": split}
    if data_files:  # local files all form the requested split
        kwargs["data_files"] = {split: list(data_files)}
    try:
        loaded = datasets.load_dataset(dataset, config, **kwargs)
    except (ConnectionError, OSError, datasets.exceptions.DatasetNotFoundError) as err:
        raise InputError(f"cannot load dataset {dataset!r}{f' ({config})' if config else ''}, split {split!r}: "
                         f"{_first_line(err)}. Without access to the Hugging Face hub, download the files elsewhere "
                         "and pass a local folder as DATASET_ID, or the files with --data-files") from err
    except ValueError as err:  # unknown split or config
        raise InputError(f"dataset {dataset!r}{f' ({config})' if config else ''}: {_first_line(err)}") from err
    return [dict(row) for row in loaded]


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


def build_battery(name: str, *, split: str | None = None, configs: Sequence[str] = (),
                  data_files: Sequence[str] = (), mapping: ColumnMapping | None = None,
                  limit: int | None = None) -> pd.DataFrame:
    """A validated battery from a registered benchmark ``name`` or any dataset id / local folder.

    ``mapping`` (columns or template) is required for an unregistered dataset and overrides a
    registered one's conversion; ``split`` and ``configs`` override the registered defaults;
    ``data_files`` loads local files with the dataset's builder (``parquet``, ``json``, ``csv``)
    or, for a registered name, with the builder their suffix names; ``limit`` keeps the first
    rows of each split/config.
    """
    spec = REGISTRY.get(name)
    if spec is None and mapping is None:
        raise InputError(f"{name!r} is not a registered benchmark ({', '.join(REGISTRY)}); for another dataset give "
                         "--prompt-column or --template (and --target-column, --id-column)", column="NAME")
    dataset = spec.dataset if spec else name
    if data_files and spec is not None:
        dataset = _builder_for(data_files)
    convert = mapping.convert if mapping else spec.convert  # type: ignore[union-attr]
    parts = _parts(spec, split, configs)
    if data_files and len(parts) > 1:
        raise InputError(f"--data-files hold one part of {name!r}; name it with --config (one of "
                         f"{', '.join(str(c or s) for c, s in parts)})", column="--config")
    rows: list[dict[str, str]] = []
    for config, part_split in parts:
        loaded = load_rows(dataset, config=None if data_files and spec else config, split=part_split,
                           data_files=data_files)
        for index, row in enumerate(loaded[:limit] if limit else loaded):
            rows.append(convert(row, index, config or (part_split if spec and spec.splits else "")))
    if not rows:
        raise InputError(f"dataset {dataset!r} gave no rows")
    return validate_battery(pd.DataFrame(rows), f"hf:{name}")


def _parts(spec: Benchmark | None, split: str | None, configs: Sequence[str]) -> list[tuple[str | None, str]]:
    """(config, split) pairs to load."""
    if spec is None:
        return [(c, split or "train") for c in (configs or (None,))]
    if spec.splits and not split:
        return [(None, s) for s in spec.splits]
    return [(c, split or spec.split) for c in (configs or spec.configs)]


def _builder_for(files: Sequence[str]) -> str:
    suffixes = {str(f).rsplit(".", 1)[-1].lower() for f in files}
    builders = {"parquet": "parquet", "json": "json", "jsonl": "json", "csv": "csv"}
    if len(suffixes) != 1 or next(iter(suffixes)) not in builders:
        raise InputError(f"--data-files must all be .parquet, .json/.jsonl or .csv (got {', '.join(sorted(suffixes))})",
                         column="--data-files")
    return builders[next(iter(suffixes))]
