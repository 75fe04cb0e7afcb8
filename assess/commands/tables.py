"""Rich tables from DataFrames, for commands that print a summary table."""
from __future__ import annotations

import pandas as pd
from rich.markup import escape
from rich.table import Table


def frame_table(frame: pd.DataFrame, title: str, digits: int = 3) -> Table:
    """A rich table of ``frame``: number columns (blanks allowed) right-aligned, floats to ``digits`` places and
    NaN as –, text escaped."""
    table = Table(title=title, header_style="bold", title_justify="left")
    for column in frame.columns:
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) or v == "" for v in frame[column].tolist())
        table.add_column(escape(str(column)), justify="right" if numeric else "left", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(_format(value, digits) for value in row))
    return table


def _format(value: object, digits: int) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:.{digits}f}"
    return escape(str(value))
