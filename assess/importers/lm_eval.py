"""Read lm-evaluation-harness ``--log_samples`` files (``samples_<task>_<date>.jsonl``) as log records.

Each line is one document: ``doc_id``, ``doc`` (the dataset row), ``target``, ``arguments`` (the
requests: a list of ``[context, continuation]`` pairs in older versions, ``{"gen_args_0":
{"arg_0": context, "arg_1": ...}}`` in newer ones), ``resps`` / ``filtered_resps`` (the model's
answers), ``filter`` (when a task has several filters, one line per filter) and one field per
metric (``acc``, ``acc_norm``, ``exact_match``, ...) holding that document's score: 0/1, or a score in
[0, 1]. A task run with ``repeats`` keeps several responses per document; when ``filtered_resps``
holds n > 1 of them and the score is a multiple of 1/n (the mean over the attempts, as ``pass@1``
over n samples), the record keeps the attempts as ``successes`` = score × n of ``trials`` = n.
The task is named only by the file name; known task layouts (MMLU-Pro, BBH) give the battery id
directly (:mod:`.layouts`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..sources import iter_jsonl
from .layouts import lm_eval_battery_id, lm_eval_task
from .matching import RECORD_COLUMNS, record_id, scalar_fields

#: Metrics tried, in order, when none is named: the usual per-document 0/1 scores.
DEFAULT_METRICS: tuple[str, ...] = ("acc", "exact_match", "em", "acc_norm", "pass@1")


def read_lm_eval_samples(path: str | Path, subject: str, *, metric: str | None = None,
                         filter_name: str | None = None, id_field: str | None = None,
                         text_field: str | None = None) -> pd.DataFrame:
    """Records (see :mod:`.matching`) from one samples JSONL file.

    ``metric`` names the 0/1 field that says correct (default: the first of :data:`DEFAULT_METRICS`
    present); ``filter_name`` picks one filter when lines carry several; ``id_field`` takes the id
    from ``doc[id_field]`` instead of ``doc_id``; ``text_field`` takes the prompt text from
    ``doc[text_field]`` instead of the first request's context. Without ``id_field``, a known task
    layout (see :mod:`.layouts`) fills ``layout_id`` with the battery id.
    """
    path = Path(path)
    task = lm_eval_task(path)
    lines = _read_lines(path)
    filters = sorted({str(line.get("filter", "none")) for _, line in lines})
    if filter_name is None and len(filters) > 1:
        raise InputError(f"lines carry several filters ({', '.join(filters)}); choose one with --filter", source=path)
    metric = metric or _default_metric(lines, path)
    records = []
    for line_no, line in lines:
        if filter_name is not None and str(line.get("filter", "none")) != filter_name:
            continue
        doc = line.get("doc") or {}
        score = _score(_required(line, metric, path, line_no), metric, path, line_no)
        doc_id = _required(line, "doc_id", path, line_no) if not id_field else line.get("doc_id")
        records.append({**_attempts(score, line.get("filtered_resps")),
            "source": str(path), "row": line_no, "subject": subject, "task": task,
            "record_id": record_id(_field(doc, id_field, path, line_no) if id_field else doc_id),
            "layout_id": "" if id_field else lm_eval_battery_id(task, doc_id, doc),
            "text": _field(doc, text_field, path, line_no) if text_field else first_context(line.get("arguments")),
            "correct": score,
            "raw_output": _response_text(line.get("filtered_resps")),
            "fields": {"doc_id": doc_id, **scalar_fields(doc)},
        })
    if not records:
        raise InputError(f"no line has filter {filter_name!r}; present: {', '.join(filters)}", source=path)
    return pd.DataFrame(records, columns=RECORD_COLUMNS)


def _read_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(file line number, sample) pairs of a JSONL log."""
    lines = []
    for line_no, record in iter_jsonl(path):
        if not isinstance(record, dict):
            raise InputError(f"line {line_no}: expected a JSON object", source=path)
        lines.append((line_no, record))
    if not lines:
        raise InputError("no samples in the file", source=path)
    return lines


def _default_metric(lines: list[tuple[int, dict[str, Any]]], path: Path) -> str:
    first = lines[0][1]
    for name in DEFAULT_METRICS:
        if name in first:
            return name
    declared = first.get("metrics") or []
    raise InputError(f"none of the metrics {', '.join(DEFAULT_METRICS)} on row {lines[0][0]}"
                     f"{' (declared: ' + ', '.join(map(str, declared)) + ')' if declared else ''}; "
                     "name one with --metric", source=path)


def _required(line: dict[str, Any], key: str, path: Path, line_no: int) -> Any:
    if key not in line:
        raise InputError(f"missing field {key!r}", source=path, row=line_no)
    return line[key]


def _field(doc: dict[str, Any], key: str, path: Path, line_no: int) -> Any:
    if key not in doc:
        raise InputError(f"doc has no field {key!r} (fields: {', '.join(doc)})", source=path, row=line_no)
    return doc[key]


def _score(value: Any, metric: str, path: Path, line_no: int) -> float:
    if isinstance(value, bool) or (isinstance(value, (int, float)) and 0 <= value <= 1):
        return float(value)
    raise InputError(f"metric {metric!r} is {value!r}, not 0/1 or a score in [0, 1]", source=path, row=line_no)


def _attempts(score: float, filtered: Any) -> dict[str, float]:
    """``successes``/``trials`` of a document answered n > 1 times whose score is a count over n; else nothing."""
    responses = filtered
    while isinstance(responses, list) and len(responses) == 1 and isinstance(responses[0], list):
        responses = responses[0]
    if not isinstance(responses, list) or len(responses) < 2 or not all(isinstance(r, str) for r in responses):
        return {}
    successes = score * len(responses)
    if abs(successes - round(successes)) > 1e-6:
        return {}
    return {"successes": float(round(successes)), "trials": float(len(responses))}


def first_context(arguments: Any) -> str:
    """The context of the first request, in either layout of ``arguments`` ("" when absent)."""
    if isinstance(arguments, dict) and arguments:
        first = next(iter(arguments.values()))
        return str(first.get("arg_0", "")) if isinstance(first, dict) else ""
    if isinstance(arguments, list) and arguments:
        first = arguments[0]
        return str(first[0]) if isinstance(first, list) and first else str(first)
    return ""


def _response_text(filtered: Any) -> str:
    """The filtered response as text: the generated string, or the list of log-likelihood results as JSON."""
    while isinstance(filtered, list) and len(filtered) == 1:
        filtered = filtered[0]
    return filtered if isinstance(filtered, str) else json.dumps(filtered)
