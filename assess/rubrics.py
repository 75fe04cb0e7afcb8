"""Rubrics: what each general scale measures and how to tell its levels apart, as annotators read them.

Our rubrics are YAML files, one per scale (``rubrics/<CODE>.yaml`` in the package), each with a
code, name, family, version, what the scale measures and what it does not, and six levels
(0-5) with a label, a criterion and examples. A directory may also hold rubrics in the
published DeLeAn ``.txt`` layout (``# Title``, description, ``Level N: Label. text``,
``Examples:`` bullets), so users can bring their own copy.

Unguessability (UG) is annotated as a percentage 0-100 (100 minus the chance, in percent, of
being right without the ability). Its rubric keeps the same six-level shape for the annotator,
but each level also carries a ``band`` of UG percentages (see :data:`UG_BANDS`) and the rubric's
``scale_max`` is 100 instead of 5.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .errors import InputError
from .scales import ANNOTATED, LEVEL_MAX, LEVEL_MIN, UG, UG_MAX, family
from .files import read_text
from .yamlio import MAX_BYTES, LocatedValueError, load_yaml, located_error, validate_located

#: UG percentage band ``[low, high)`` per level (the last band includes 100).
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


class Level(BaseModel):
    """One level of a scale: its number, a short label, the criterion and example prompts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int
    label: NonEmptyText
    criterion: NonEmptyText
    examples: list[NonEmptyText] = Field(min_length=1)
    #: UG only: the ``[low, high)`` UG percentages this level stands for.
    band: tuple[float, float] | None = None


class Rubric(BaseModel):
    """A validated rubric for one scale (18 demand scales or UG)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: NonEmptyText
    family: str
    version: NonEmptyText
    measures: NonEmptyText
    #: What the scale does *not* measure, to keep neighbouring scales apart (empty when the source says nothing).
    excludes: Text
    levels: list[Level]
    #: Largest annotated value: 5 for the demand scales, 100 for UG (a percentage).
    scale_max: int = LEVEL_MAX
    #: Where the rubric was read from; not part of the content or its hash.
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        if self.code not in ANNOTATED:
            raise LocatedValueError(("code",), f"unknown scale code {self.code!r}; known: {', '.join(ANNOTATED)}")
        if self.family != family(self.code):
            raise LocatedValueError(("family",), f"family of {self.code} is {family(self.code)!r}, not {self.family!r}")
        expected_max = int(UG_MAX) if self.code == UG else LEVEL_MAX
        if self.scale_max != expected_max:
            raise LocatedValueError(("scale_max",), f"scale_max of {self.code} must be {expected_max}")
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
        if self.code != UG:
            if level.band is not None:
                raise LocatedValueError(("levels", index, "band"), "only the UG rubric has percentage bands")
        elif level.band != UG_BANDS[index]:
            low, high = UG_BANDS[index]
            raise LocatedValueError(("levels", index, "band"), f"UG level {index} must have band [{low:g}, {high:g}]")

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
            band = f", UG {level.band[0]:g}-{level.band[1]:g}%" if level.band else ""
            lines.append(f"Level {level.level} ({level.label}{band}): {level.criterion}")
            lines.extend(f"  Example: {example}" for example in level.examples)
        return "\n".join(lines) + "\n"


def ug_level(percentage: float) -> int:
    """The UG rubric level (0-5) whose band holds a UG percentage (0-100)."""
    if not 0.0 <= percentage <= UG_MAX:
        raise ValueError(f"UG percentage {percentage} outside 0-{UG_MAX:g}")
    return next(i for i, (_, high) in enumerate(UG_BANDS) if percentage < high or high == UG_MAX)


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
    """Load every rubric in ``directory`` (None: the bundled set), keyed by scale code in canonical order."""
    files = _bundled_files() if directory is None else _directory_files(Path(directory))
    found: dict[str, Rubric] = {}
    for path in files:
        rubric = load_rubric(path)
        if rubric.code in found:
            raise InputError(f"second rubric for {rubric.code} (first: {found[rubric.code].source})", source=path)
        found[rubric.code] = rubric
    return {code: found[code] for code in ANNOTATED if code in found}


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
    data = {
        "code": code, "name": _CODE_IN_TITLE.sub("", title[0]).strip(), "family": family(code),
        "version": "delean-txt", "measures": " ".join(description), "excludes": "",
        "scale_max": int(UG_MAX) if code == UG else LEVEL_MAX, "source": str(source),
        "levels": [
            {"level": lv.number, "label": lv.label, "criterion": " ".join(lv.criterion), "examples": lv.examples,
             **({"band": UG_BANDS[lv.number]} if code == UG and lv.number < len(UG_BANDS) else {})}
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


def _txt_code(title: tuple[str, int], source: str | Path) -> str:
    stem = Path(str(source)).stem
    if stem in ANNOTATED:
        return stem
    match = _CODE_IN_TITLE.search(title[0])
    if match and match["code"] in ANNOTATED:
        return match["code"]
    raise located_error(f"cannot tell the scale: name the file <CODE>.txt or put '(CODE)' in the title; "
                        f"known codes: {', '.join(ANNOTATED)}", source, title[1])
