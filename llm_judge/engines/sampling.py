"""Sampling for the transformers engine where every row of a batch draws from its own seeded generator.

``generate(do_sample=True)`` draws every row's token from torch's one global generator, so a row's answer
depends on which other rows share its batch and in which order. Here generation runs greedy, and the last
logits processor does the sampling: it warps each row's scores as generate's sampling would (temperature,
top-k, top-p, min-p), draws one uniform number from that row's ``torch.Generator`` per step, picks the token
where the number falls in the row's cumulative distribution, and leaves that token the only finite score,
so generate's argmax can only take it. A row's answer is then fixed by its prompt, its settings and its seed.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from transformers import (LogitsProcessor, LogitsProcessorList, MinPLogitsWarper, TemperatureLogitsWarper,
                          TopKLogitsWarper, TopPLogitsWarper)

# generate's top-k when the model's generation config sets none (transformers' global default, which
# FastChat's answers were sampled with too)
DEFAULT_TOP_K = 50


def warpers(temperature: float, top_p: float, generation_config: Any = None) -> LogitsProcessorList:
    """The warpers ``generate(do_sample=True, temperature=..., top_p=...)`` applies, in its order.

    top-k and min-p come from the model's generation config, as they do in generate.
    """
    top_k = getattr(generation_config, "top_k", None)
    top_k = DEFAULT_TOP_K if top_k is None else top_k
    min_p = getattr(generation_config, "min_p", None)
    out = LogitsProcessorList()
    if temperature != 1.0:
        out.append(TemperatureLogitsWarper(temperature))
    if top_k:
        out.append(TopKLogitsWarper(top_k=top_k))
    if top_p < 1.0:
        out.append(TopPLogitsWarper(top_p=top_p))
    if min_p is not None:
        out.append(MinPLogitsWarper(min_p=min_p))
    return out


def generator_for(seed: int | None) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (None: from the OS, for unseeded requests).

    CPU generators on purpose: the numbers drawn are the same whatever device the model runs on.
    """
    g = torch.Generator()
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    return g


class RowSampler(LogitsProcessor):
    """The last logits processor of a greedy ``generate``: samples row ``i`` with ``seeds[i]``'s generator."""

    def __init__(self, seeds: Sequence[int | None], warp: LogitsProcessorList):
        self.generators = [generator_for(s) for s in seeds]
        self.warp = warp

    def draws(self) -> torch.Tensor:
        """One number in (0, 1] per row: never 0, so a token of probability 0 can never be picked."""
        return 1.0 - torch.stack([torch.rand((), generator=g, dtype=torch.float64) for g in self.generators])

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        probs = torch.softmax(self.warp(input_ids, scores).double(), dim=-1)
        cdf = probs.cumsum(dim=-1)
        target = self.draws().to(cdf.device).unsqueeze(1) * cdf[:, -1:]
        picks = torch.searchsorted(cdf, target).clamp_(max=scores.shape[-1] - 1)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, picks, 0.0)


def seeded_sampling(seeds: Sequence[int | None], temperature: float, top_p: float,
                    generation_config: Any = None) -> LogitsProcessorList:
    """``logits_processor`` for a greedy generate that samples row ``i`` with ``seeds[i]``."""
    return LogitsProcessorList([RowSampler(seeds, warpers(temperature, top_p, generation_config))])
