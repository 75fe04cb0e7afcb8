"""Write stored answers back into the battery, with provenance, and list the failures for audit."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .prompts import PROMPT_VERSION, AnnotationRequest, protocol_label
from .store import StoredAnswer


def usable_answers(requests: Sequence[AnnotationRequest],
                   answers: Mapping[str, StoredAnswer]) -> list[tuple[AnnotationRequest, StoredAnswer]]:
    """The requests whose stored answer gives levels, with that answer."""
    return [(r, a) for r in requests
            if (a := answers.get(r.key)) is not None and a.status == "ok" and a.levels is not None]


def fill_battery(battery: pd.DataFrame, requests: Sequence[AnnotationRequest], answers: Mapping[str, StoredAnswer],
                 *, annotator: str, mode: str, rubric_hash: str, scale_set_hash: str,
                 version: str = PROMPT_VERSION) -> pd.DataFrame:
    """The battery with the stored levels written in; everything this job did not answer is left as it was.

    A row with at least one usable answer gets those levels and the provenance of this annotation
    (annotator name, protocol = mode/prompt version, hash of the rubrics used, hash of the whole scale set).
    Rows without one, and
    scales no answer gave, keep their earlier levels and provenance, so a partial import never erases
    earlier annotations (and never puts a default level where there was none).
    """
    out = battery.copy()
    row_of = {instance_id: i for i, instance_id in enumerate(out["instance_id"])}
    answered = np.zeros(len(out), dtype=bool)
    filled: dict[str, tuple[list[int], list[float]]] = {}
    for request, answer in usable_answers(requests, answers):
        row = row_of[request.instance_id]
        answered[row] = True
        for code in request.scales:
            rows, values = filled.setdefault(code, ([], []))
            rows.append(row)
            values.append(float(answer.levels[code]))
    for code, (rows, values) in filled.items():
        column = out[code].to_numpy(dtype=float, copy=True)
        column[rows] = values
        out[code] = column
    provenance = {"annotator": annotator, "annotation_protocol": protocol_label(mode, version),
                  "rubric_hash": rubric_hash, "scale_set_hash": scale_set_hash}
    for column, value in provenance.items():
        out.loc[answered, column] = value
    return out


def failures_table(requests: Sequence[AnnotationRequest], answers: Mapping[str, StoredAnswer]) -> pd.DataFrame:
    """One row per failed request: instance, scales, why, attempts and the last raw answer."""
    rows = [{"instance_id": r.instance_id, "scales": ",".join(r.scales), "error": a.error, "attempts": a.attempts,
             "raw_text": a.raw_text, "key": r.key}
            for r in requests if (a := answers.get(r.key)) is not None and a.status == "failed"]
    return pd.DataFrame(rows, columns=["instance_id", "scales", "error", "attempts", "raw_text", "key"])
