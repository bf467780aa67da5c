"""How long a local generated judging run is likely to take, measured before it starts.

A local judge's time is its batches times (prefill + generated tokens x time per decoding step), and a
small judge often writes to its whole token budget (the default model rambles to 2,048 tokens). Neither
the prefill nor the step time can be guessed across machines and models, so both are measured: the
first batch (the longest prompts, which the transformers engine also runs first) is generated once
untimed (warm-up), then once for one token (prefill) and once for a few more (the step time). The estimate assumes every
judgment runs to its budget, which is what a judge that never stops does; EOS or ``--stop-at-verdict``
end sooner, and later steps cost a little more than the probe's as the context grows.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Sequence

from ..engines.base import ChatModel, GenRequest

PROBE_TOKENS = 8  # decoding steps timed; enough to average out one slow step, cheap next to a real run


@dataclass(frozen=True)
class RunEstimate:
    calls: int
    batch_size: int
    budget: int  # most new tokens a judgment may take
    prefill_s: float  # one batch's prompts
    step_s: float  # one decoding step of a full batch
    probe_s: float  # what measuring cost

    @property
    def batches(self) -> int:
        return math.ceil(self.calls / self.batch_size)

    @property
    def seconds(self) -> float:
        return self.batches * (self.prefill_s + self.budget * self.step_s)

    def line(self) -> str:
        return (f"estimated time: at most {self.seconds / 60:.1f} min ({self.seconds:.0f} s) for {self.calls} judge "
                f"calls in {self.batches} batches of <= {self.batch_size}, if every judgment runs to its "
                f"{self.budget}-token budget (measured on the first batch in {self.probe_s:.1f} s: prefill "
                f"{self.prefill_s:.2f} s, {self.step_s * 1000:.0f} ms per token step; EOS or --stop-at-verdict end sooner)")


def probe(model: ChatModel, requests: Sequence[GenRequest], batch_size: int,
          probe_tokens: int = PROBE_TOKENS) -> RunEstimate:
    """Time the first batch of ``requests`` for 1 and 1 + ``probe_tokens`` new tokens; nothing is kept."""
    # The longest prompts, as the transformers engine orders them: the estimate errs slow, not fast.
    first = sorted(requests, key=lambda r: -sum(len(m["content"]) for m in r.messages))[:batch_size]
    # Untimed first: the first calls at a new batch shape pay one-off kernel set-up (bfloat16's oneDNN
    # kernels are built per shape), which made a measured step 4x too slow.
    warm = time.perf_counter()
    model.generate([dataclasses.replace(r, max_new_tokens=2) for r in first])
    warm = time.perf_counter() - warm
    start = time.perf_counter()
    model.generate([dataclasses.replace(r, max_new_tokens=1) for r in first])
    prefill = time.perf_counter() - start
    results = model.generate([dataclasses.replace(r, max_new_tokens=1 + probe_tokens) for r in first])
    total = time.perf_counter() - start
    # A batch runs until its longest row ends: that many steps were timed (fewer if all rows hit EOS early).
    steps = max((r.completion_tokens or 0 for r in results), default=0) - 1
    step = max(0.0, total - 2 * prefill) / max(1, steps)
    budget = max(r.max_new_tokens for r in requests)
    return RunEstimate(calls=len(requests), batch_size=batch_size, budget=budget, prefill_s=prefill, step_s=step,
                       probe_s=warm + total)
