"""Rubrics: what each general scale measures and how to tell its levels apart, as annotators read them.

Our rubrics are YAML files, one per scale (``rubrics/<CODE>.yaml`` in the package), each with a
code, name, family, version, what the scale measures and what it does not, and six levels
(0-5) with a label, a criterion and examples. A directory may also hold rubrics in the
published DeLeAn ``.txt`` layout (``# Title``, description, ``Level N: Label. text``,
``Examples:`` bullets), so users can bring their own copy.

A rubric says its ``kind``: ``level`` (annotated 0-5, the default) or ``percentage`` (annotated
0-100, as unguessability, UG). A percentage rubric keeps the same six-level shape for the
annotator, but each level also carries a ``band`` ``[low, high)`` of percentages; the bands tile
0-100 (the last one includes 100). Older files say ``scale_max: 100`` instead of
``kind: percentage``; both are read. Codes are free (``XYz.yaml`` is a scale ``XYz``): which
rubrics make up the active set is decided by :mod:`assess.scaleset`.

Every text field is whitespace-normalised on load, so :attr:`Rubric.content_hash` does not change
when a YAML file is only re-wrapped or re-indented; the hash goes with every annotation made
from the rubric so results can be traced to the exact wording.
"""
from __future__ import annotations

import hashlib
from functools import cached_property
import importlib.resources
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .errors import InputError
from .files import read_text
from .scales import ANNOTATED
from .yamlio import MAX_BYTES, LocatedValueError, load_yaml, located_error, validate_located

Kind = Literal["level", "percentage"]
#: Annotated range of each kind of scale.
KIND_RANGES: dict[str, tuple[float, float]] = {"level": (0.0, 5.0), "percentage": (0.0, 100.0)}
LEVEL_MIN, LEVEL_MAX = 0, 5
#: Letters, then letters, digits or underscores: a code is also a battery column.
CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"
#: Family of a DeLeAn ``.txt`` rubric whose code is not a bundled one (the layout names no family).
OTHER_FAMILY = "other"
#: UG percentage band ``[low, high)`` per level of the bundled UG rubric (the last band includes 100);
#: another percentage scale's rubric gives its own bands. `assess demands` bins UG with these.
UG_BANDS: tuple[tuple[float, float], ...] = (
    (0.0, 25.0), (25.0, 50.0), (50.0, 70.0), (70.0, 85.0), (85.0, 97.0), (97.0, 100.0),
)
#: File suffixes recognised in a rubric directory.
YAML_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
TXT_SUFFIX = ".txt"


def _normalise(text: str) -> str:
    """Collapse runs of whitespace so re-wrapping a block scalar never changes the content."""
    return " ".join(text.split())


def _non_empty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


Text = Annotated[str, AfterValidator(_normalise)]
NonEmptyText = Annotated[Text, AfterValidator(_non_empty)]


class KindRange:
    """``minimum`` and ``maximum`` of the ``kind`` its subclass holds (``level`` 0–5, ``percentage`` 0–100)."""

    @property
    def minimum(self) -> float:
        return KIND_RANGES[self.kind][0]

    @property
    def maximum(self) -> float:
        return KIND_RANGES[self.kind][1]


