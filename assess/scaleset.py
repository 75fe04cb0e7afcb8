"""The active scale set: which scales a battery is annotated on, built from rubric folders.

A :class:`ScaleSet` is the bundled rubrics (``rubrics/``) plus any number of user folders of
rubric files. A user rubric with a new code adds a scale (``XYz.yaml`` adds ``XYz``); one with a
bundled code replaces the bundled rubric only when it says so (``replaces: true``), and the
replacement is listed in :attr:`ScaleSet.replaced` so the CLI states it. Any other clash, a code
given twice among the user folders or a bundled code given again without ``replaces``, is an
error naming both files: nothing is resolved silently. A file identical in content to the rubric
it meets is no clash.

Every stage reads the scales from the active set: battery validation (columns and ranges by
``kind``), annotation, the dominance filter (all level scales), assessors, agreement, calibration,
plots and the report. Its :attr:`ScaleSet.hash` goes with every annotation made under it.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator

from .errors import InputError
from .rubrics import Kind, KindRange, Rubric, load_rubrics, rubric_set_hash

#: Value of a ``rubrics:`` config key or ``--rubrics`` option: one folder or several.
Folders = Sequence[str | Path]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


#: The ``rubrics:`` key of model.yaml, annotator and run configs: a folder or a list of folders.
RubricsKey = Annotated[list[str], BeforeValidator(_as_list)]


def resolve_folders(folders: Sequence[str], base: Path) -> list[str]:
    """Rubric folders of a config, relative ones taken from the config file's folder ``base``."""
    return [str((base / folder).resolve()) for folder in folders]


@dataclass(frozen=True)
class Scale(KindRange):
    """One scale of the active set: its code (a battery column), name, family and kind."""

    code: str
    name: str
    family: str
    kind: Kind
    source: str = ""

    def problem(self, value: float) -> str | None:
        """Why ``value`` is not a valid annotation on this scale, or None when it is."""
        if not self.minimum <= value <= self.maximum:
            what = "percentage" if self.kind == "percentage" else "level"
            return f"{what} {value:g} outside {self.minimum:g}-{self.maximum:g}"
        return None


@dataclass(frozen=True)
class ScaleSet(Mapping[str, Scale]):
    """Scales by code, in order: bundled codes in canonical order, then added ones by folder and file name."""

    rubrics: Mapping[str, Rubric]
    #: (code, replaced rubric's source, replacing rubric's source) for each stated replacement.
    replaced: tuple[tuple[str, str, str], ...] = ()
    folders: tuple[str, ...] = ()
    _scales: dict[str, Scale] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scales = {code: Scale(r.code, r.name, r.family, r.kind, r.source) for code, r in self.rubrics.items()}
        object.__setattr__(self, "_scales", scales)

    def __getitem__(self, code: str) -> Scale:
        return self._scales[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scales)

    def __len__(self) -> int:
        return len(self._scales)

    def __hash__(self) -> int:
        return hash(self.hash)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._scales)

    @property
    def level_codes(self) -> tuple[str, ...]:
        """The level scales (0-5): the ones abilities are fitted on and the dominance filter compares."""
        return tuple(c for c, s in self._scales.items() if s.kind == "level")

    @property
    def percentage_codes(self) -> tuple[str, ...]:
        return tuple(c for c, s in self._scales.items() if s.kind == "percentage")

    @property
    def unguessability(self) -> str | None:
        """The percentage scale of family ``unguessability`` (UG in the bundled set), the abilities' UG filter."""
        return next((c for c in self.percentage_codes if self[c].family == "unguessability"), None)

    @property
    def names(self) -> dict[str, str]:
        return {code: scale.name for code, scale in self._scales.items()}

    @cached_property
    def hash(self) -> str:
        """SHA-256 over every scale's code and rubric content hash, in order."""
        return rubric_set_hash(self.rubrics)

    def check(self, codes: Sequence[str], *, key: str, kind: Kind | None = None) -> tuple[str, ...]:
        """User-given codes (case-sensitive, each once) of this set, optionally of one kind; else InputError at ``key``."""
        allowed = self.codes if kind is None else tuple(c for c in self.codes if self[c].kind == kind)
        if not len(codes):
            raise InputError(f"no scale code given; known: {', '.join(allowed)}", column=key)
        unknown = [c for c in codes if c not in allowed]
        if unknown:
            what = f"{kind} scale" if kind else "scale"
            raise InputError(f"unknown {what} code(s) {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}"
                             + self._folder_note(), column=key)
        repeated = sorted({c for c in codes if list(codes).count(c) > 1})
        if repeated:
            raise InputError(f"scale(s) listed more than once: {', '.join(repeated)}", column=key)
        return tuple(codes)

    def statements(self) -> list[str]:
        """One line per replaced bundled rubric, for the CLI to print."""
        return [f"rubric {code} from {new} replaces {old}" for code, old, new in self.replaced]

    def _folder_note(self) -> str:
        return f" (rubric folders: {', '.join(self.folders)})" if self.folders else " (bundled rubrics only)"


def load_scale_set(folders: Folders = (), *, bundled: bool = True) -> ScaleSet:
    """The bundled rubrics (unless ``bundled=False``) with each user folder's rubrics added, clashes checked."""
    folders = tuple(str(Path(f)) for f in folders)
    return default_scale_set() if bundled and not folders else _load(folders, bundled)


def _load(folders: tuple[str, ...], bundled: bool) -> ScaleSet:
    if not bundled and not folders:
        raise InputError("no rubrics: give at least one rubric folder")
    base = load_rubrics() if bundled else {}
    rubrics: dict[str, Rubric] = dict(base)
    replaced: list[tuple[str, str, str]] = []
    from_user: dict[str, Rubric] = {}
    from .battery import PROVENANCE_COLUMNS, TEXT_COLUMNS  # a code is a battery column: these names are taken

    for folder in folders:
        for code, rubric in load_rubrics(folder).items():
            if code in TEXT_COLUMNS + PROVENANCE_COLUMNS:
                raise InputError(f"rubric code {code!r} is a battery column name; give the scale another code",
                                 source=rubric.source)
            if code in from_user:
                raise InputError(f"rubric {code} is given twice (first: {from_user[code].source})", source=rubric.source)
            from_user[code] = rubric
            old = base.get(code)
            if old is not None and old.content_hash != rubric.content_hash:
                if not rubric.replaces:
                    raise InputError(f"rubric {code} clashes with the bundled one ({old.source}); add "
                                     "'replaces: true' to replace it, or give the new scale another code",
                                     source=rubric.source)
                replaced.append((code, old.source, rubric.source))
            rubrics[code] = rubric
    return ScaleSet(rubrics, tuple(replaced), folders)


@lru_cache(maxsize=1)
def default_scale_set() -> ScaleSet:
    """The bundled scales: the 18 demand scales (levels 0-5) and UG (a percentage); read once."""
    return _load((), True)


def rubric_folders(*groups: Folders | None) -> tuple[str, ...]:
    """Folders from several places (config keys, ``--rubrics`` options), each once, in order."""
    return tuple(dict.fromkeys(str(f) for group in groups if group for f in group))
