"""The reference docs cover what they promise: every command, every battery and outcome column."""
from __future__ import annotations

import re
from pathlib import Path

import typer.main

from assess.battery import COUNT_COLUMNS, OUTCOME_COLUMNS, PROVENANCE_COLUMNS, TEXT_COLUMNS
from assess.scaleset import default_scale_set
from assess.cli import app

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_command_has_a_section_with_an_example() -> None:
    text = (DOCS / "commands.md").read_text()
    group = typer.main.get_group(app)
    for name in group.commands:
        assert re.search(rf"^## assess [\w /]*\b{name}\b", text, re.MULTILINE), f"no section for `assess {name}`"
        assert f"assess {name} " in text, f"no worked example of `assess {name}`"


def test_schemas_name_every_column() -> None:
    text = (DOCS / "schemas.md").read_text()
    columns = TEXT_COLUMNS + tuple(default_scale_set().codes) + PROVENANCE_COLUMNS + OUTCOME_COLUMNS + COUNT_COLUMNS
    for column in columns:
        assert f"`{column}`" in text, column


def test_nav_lists_every_page() -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    for page in DOCS.glob("*.md"):
        assert page.name in nav, page.name
