"""Instance-level assessors: predict whether a subject succeeds on an instance it was never run on.

Estimators follow scikit-learn's contract and read what they need from a table of instance rows:
:class:`DemandAssessor` (demand levels), :class:`EmbeddingAssessor` (MiniLM text embeddings),
:class:`CombinedAssessor` (both), :class:`TextFinetuneAssessor` (a fine-tuned transformer) and
:class:`MultiSubjectAssessor` (demands + the subject's ability profile; :class:`MultiSubjectCombinedAssessor`
stacks it with text embeddings) and :class:`IRTAssessor` (the joint demand-IRT model over subjects,
scales and items). :func:`evaluate` runs
in-distribution and out-of-distribution protocols; :func:`save`/:func:`load` persist without pickle.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → the submodule defining it. Imported on first use, so ``import predictors.distill``
#: (the distilled annotator) does not load torch through the fine-tuned and IRT assessors.
_EXPORTS = {
    "CombinedAssessor": "assessors", "DemandAssessor": "assessors", "EmbeddingAssessor": "assessors",
    "PROTOCOLS": "protocols", "Evaluation": "protocols", "evaluate": "protocols",
    "ASSESSORS": "factory", "ability_profiles": "factory", "make_assessor": "factory",
    "TextFinetuneAssessor": "finetune", "IRTAssessor": "irt",
    "MultiSubjectAssessor": "multisubject", "profiles_from_table": "multisubject",
    "MultiSubjectCombinedAssessor": "multisubject_combined", "load": "persistence", "save": "persistence",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .assessors import CombinedAssessor, DemandAssessor, EmbeddingAssessor
    from .factory import ASSESSORS, ability_profiles, make_assessor
    from .finetune import TextFinetuneAssessor
    from .irt import IRTAssessor
    from .multisubject import MultiSubjectAssessor, profiles_from_table
    from .multisubject_combined import MultiSubjectCombinedAssessor
    from .persistence import load, save
    from .protocols import PROTOCOLS, Evaluation, evaluate


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'predictors' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
