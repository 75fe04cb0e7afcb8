"""Read Inspect AI eval logs in JSON (``inspect eval ... --log-format json``) as log records.

A log holds ``eval`` (task, model, ...), ``status`` and ``samples``; each sample has ``id``,
``epoch``, ``input`` (a string or chat messages), ``target``, ``output`` (``choices[0].message``
with string or content-part ``content``) and ``scores`` — one entry per scorer whose ``value`` is
"C" (correct), "I" (incorrect), "N" (no answer), "P" (partial credit, 0.5, as Inspect's own
``value_to_float``), a number in [0, 1] or a boolean; anything else is refused with its sample named.

A log run with several epochs holds one sample per (id, epoch). By default every epoch is kept:
one record per id with ``successes`` (the sum of its scores) and ``trials`` (its epochs), so
k of n attempts reach the abilities as binomial counts; ``epoch=N`` reads one epoch alone.
Known task layouts (MMLU-Pro, BBH and our own ``assess/battery``) give the battery id directly
(:mod:`.layouts`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from .layouts import inspect_battery_id
from .matching import RECORD_COLUMNS, record_id, scalar_fields

#: Inspect's letter values, as its ``value_to_float`` reads them.
LETTER_VALUES: dict[str, float] = {"C": 1.0, "I": 0.0, "N": 0.0, "P": 0.5}


def read_inspect_log(path: str | Path, *, subject: str | None = None, scorer: str | None = None,
                     epoch: int | None = None, id_field: str | None = None) -> pd.DataFrame:
    """Records (see :mod:`.matching`) of a JSON eval log, all epochs (default) or one; ``subject`` defaults to
    ``eval.model``.

    ``id_field`` takes the id from ``metadata[id_field]`` of each sample instead of its ``id``.
    """
    path = Path(path)
    log = _load(path)
    header = log.get("eval") or {}
    task = str(header.get("task") or "")
    subject = subject or str(header.get("model") or "")
    if not subject:
        raise InputError("the log names no eval.model; give the subject explicitly", source=path)
    samples = log.get("samples")
    if not isinstance(samples, list) or not samples:
        raise InputError(f"the log has no samples (status {log.get('status')!r}); was it written with "
                         "--no-log-samples?", source=path)
    records: dict[str, dict[str, Any]] = {}
    for number, sample in enumerate(samples, start=1):
        if epoch is not None and int(sample.get("epoch", 1)) != epoch:
            continue
        where = f"sample {number} (id {sample.get('id')!r})"
        metadata = sample.get("metadata") if isinstance(sample.get("metadata"), dict) else {}
        if id_field is not None and id_field not in metadata:
            raise InputError(f"{where}: metadata has no field {id_field!r} (fields: {', '.join(metadata) or 'none'})",
                             source=path)
        score = _correct(sample.get("scores"), scorer, path, where)
        key = record_id(metadata[id_field] if id_field else sample.get("id"))
        if key in records:  # another epoch of the same sample
            records[key]["successes"] += score
            records[key]["trials"] += 1
            continue
        records[key] = {"source": str(path), "row": number, "subject": subject, "task": task, "record_id": key,
                        "layout_id": "" if id_field else inspect_battery_id(task, sample.get("id"), metadata),
                        "text": input_text(sample.get("input")), "raw_output": output_text(sample.get("output")),
                        "fields": {"id": sample.get("id"), **scalar_fields(metadata)},
                        "successes": score, "trials": 1}
    if not records:
        raise InputError(f"no sample of epoch {epoch}", source=path)
    table = pd.DataFrame(list(records.values())).reindex(columns=RECORD_COLUMNS)
    table["correct"] = table["successes"] / table["trials"]
    if (table["trials"] == 1).all():
        table[["successes", "trials"]] = float("nan")  # one attempt each: plain outcomes
    return table


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError("file not found", source=path)
    if path.suffix == ".eval":
        raise InputError("binary .eval logs are zip archives; convert with `inspect log convert --to json`",
                         source=path)
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"malformed JSON at line {err.lineno} ({err.msg})", source=path) from err
    if not isinstance(log, dict) or "eval" not in log:
        raise InputError("not an Inspect eval log (no top-level 'eval')", source=path)
    return log


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a content list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content
                         if isinstance(part, dict) and part.get("type") == "text")
    return ""


def input_text(value: Any) -> str:
    """The sample's input: the string itself, or the user messages' text joined."""
    if isinstance(value, list):
        return "\n".join(_text(m.get("content")) for m in value if isinstance(m, dict) and m.get("role") == "user")
    return _text(value)


def output_text(output: Any) -> str:
    """The model's final answer: ``output.completion`` when logged, else the first choice's message."""
    if not isinstance(output, dict):
        return ""
    if isinstance(output.get("completion"), str) and output["completion"]:
        return output["completion"]
    choices = output.get("choices") or []
    return _text(choices[0].get("message", {}).get("content")) if choices else ""


def _correct(scores: Any, scorer: str | None, path: Path, where: str) -> float:
    if not isinstance(scores, dict) or not scores:
        raise InputError(f"{where} has no scores", source=path)
    if scorer is None:
        if len(scores) > 1:
            raise InputError(f"{where} has several scorers ({', '.join(scores)}); choose one with --scorer",
                             source=path)
        scorer = next(iter(scores))
    if scorer not in scores:
        raise InputError(f"{where} has no scorer {scorer!r} (has: {', '.join(scores)})", source=path)
    value = scores[scorer].get("value") if isinstance(scores[scorer], dict) else None
    if isinstance(value, str) and value in LETTER_VALUES:
        return LETTER_VALUES[value]
    if isinstance(value, bool) or (isinstance(value, (int, float)) and 0 <= value <= 1):
        return float(value)
    raise InputError(f"{where}: score {scorer!r} is {value!r}, which is not a score "
                     "(C, I, N, P, true, false or a number in [0, 1])", source=path)
