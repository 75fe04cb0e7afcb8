"""Write stored answers back into the battery, with provenance, and list the failures for audit."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .prompts import AnnotationRequest, protocol_label
from .store import StoredAnswer


def fill_battery(battery: pd.DataFrame, requests: Sequence[AnnotationRequest], answers: Mapping[str, StoredAnswer],
                 *, annotator: str, mode: str, rubric_hash: str, scales: Sequence[str]) -> pd.DataFrame:
    """The battery with the requested scale columns replaced by the stored levels (NaN where none).

    Every row gets the provenance of this annotation: annotator name, protocol (mode/prompt version)
    and the hash of the rubrics used.
    """
    out = battery.copy()
    out.loc[:, list(scales)] = np.nan
    row_of = {instance_id: i for i, instance_id in enumerate(out["instance_id"])}
    for request in requests:
        answer = answers.get(request.key)
        if answer is None or answer.status != "ok" or answer.levels is None:
            continue
        for code in request.scales:
            out.iat[row_of[request.instance_id], out.columns.get_loc(code)] = float(answer.levels[code])
    out["annotator"] = annotator
    out["annotation_protocol"] = protocol_label(mode)
    out["rubric_hash"] = rubric_hash
    return out


def failures_table(requests: Sequence[AnnotationRequest], answers: Mapping[str, StoredAnswer]) -> pd.DataFrame:
    """One row per failed request: instance, scales, why, attempts and the last raw answer."""
    rows = [{"instance_id": r.instance_id, "scales": ",".join(r.scales), "error": a.error, "attempts": a.attempts,
             "raw_text": a.raw_text, "key": r.key}
            for r in requests if (a := answers.get(r.key)) is not None and a.status == "failed"]
    return pd.DataFrame(rows, columns=["instance_id", "scales", "error", "attempts", "raw_text", "key"])
