"""make_traindata's output read back, and each example tokenized with the label trie of its verdict.

A split is ``NAME_{train,test}.json`` (the messages) with ``NAME_{train,test}.records.jsonl`` (line i is
the record of example i: pairwise or single, swapped or not) and ``NAME_summary.json`` (the judge family
the examples were rendered for). An example's verdict is scored the way ``--judge-method distribution``
scores it: every label is tokenized as the model writes it, ``prompt + target up to the label + label +
suffix``, and the candidates form a token trie (engines/scoring.build_item) below their common prefix,
so a two-token label such as ``10`` counts as P("1") * P("0" | "1") * P("]]" | "10").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engines import scoring
from ..errors import ConfigError, InputError
from ..traindata.finetune import IGNORE, fit, split_texts
from ..traindata.record import JudgeRecord
from . import verdict


@dataclass
class Split:
    examples: list[dict[str, Any]]
    records: list[JudgeRecord]


@dataclass
class Dataset:
    name: str
    train: Split
    test: Split
    family: str  # the judge family the examples were rendered for (make_traindata --judge-family)


@dataclass
class RaftItem:
    """The verdict of one example as a trie of label tails after ``position`` tokens of the example."""

    position: int  # tokens of the example before the trie: the logits at position - 1 predict its roots
    item: scoring.ScoreItem
    values: list[float]  # per label: its score, or 1 / 0 / 0.5 for A / B / tie
    target: float


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]  # the assistant turn's tokens, IGNORE elsewhere
    raft: RaftItem | None  # None: no verdict found, or it was cut off


def load(data_dir: str | Path, name: str | None = None) -> Dataset:
    """The train and test split of make_traindata's output in ``data_dir`` (``name``: which, when several)."""
    root = Path(data_dir)
    if name is None:
        names = sorted(p.name[: -len("_train.json")] for p in root.glob("*_train.json"))
        if len(names) != 1:
            raise ConfigError(f"{root}: {'no' if not names else 'several'} make_traindata outputs "
                              f"({', '.join(names) or 'no *_train.json'}); give --name")
        name = names[0]
    summary = root / f"{name}_summary.json"
    family = "fastchat"  # make_traindata's default judge family
    if summary.exists():
        family = str(json.loads(summary.read_text(encoding="utf-8")).get("options", {}).get("format") or family)
    return Dataset(name, _split(root, name, "train"), _split(root, name, "test"), family)


def _split(root: Path, name: str, split: str) -> Split:
    data, recs = root / f"{name}_{split}.json", root / f"{name}_{split}.records.jsonl"
    if not data.exists():
        if split == "test":
            return Split([], [])
        raise ConfigError(f"{data} not found: run make_traindata --out-dir {root} --name {name} first")
    try:
        examples = json.loads(data.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(data, f"invalid JSON ({exc.msg})", exc.lineno) from None
    records = []
    for n, line in enumerate(recs.read_text(encoding="utf-8").splitlines(), 1) if recs.exists() else ():
        try:
            records.append(JudgeRecord.from_json(json.loads(line)))
        except KeyError as exc:
            raise InputError(recs, "missing in this unified record", n, field=str(exc.args[0])) from None
        except (ValueError, TypeError) as exc:
            raise InputError(recs, f"not a unified record ({exc})", n) from None
    if len(records) != len(examples):
        raise InputError(recs, f"holds {len(records)} records for the {len(examples)} examples of {data.name}")
    for i, ex in enumerate(examples):
        if not isinstance(ex, dict) or not isinstance(ex.get("messages"), list) or len(ex["messages"]) < 2:
            raise InputError(data, "needs a 'messages' list ending with the assistant's answer", field=f"[{i}]")
    return Split(examples, records)


def verdict_only(messages: list[dict[str, str]], site: verdict.VerdictSite) -> list[dict[str, str]]:
    """The example with its answer cut to the verdict: prefill, label, suffix (no rationale)."""
    answer = messages[-1]["content"][site.start - len(site.scale.prefill): site.end]
    return messages[:-1] + [{"role": "assistant", "content": answer}]


def encode(tokenizer: Any, messages: list[dict[str, str]], max_len: int, chat_template: str | None,
           site: verdict.VerdictSite | None) -> Encoded:
    """Tokens and CE labels of an example; with ``site``, the trie of its verdict's labels."""
    prompt_text, target_text, offset = split_texts(tokenizer, messages, chat_template)
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    target = tokenizer(target_text, add_special_tokens=False)["input_ids"]
    kept_prompt, kept_target = fit(prompt, target, max_len)
    ids = kept_prompt + kept_target
    labels = [IGNORE] * len(kept_prompt) + kept_target
    raft = None
    if site is not None:
        raft = _raft_item(tokenizer, prompt, target, target_text[: offset + site.start], site)
        dropped = len(prompt) - len(kept_prompt)
        if raft is not None:
            raft.position -= dropped
            if raft.position > len(ids) or raft.position < 1:
                raft = None  # the verdict was cut off (or nothing of the prompt is left to predict it from)
    return Encoded(ids, labels, raft)


def _raft_item(tokenizer: Any, prompt: list[int], target: list[int], before: str,
               site: verdict.VerdictSite) -> RaftItem | None:
    scale = site.scale
    tails = tokenizer([before + label + scale.suffix for label in scale.labels], add_special_tokens=False)
    try:
        item = scoring.build_item([prompt + tail for tail in tails["input_ids"]])
    except ValueError:
        return None
    cut = len(item.base)
    if (prompt + target)[:cut] != item.base:
        return None  # the example's own tokens merge differently from the labels': no position to read
    return RaftItem(cut, item, list(scale.values), site.target)