class Level(BaseModel):
    """One level of a scale: its number, a short label, the criterion and example prompts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int
    label: NonEmptyText
    criterion: NonEmptyText
    examples: list[NonEmptyText] = Field(min_length=1)
    #: Percentage scales only: the ``[low, high)`` percentages this level stands for.
    band: tuple[float, float] | None = None


class Rubric(KindRange, BaseModel):
    """A validated rubric for one scale: a level scale (0-5) or a percentage scale (0-100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN)
    name: NonEmptyText
    family: NonEmptyText
    version: NonEmptyText
    #: ``level`` (0-5) or ``percentage`` (0-100); not hashed itself, ``scale_max`` carries it.
    kind: Kind = Field(default="level", exclude=True)
    measures: NonEmptyText
    #: What the scale does *not* measure, to keep neighbouring scales apart (empty when the source says nothing).
    excludes: Text
    levels: list[Level]
    #: Largest annotated value, set from ``kind`` (5 or 100); older files give it instead of ``kind``.
    scale_max: int = int(LEVEL_MAX)
    #: True when the rubric is meant to replace a bundled one of the same code (see :mod:`assess.scaleset`).
    replaces: bool = Field(default=False, exclude=True)
    #: Where the rubric was read from; not part of the content or its hash.
    source: str = Field(default="", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _kind_and_max(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        maxima = {int(high): kind for kind, (_, high) in KIND_RANGES.items()}
        if "kind" not in data and data.get("scale_max") in maxima:
            return {**data, "kind": maxima[data["scale_max"]]}
        kind = data.get("kind", "level")
        if kind in KIND_RANGES and "scale_max" not in data:
            return {**data, "scale_max": int(KIND_RANGES[kind][1])}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        if self.scale_max != int(self.maximum):
            raise LocatedValueError(("scale_max",), f"scale_max of a {self.kind} scale must be {self.maximum:g}")
        if len(self.levels) != LEVEL_MAX - LEVEL_MIN + 1:
            raise LocatedValueError(("levels",),
                                    f"expected levels {LEVEL_MIN}-{LEVEL_MAX}, got {len(self.levels)} levels")
        for index, level in enumerate(self.levels):
            if level.level != LEVEL_MIN + index:
                raise LocatedValueError(("levels", index, "level"),
                                        f"expected level {LEVEL_MIN + index} here, got {level.level}")
            self._check_band(index, level)
        return self

    def _check_band(self, index: int, level: Level) -> None:
        where = ("levels", index, "band")
        if self.kind == "level":
            if level.band is not None:
                raise LocatedValueError(where, "only a percentage scale (kind: percentage) has bands")
            return
        if level.band is None:
            raise LocatedValueError(where, f"level {index} of a percentage scale needs a band [low, high]")
        low, high = level.band
        start = self.levels[index - 1].band[1] if index else self.minimum  # type: ignore[index]
        if low != start or not low < high or (index == len(self.levels) - 1 and high != self.maximum):
            end = f" and end at {self.maximum:g}" if index == len(self.levels) - 1 else ""
            raise LocatedValueError(where, f"band of level {index} must start at {start:g}{end}, "
                                           f"above its start (got [{low:g}, {high:g}])")

    def level_of(self, value: float) -> int:
        """The rubric level (0-5) of an annotated value: a level rounded half up, a percentage by its band."""
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"{self.code} value {value:g} outside {self.minimum:g}-{self.maximum:g}")
        if self.kind == "level":
            return int(value + 0.5)
        return next(lv.level for lv in self.levels if value < lv.band[1] or lv.band[1] == self.maximum)  # type: ignore[index]

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 hex digest of the canonical JSON of the content (not of the file's formatting)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def prompt_text(self) -> str:
        """The rubric as plain text for an annotator prompt; the same rubric always gives the same text."""
        lines = [
            f"Scale {self.code}: {self.name} ({self.family}; rubric version {self.version})",
            f"What it measures: {self.measures}",
        ]
        if self.excludes:
            lines.append(f"What it does not measure: {self.excludes}")
        lines.append("Levels:")
        for level in self.levels:
            band = f", {self.code} {level.band[0]:g}-{level.band[1]:g}%" if level.band else ""
            lines.append(f"Level {level.level} ({level.label}{band}): {level.criterion}")
            lines.extend(f"  Example: {example}" for example in level.examples)
        return "\n".join(lines) + "\n"


def load_rubric(path: str | Path) -> Rubric:
    """Load and validate one rubric file (our YAML, or the DeLeAn ``.txt`` layout)."""
    path = Path(path)
    try:
        text = read_text(path, MAX_BYTES)
    except InputError as err:
        raise InputError(f"cannot read rubric: {err.reason}", source=path) from None
    if path.suffix == TXT_SUFFIX:
        return parse_delean_txt(text, path)
    data, lines = load_yaml(text, path)
    if not isinstance(data, dict):
        raise located_error("a rubric must be a YAML mapping of fields", path, 1)
    return validate_located(Rubric, {**data, "source": str(path)}, lines, path)


def load_rubrics(directory: str | Path | None = None) -> dict[str, Rubric]:
    """Load every rubric in ``directory`` (None: the bundled set), keyed by scale code.

    Bundled codes come first in their canonical order, other codes after them in file-name order.
    """
    files = _bundled_files() if directory is None else _directory_files(Path(directory))
    found: dict[str, Rubric] = {}
    for path in files:
        rubric = load_rubric(path)
        if rubric.code in found:
            raise InputError(f"second rubric for {rubric.code} (first: {found[rubric.code].source})", source=path)
        found[rubric.code] = rubric
    return {code: found[code] for code in ANNOTATED if code in found} | found


def rubric_set_hash(rubrics: Mapping[str, Rubric], codes: Sequence[str] | None = None) -> str:
    """One SHA-256 for the rubrics of several scales (per code, in the order given; default: all)."""
    codes = list(rubrics) if codes is None else codes
    pairs = [[code, rubrics[code].content_hash] for code in codes]
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode("utf-8")).hexdigest()


def _bundled_files() -> list[Path]:
    root = importlib.resources.files("rubrics")
    return sorted(Path(str(entry)) for entry in root.iterdir() if entry.name.endswith(YAML_SUFFIXES))


def _directory_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise InputError("rubric directory not found", source=directory)
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES + (TXT_SUFFIX,))
    if not files:
        raise InputError("no rubric files (*.yaml, *.yml, *.txt) in directory", source=directory)
    return files


