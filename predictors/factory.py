"""Build an assessor by name (for the CLI, the study and benchmarks) and estimate ability profiles."""
from __future__ import annotations

import pandas as pd

from assess.errors import InputError
from assess.scaleset import ScaleSet, default_scale_set

from .assessors import CombinedAssessor, DemandAssessor, EmbeddingAssessor
from .finetune import TextFinetuneAssessor
from .multisubject import MultiSubjectAssessor, Profiles, profiles_from_table

ASSESSORS: tuple[str, ...] = ("demand", "embedding", "combined", "finetune", "multisubject")


def make_assessor(kind: str, *, classifier: str | None = None, embedding_model: str | None = None,
                  base_model: str | None = None, cache_dir: str | None = None, random_state: int = 0,
                  epochs: int = 3, features: tuple[str, ...] | None = None):
    """A fresh assessor of ``kind``; ``classifier`` None keeps each kind's default.

    ``features``: the demand columns (the active scale set's codes; default: the bundled set's).
    """
    chosen = {"classifier": classifier} if classifier else {}
    embedding = {"model": embedding_model} if embedding_model else {}
    demands = {"features": tuple(features)} if features else {}
    if kind == "demand":
        return DemandAssessor(**chosen, **demands, random_state=random_state)
    if kind == "embedding":
        return EmbeddingAssessor(**chosen, **embedding, cache_dir=cache_dir, random_state=random_state)
    if kind == "combined":
        return CombinedAssessor(**chosen, **demands, **embedding, cache_dir=cache_dir, random_state=random_state)
    if kind == "multisubject":
        return MultiSubjectAssessor(**chosen, **demands, random_state=random_state)
    if kind == "finetune":
        if classifier:
            raise InputError("the finetune assessor has no --classifier option (it is its own classifier)")
        return TextFinetuneAssessor(base_model, epochs=epochs, random_state=random_state)
    raise InputError(f"unknown assessor {kind!r}; choose one of {', '.join(ASSESSORS)}")


def ability_profiles(battery: pd.DataFrame, outcomes: pd.DataFrame, common_only: bool = True,
                     scales: ScaleSet | None = None) -> Profiles:
    """Every subject's ability per level scale of ``scales`` (default: bundled), as a wide mapping.

    ``common_only`` keeps the scales on which every subject got an ability, so that a multi-subject
    assessor trained on some subjects can always read the profiles of the others.
    """
    from assess.abilities import ability_table

    scales = scales or default_scale_set()
    table = ability_table(battery, outcomes, scales=scales.level_codes, dominance_scales=scales.level_codes,
                          ug_column=scales.unguessability)
    profiles = profiles_from_table(table)
    if not common_only or not profiles:
        return profiles
    common = set.intersection(*(set(p) for p in profiles.values()))
    return {subject: {k: v for k, v in p.items() if k in common} for subject, p in profiles.items()}
