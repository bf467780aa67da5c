"""Per-source summary of a built dataset: counts, label balance and lengths (pure functions)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .record import JudgeRecord


@dataclass
class SourceStats:
    source: str
    converted: int = 0
    duplicates: int = 0  # same task as an earlier record (dropped before the split)
    prompt_duplicates: int = 0  # same rendered prompt as an earlier example (dropped after augmentation)
    train: int = 0
    test: int = 0
    swapped: int = 0  # examples that are swap-augmented copies
    reference_dropped: int = 0
    labels: Counter = field(default_factory=Counter)  # "A"/"B"/"tie", or the single score as text
    prompt_chars: list[int] = field(default_factory=list)
    target_chars: list[int] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)

    def add(self, record: JudgeRecord, example: dict[str, Any], split: str) -> None:
        setattr(self, split, getattr(self, split) + 1)
        self.swapped += bool(record.meta.get("swapped"))
        self.reference_dropped += bool(record.meta.get("reference_dropped"))
        self.labels[record.label if record.pairwise else f"{record.score:g}"] += 1
        messages = example["messages"]
        self.prompt_chars.append(sum(len(m["content"]) for m in messages[:-1]))
        self.target_chars.append(len(messages[-1]["content"]))

    def to_json(self) -> dict[str, Any]:
        def lengths(xs: list[int]) -> dict[str, int]:
            return {"mean": round(sum(xs) / len(xs)) if xs else 0, "max": max(xs, default=0)}

        return {"source": self.source, "converted": self.converted, "duplicates": self.duplicates,
                "prompt_duplicates": self.prompt_duplicates, "train": self.train, "test": self.test,
                "swapped": self.swapped, "reference_dropped": self.reference_dropped,
                "labels": dict(sorted(self.labels.items())), "prompt_chars": lengths(self.prompt_chars),
                "target_chars": lengths(self.target_chars), "notes": dict(self.notes)}


def _balance(labels: dict[str, int]) -> str:
    """Pairwise labels as A/B/tie shares and single scores as a mean and histogram; a source may hold both
    (two Auto-J files of one kind, say), each part then shown over its own records."""
    pair = {k: v for k, v in labels.items() if k in ("A", "B", "tie")}
    single = {k: v for k, v in labels.items() if k not in pair}
    parts = []
    if pair or not single:
        total = sum(pair.values()) or 1
        parts.append(" ".join(f"{k}={pair.get(k, 0)} ({100 * pair.get(k, 0) / total:.0f}%)" for k in ("A", "B", "tie")))
    if single:
        total = sum(single.values())
        mean = sum(float(k) * v for k, v in single.items()) / total
        hist = " ".join(f"{k}:{v}" for k, v in sorted(single.items(), key=lambda kv: float(kv[0])))
        parts.append(f"mean score {mean:.2f} [{hist}]")
    return "; ".join(parts)


def render(stats: list[dict[str, Any]], notes: dict[str, int]) -> str:
    """The summary as text: one block per source, then what rendering changed."""
    lines = []
    for s in stats:
        lines.append(f"{s['source']}: {s['converted']} converted, {s['duplicates']} duplicate(s) dropped -> "
                     f"train {s['train']}, test {s['test']} (swapped copies {s['swapped']}, "
                     f"references dropped {s['reference_dropped']}, same-prompt duplicates dropped "
                     f"{s['prompt_duplicates']})")
        lines.append(f"  labels: {_balance(s['labels'])}")
        lines.append(f"  lengths (chars): prompt mean {s['prompt_chars']['mean']} max {s['prompt_chars']['max']}; "
                     f"target mean {s['target_chars']['mean']} max {s['target_chars']['max']}")
        for what, n in sorted(s["notes"].items()):
            lines.append(f"  note: {what}: {n}")
    for what, n in sorted(notes.items()):
        lines.append(f"rendering: {what}: {n}")
    return "\n".join(lines)
