"""Render a table as a terminal table, markdown, CSV or JSON (no pandas needed), or hand it to pandas.

Display width counts East Asian wide characters as two columns, so Japanese model names and
categories line up in a terminal. pandas is imported only by :meth:`Table.to_dataframe` (extra
``notebook``), so nothing else needs it.
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependency

if TYPE_CHECKING:
    import pandas

FORMATS = ("table", "markdown", "csv", "json")


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_dataframe(self) -> "pandas.DataFrame":
        """The table as a pandas DataFrame for notebooks: the same columns and rows, unrounded; a missing
        value (shown as "-") is NaN/None; the title and note are kept in ``df.attrs``."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependency("pandas", "notebook") from None
        frame = pd.DataFrame(self.rows, columns=self.columns)
        frame.attrs.update(title=self.title, note=self.note)
        return frame


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def render(tables: list[Table], fmt: str = "table", digits: int = 2) -> str:
    if fmt == "json":
        return json.dumps([{"title": t.title, "columns": t.columns, "rows": t.records(), "note": t.note} for t in tables],
                          ensure_ascii=False, indent=2)
    out = []
    for t in tables:
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["table"] + t.columns)
            for row in t.rows:
                w.writerow([t.title] + ["" if v is None else v for v in row])
            out.append(buf.getvalue().rstrip("\n"))
            continue
        cells = [[_cell(v, digits) for v in row] for row in t.rows]
        numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in t.rows) and bool(t.rows)
                   for i in range(len(t.columns))]
        if fmt == "markdown":
            lines = [f"### {t.title}", "", "| " + " | ".join(t.columns) + " |",
                     "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
            # A "|" inside a cell (a model name) would end the cell: markdown's escape keeps it text.
            lines += ["| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in cells]
        else:
            widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(t.columns)]
            lines = [f"== {t.title} =="]
            lines.append("  ".join(_pad(c, widths[i], numeric[i]) for i, c in enumerate(t.columns)))
            lines += ["  ".join(_pad(v, widths[i], numeric[i]) for i, v in enumerate(row)) for row in cells]
        if t.note:
            lines.append(t.note if fmt != "markdown" else f"\n_{t.note}_")
        out.append("\n".join(lines))
    return ("\n" if fmt == "csv" else "\n\n").join(out)
