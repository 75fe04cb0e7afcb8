"""Instance-level assessors: predict whether a subject succeeds on an instance it was never run on.

Estimators follow scikit-learn's contract and read what they need from a table of instance rows:
:class:`DemandAssessor` (demand levels), :class:`EmbeddingAssessor` (MiniLM text embeddings),
:class:`CombinedAssessor` (both), :class:`TextFinetuneAssessor` (a fine-tuned transformer) and
:class:`MultiSubjectAssessor` (demands + the subject's ability profile; :class:`MultiSubjectCombinedAssessor`
stacks it with text embeddings) and :class:`IRTAssessor` (the joint demand-IRT model over subjects,
scales and items). :func:`evaluate` runs
in-distribution and out-of-distribution protocols; :func:`save`/:func:`load` persist without pickle.
"""
from .assessors import CombinedAssessor, DemandAssessor, EmbeddingAssessor
from .evaluate import PROTOCOLS, Evaluation, evaluate
from .factory import ASSESSORS, ability_profiles, make_assessor
from .finetune import TextFinetuneAssessor
from .irt import IRTAssessor
from .multisubject import MultiSubjectAssessor, profiles_from_table
from .multisubject_combined import MultiSubjectCombinedAssessor
from .persistence import load, save

__all__ = [
    "ASSESSORS", "PROTOCOLS", "CombinedAssessor", "DemandAssessor", "EmbeddingAssessor", "Evaluation",
    "IRTAssessor", "MultiSubjectAssessor", "MultiSubjectCombinedAssessor", "TextFinetuneAssessor", "ability_profiles",
    "evaluate", "load", "make_assessor", "profiles_from_table", "save",
]
