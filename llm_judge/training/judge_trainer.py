"""``Trainer`` with the judge objectives: the loss is normalised over the whole optimizer step, unpatched.

Trainer collects the micro-batches of one optimizer step before running them (``get_batch_samples``);
this subclass counts there what the step's loss is divided by, the CE tokens and the scored examples of
every micro-batch, summed over the devices (``accelerator.gather``), and ``compute_loss`` divides each
micro-batch's sums by those counts. ``loss_is_scaled_for_ga = True`` tells Trainer not to divide again.
Under DistributedDataParallel, which averages gradients over the N processes, the loss is multiplied by
N, so the step's gradient is the gradient of (sum over every device) / (global count).
"""
from __future__ import annotations

from typing import Any, Iterator

from ..errors import ConfigError
from . import raft
from .batches import RAFT_KEYS

try:
    from transformers import Trainer
except ImportError:  # the command reports the missing extra; this module is imported only to train
    Trainer = object  # type: ignore[assignment,misc]


class JudgeTrainer(Trainer):  # type: ignore[misc,valid-type]
    def __init__(self, *args: Any, objective: str = "sft", ce_weight: float = raft.DEFAULT_CE_WEIGHT,
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        if objective not in raft.OBJECTIVES:
            raise ConfigError(f"--objective must be one of {', '.join(raft.OBJECTIVES)}, not {objective!r}")
        if self.args.n_gpu > 1:
            raise ConfigError("several GPUs in one process (DataParallel) are not supported: start one process "
                              "per GPU with torchrun or accelerate launch")
        self.objective, self.ce_weight = objective, ce_weight
        self.loss_is_scaled_for_ga = True

    def get_batch_samples(self, epoch_iterator: Iterator, num_batches: int, device: Any) -> tuple[list, Any]:
        batches = []
        for _ in range(num_batches):
            try:
                batches.append(next(epoch_iterator))
            except StopIteration:
                break
        if not batches:
            return batches, None
        step = sum(raft.counts(b["labels"], _raft_part(b)) for b in batches).to(device)
        if self.args.world_size > 1:
            step = self.accelerator.gather(step[None]).sum(0)
        return batches, step

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        inputs = dict(inputs)
        extras = {k: inputs.pop(k) for k in RAFT_KEYS if k in inputs}
        labels = inputs.pop("labels")
        outputs = model(**inputs, use_cache=False)
        step = num_items_in_batch if num_items_in_batch is not None else raft.counts(labels, extras or None)
        loss = raft.objective_loss(self.objective, outputs.logits, labels, extras or None, step.to(labels.device),
                                   self.ce_weight)
        if self.args.world_size > 1 and model.training:
            loss = loss * self.accelerator.num_processes  # DDP averages the gradients: undo it, the count is global
        return (loss, outputs) if return_outputs else loss


def _raft_part(batch: dict[str, Any]) -> dict[str, Any] | None:
    return {k: batch[k] for k in RAFT_KEYS} if "raft_scored" in batch else None

