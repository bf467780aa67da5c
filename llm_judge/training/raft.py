"""The training objectives as sums over a batch, divided by counts taken over the whole optimizer step.

* ``sft``: cross-entropy of the assistant turn's tokens, summed, divided by the number of those tokens in
  every micro-batch of the step (and on every device), so gradient accumulation changes nothing.
* ``raft``: per scored example, (E[v] - y)^2 where y is the target (the score; for pairwise 1 / 0 / 0.5
  for A / B / tie) and E[v] = sum_k p_k v_k over the scale's labels, p the softmax of each label's
  log-probability (the sum of its tokens' log-probabilities along the trie) renormalised over the labels.
  Summed, divided by the number of scored examples of the step.
* ``raft+ce``: raft + ce_weight * sft (TRACT's combination; the weight defaults to 1).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..traindata.finetune import IGNORE

OBJECTIVES = ("sft", "raft", "raft+ce")
DEFAULT_CE_WEIGHT = 1.0


def label_logprobs(logits: Any, raft: Mapping[str, Any]) -> Any:
    """(B, K): each label's log-probability, the sum over its trie path of log P(token | what precedes)."""
    import torch

    B, N = raft["raft_rows"].shape
    rows = logits[torch.arange(B, device=logits.device)[:, None], raft["raft_rows"]]  # (B, N, V)
    node_lp = torch.log_softmax(rows.float(), dim=-1).gather(-1, raft["raft_tokens"][..., None]).squeeze(-1)
    node_lp = node_lp.masked_fill(~raft["raft_node_mask"], 0.0)
    K, D = raft["raft_paths"].shape[1:]
    along = node_lp.gather(1, raft["raft_paths"].reshape(B, K * D)).reshape(B, K, D)
    return along.masked_fill(~raft["raft_path_mask"], 0.0).sum(-1)


def expected_value(logprobs: Any, raft: Mapping[str, Any]) -> Any:
    """(B,): the expected label value under the label probabilities renormalised over the labels."""
    import torch

    masked = logprobs.masked_fill(~raft["raft_label_mask"], float("-inf"))
    probs = torch.softmax(masked, dim=-1).nan_to_num(0.0)  # a row without labels (unscored) has no probabilities
    return (probs * raft["raft_values"]).sum(-1)


def raft_sum(logits: Any, raft: Mapping[str, Any]) -> Any:
    """Sum over the scored examples of the squared error between expected and target value."""
    err = (expected_value(label_logprobs(logits, raft), raft) - raft["raft_target"]) ** 2
    return (err * raft["raft_scored"]).sum()


def ce_sum(logits: Any, labels: Any) -> Any:
    """Sum of the next-token cross-entropy over the labelled tokens."""
    import torch

    shift_logits = logits[:, :-1].float().reshape(-1, logits.shape[-1])
    return torch.nn.functional.cross_entropy(shift_logits, labels[:, 1:].reshape(-1), ignore_index=IGNORE,
                                             reduction="sum")


def counts(labels: Any, raft: Mapping[str, Any] | None) -> Any:
    """(CE tokens, scored examples) of one micro-batch: what the step's losses are divided by."""
    import torch

    tokens = labels[:, 1:].ne(IGNORE).sum()
    scored = raft["raft_scored"].sum() if raft else torch.zeros((), dtype=torch.long)
    return torch.stack([tokens.to(torch.long), scored.to(torch.long)])


def objective_loss(objective: str, logits: Any, labels: Any, raft: Mapping[str, Any] | None, step_counts: Any,
                   ce_weight: float = DEFAULT_CE_WEIGHT) -> Any:
    """The micro-batch's share of the step's loss: its sums divided by the step's counts."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    tokens, scored = step_counts[0].clamp(min=1), step_counts[1].clamp(min=1)
    loss = logits.new_zeros((), dtype=logits.dtype).float()
    if objective in ("sft", "raft+ce"):
        loss = loss + (1.0 if objective == "sft" else ce_weight) * ce_sum(logits, labels) / tokens
    if objective in ("raft", "raft+ce"):
        loss = loss + raft_sum(logits, raft) / scored
    return loss
