"""Encoded examples packed into one batch: each row holds its tokens, then its verdict's trie, then padding.

The trie's inner nodes (engines/scoring.py) follow the example's tokens in the same row, with a 4-D
attention mask: a node sees the example's tokens before the verdict and its own ancestors only, and
sits at the position the label's token would have. So one forward pass gives the logits of the
assistant turn (for cross-entropy) and of every label's tokens (for RAFT). Padding goes on
``padding_side``; the loss reads explicit row indices, so either side gives the same numbers.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..traindata.finetune import IGNORE
from .examples import Encoded

RAFT_KEYS = ("raft_rows", "raft_tokens", "raft_node_mask", "raft_paths", "raft_path_mask", "raft_values",
             "raft_label_mask", "raft_target", "raft_scored")


class Collator:
    """``Trainer``'s data_collator: a list of :class:`Encoded` -> the model's inputs plus the RAFT tensors."""

    def __init__(self, pad_id: int, padding_side: str = "right", with_trie: bool = True):
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be left or right, not {padding_side!r}")
        self.pad_id, self.padding_side, self.with_trie = pad_id, padding_side, with_trie

    def __call__(self, batch: Sequence[Encoded]) -> dict[str, Any]:
        import torch

        inner = [len(e.raft.item.inner) if self.with_trie and e.raft else 0 for e in batch]
        width = max(len(e.input_ids) + t for e, t in zip(batch, inner))
        B = len(batch)
        ids = torch.full((B, width), self.pad_id, dtype=torch.long)
        labels = torch.full((B, width), IGNORE, dtype=torch.long)
        pos = torch.zeros((B, width), dtype=torch.long)
        allowed = torch.zeros((B, width, width), dtype=torch.bool)
        offsets = []
        for r, (e, t) in enumerate(zip(batch, inner)):
            n = len(e.input_ids)
            o = 0 if self.padding_side == "right" else width - n - t
            offsets.append(o)
            ids[r, o:o + n] = torch.tensor(e.input_ids)
            labels[r, o:o + n] = torch.tensor(e.labels)
            pos[r, o:o + n] = torch.arange(n)
            allowed[r, o:o + n, o:o + n] = torch.ones((n, n), dtype=torch.bool).tril()
            if t:
                self._place_trie(e, o, ids[r], pos[r], allowed[r])
        diag = torch.arange(width)
        allowed[:, diag, diag] = True  # padding attends to itself: no empty softmax row (NaN)
        out: dict[str, Any] = {"input_ids": ids, "labels": labels, "position_ids": pos}
        if any(inner):
            lowest = torch.finfo(torch.float32).min
            out["attention_mask"] = torch.zeros(allowed.shape).masked_fill(~allowed, lowest)[:, None]
        else:  # no trie anywhere (sft): a plain padding mask keeps attention on its fast causal path
            out["attention_mask"] = _pad_mask(batch, offsets, width, torch)
        if self.with_trie:
            out.update(raft_tensors(batch, offsets, torch))
        return out

    @staticmethod
    def _place_trie(e: Encoded, o: int, ids: Any, pos: Any, allowed: Any) -> None:
        item, start = e.raft.item, o + len(e.input_ids)
        column = {node: start + k for k, node in enumerate(item.inner)}
        for node, col in column.items():
            ids[col] = item.nodes[node][0]
            pos[col] = e.raft.position + item.depth(node) - 1
            allowed[col, o:o + e.raft.position] = True
            a = node
            while a != -1:  # the node itself and its ancestors
                allowed[col, column[a]] = True
                a = item.nodes[a][1]


def _pad_mask(batch: Sequence[Encoded], offsets: list[int], width: int, torch: Any) -> Any:
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, (e, o) in enumerate(zip(batch, offsets)):
        mask[r, o:o + len(e.input_ids)] = 1
    return mask


def raft_tensors(batch: Sequence[Encoded], offsets: list[int], torch: Any) -> dict[str, Any]:
    """Per row: which logits row predicts each trie node and its token; each label's path of nodes."""
    items = [e.raft for e in batch]
    N = max([len(r.item.nodes) for r in items if r] or [1])
    K = max([len(r.item.paths) for r in items if r] or [1])
    D = max([len(p) for r in items if r for p in r.item.paths] or [1])
    B = len(batch)
    rows, toks = torch.zeros((B, N), dtype=torch.long), torch.zeros((B, N), dtype=torch.long)
    node_mask = torch.zeros((B, N), dtype=torch.bool)
    paths, path_mask = torch.zeros((B, K, D), dtype=torch.long), torch.zeros((B, K, D), dtype=torch.bool)
    values, label_mask = torch.zeros((B, K)), torch.zeros((B, K), dtype=torch.bool)
    target, scored = torch.zeros(B), torch.zeros(B, dtype=torch.bool)
    for r, (e, o) in enumerate(zip(batch, offsets)):
        raft = e.raft
        if raft is None:
            continue
        column = {node: o + len(e.input_ids) + k for k, node in enumerate(raft.item.inner)}
        for node, (tok, parent) in enumerate(raft.item.nodes):
            # a root is predicted by the last token before the verdict, any other node by its parent
            rows[r, node] = o + raft.position - 1 if parent == -1 else column[parent]
            toks[r, node] = tok
            node_mask[r, node] = True
        for k, path in enumerate(raft.item.paths):
            paths[r, k, :len(path)] = torch.tensor(path)
            path_mask[r, k, :len(path)] = True
        values[r, :len(raft.values)] = torch.tensor(raft.values)
        label_mask[r, :len(raft.values)] = True
        target[r], scored[r] = raft.target, True
    return dict(zip(RAFT_KEYS, (rows, toks, node_mask, paths, path_mask, values, label_mask, target, scored)))