_TITLE = re.compile(r"^#\s+(?P<title>.+?)\s*$")
_LEVEL = re.compile(r"^Level\s+(?P<level>\d+)\s*:\s*(?P<rest>.*)$", re.IGNORECASE)
_LABEL = re.compile(r"^(?P<label>[^.]{1,30}?)\.\s*(?P<criterion>.*)$")  # labels are short: "Very high"
_EXAMPLES = re.compile(r"^Examples?\s*:\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^[-*\u2022]\s+(?P<text>.+)$")
_CODE_IN_TITLE = re.compile(r"\((?P<code>[A-Za-z]{2,3})\)")


@dataclass
class _TxtLevel:
    """A level being read from a DeLeAn text file: its start line and the text gathered so far."""

    number: int
    label: str
    line: int
    criterion: list[str]
    examples: list[str] = field(default_factory=list)
    in_examples: bool = False


def parse_delean_txt(text: str, source: str | Path) -> Rubric:
    """Parse a rubric in the published DeLeAn ``.txt`` layout; errors name the source and line.

    The scale code comes from the file name (``QLq.txt``) or a ``(QLq)`` in the title. The layout
    has no "does not measure" section (``excludes`` is empty) and no version (``delean-txt``).
    """
    title: tuple[str, int] | None = None
    description: list[str] = []
    levels: list[_TxtLevel] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if title is None:
            match = _TITLE.match(line)
            if not match:
                raise located_error("expected the '# Title' line first", source, number)
            title = (match["title"], number)
        elif match := _LEVEL.match(line):
            levels.append(_txt_level(match, levels, source, number))
        elif not levels:
            description.append(line)
        elif _EXAMPLES.match(line):
            levels[-1].in_examples = True
        elif match := _BULLET.match(line):
            if not levels[-1].in_examples:
                raise located_error("bullet outside an 'Examples:' block", source, number)
            levels[-1].examples.append(match["text"])
        elif levels[-1].in_examples and levels[-1].examples and raw[:1].isspace():
            levels[-1].examples[-1] += " " + line
        elif levels[-1].in_examples:
            raise located_error("expected a '- ' example bullet or the next 'Level N:' line", source, number)
        else:
            levels[-1].criterion.append(line)
    if title is None:
        raise located_error("the file is empty", source, 1)
    if not levels:
        raise located_error("no 'Level N: Label. text' lines", source, title[1])
    for level in levels:
        if not level.examples:
            raise located_error(f"level {level.number} has no examples", source, level.line)
    code = _txt_code(title, source)
    bundled = _bundled_rubric(code)
    bands = [lv.band for lv in bundled.levels] if bundled is not None and bundled.kind == "percentage" else []
    data = {
        "code": code, "name": _CODE_IN_TITLE.sub("", title[0]).strip(),
        "family": bundled.family if bundled is not None else OTHER_FAMILY,
        "version": "delean-txt", "measures": " ".join(description), "excludes": "",
        "kind": bundled.kind if bundled is not None else "level", "source": str(source),
        "levels": [
            {"level": lv.number, "label": lv.label, "criterion": " ".join(lv.criterion), "examples": lv.examples,
             **({"band": bands[lv.number]} if lv.number < len(bands) else {})}
            for lv in levels
        ],
    }
    lines = {("levels", i): lv.line for i, lv in enumerate(levels)} | {(): title[1]}
    return validate_located(Rubric, data, lines, source)


def _txt_level(match: re.Match[str], levels: list[_TxtLevel], source: str | Path, number: int) -> _TxtLevel:
    level = int(match["level"])
    expected = len(levels) + LEVEL_MIN
    if level != expected:
        raise located_error(f"expected 'Level {expected}:' here, got level {level}", source, number)
    label = _LABEL.match(match["rest"])
    if not label:
        raise located_error("expected 'Level N: Label. criterion'", source, number)
    return _TxtLevel(level, label["label"], number, [label["criterion"]])


def _bundled_rubric(code: str) -> Rubric | None:
    """The bundled rubric of a code, or None for a code the bundled set lacks."""
    path = next((p for p in _bundled_files() if p.stem == code), None)
    return load_rubric(path) if path is not None else None


def _txt_code(title: tuple[str, int], source: str | Path) -> str:
    """The code of a DeLeAn file: a bundled code as file name, else ``(CODE)`` in the title, else the file name."""
    stem = Path(str(source)).stem
    if stem in ANNOTATED:
        return stem
    match = _CODE_IN_TITLE.search(title[0])
    if match:
        return match["code"]
    if re.match(CODE_PATTERN, stem):
        return stem
    raise located_error("cannot tell the scale: name the file <CODE>.txt or put '(CODE)' in the title",
                        source, title[1])
