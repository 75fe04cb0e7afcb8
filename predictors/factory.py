"""Build an assessor by name (for the CLI, the study and benchmarks) and estimate ability profiles.

Assessors are found in :data:`assess.registry.ASSESSORS`; another package adds one through the
``assess.assessors`` entry point: a factory taking an :class:`AssessorOptions`.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from assess.errors import InputError
from assess.registry import ASSESSORS as REGISTRY
from assess.scaleset import ScaleSet, default_scale_set

from .assessors import CombinedAssessor, DemandAssessor, EmbeddingAssessor
from .finetune import DEFAULT_BASE, TextFinetuneAssessor
from .irt import IRTAssessor
from .multisubject import MultiSubjectAssessor, Profiles, profiles_from_table
from .multisubject_combined import MultiSubjectCombinedAssessor

@dataclass(frozen=True)
class AssessorOptions:
    """What the CLI and studies may choose for any assessor; each factory takes the ones it uses."""

    classifier: str | None = None
    embedding_model: str | None = None
    base_model: str | None = None
    cache_dir: str | None = None
    random_state: int = 0
    epochs: int = 3
    max_steps: int | None = None
    features: tuple[str, ...] | None = None
    #: The active scale set (the irt assessor fits its level scales, with its unguessability floor).
    scale_set: ScaleSet | None = None

    def chosen(self, *, classifier: bool = True, embedding: bool = False, demands: bool = False) -> dict:
        """Keyword arguments for the options that were given (absent ones keep the assessor's defaults)."""
        out: dict = {"random_state": self.random_state}
        if classifier and self.classifier:
            out["classifier"] = self.classifier
        if embedding:
            out.update(cache_dir=self.cache_dir, **({"model": self.embedding_model} if self.embedding_model else {}))
        if demands and self.features:
            out["features"] = tuple(self.features)
        return out


REGISTRY.register("demand", lambda o: DemandAssessor(**o.chosen(demands=True)))
REGISTRY.register("embedding", lambda o: EmbeddingAssessor(**o.chosen(embedding=True)))
REGISTRY.register("combined", lambda o: CombinedAssessor(**o.chosen(embedding=True, demands=True)))
REGISTRY.register("multisubject", lambda o: MultiSubjectAssessor(**o.chosen(demands=True)))
REGISTRY.register("multisubject-combined",
                  lambda o: MultiSubjectCombinedAssessor(**o.chosen(embedding=True, demands=True)))


@REGISTRY.register("finetune")
def _finetune(options: AssessorOptions) -> TextFinetuneAssessor:
    if options.classifier:
        raise InputError("the finetune assessor has no --classifier option (it is its own classifier)")
    return TextFinetuneAssessor(options.base_model or DEFAULT_BASE, epochs=options.epochs, max_steps=options.max_steps,
                                random_state=options.random_state)


@REGISTRY.register("irt")
def _irt(options: AssessorOptions) -> IRTAssessor:
    if options.classifier:
        raise InputError("the irt assessor has no --classifier option (it is its own model)")
    if options.scale_set is None:
        return IRTAssessor()
    return IRTAssessor(scales=list(options.scale_set.level_codes), ug_column=options.scale_set.unguessability)


#: Names of the built-in assessors (plugins add theirs to :data:`assess.registry.ASSESSORS`).
ASSESSORS: tuple[str, ...] = ("demand", "embedding", "combined", "finetune", "multisubject", "multisubject-combined",
                              "irt")


def make_assessor(kind: str, **options) -> object:
    """A fresh assessor of ``kind`` from the registry, given :class:`AssessorOptions` fields as keywords.

    ``classifier`` None keeps each kind's default (``base_model`` None: the packaged MiniLM);
    ``features`` are the demand columns (the active scale set's codes; default: the bundled set's).
    """
    return REGISTRY.get(kind, key="--assessor")(AssessorOptions(**options))


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
