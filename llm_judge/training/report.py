"""The before/after table of a training run, as text."""
from __future__ import annotations

from typing import Any

ROWS = {
    "single": [("expected", m) for m in ("pearson", "spearman", "kendall", "mse")]
              + [("greedy", m) for m in ("pearson", "spearman", "kendall", "mse")],
    "pairwise": [(None, m) for m in ("agreement", "agreement_no_tie", "consistency")],
}


def _get(metrics: dict[str, Any], kind: str, group: str | None, name: str) -> float | None:
    block = metrics.get(kind, {})
    block = block.get(group, {}) if group else block
    return block.get(name)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def table(before: dict[str, Any], after: dict[str, Any], columns: tuple[str, str] = ("before", "after")) -> str:
    """One row per metric: before, after, and the change."""
    lines = [f"{'metric':28s} {columns[0]:>8s} {columns[1]:>8s} {'change':>8s}"]
    for kind, rows in ROWS.items():
        if kind not in before and kind not in after:
            continue
        n = (after.get(kind) or before.get(kind) or {}).get("n")
        lines.append(f"{kind} (n={n})")
        for group, name in rows:
            a, b = _get(before, kind, group, name), _get(after, kind, group, name)
            label = f"  {group} {name}" if group else f"  {name}"
            change = "-" if a is None or b is None else f"{b - a:+.3f}"
            lines.append(f"{label:28s} {_fmt(a):>8s} {_fmt(b):>8s} {change:>8s}")
    return "\n".join(lines)
