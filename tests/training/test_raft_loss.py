"""The RAFT and CE losses equal a hand computation, whatever the padding side and the gradient accumulation.

A tiny randomly initialised Llama (real transformers code, 2 layers, vocabulary 32) stands in for a judge,
so every number can be recomputed by hand: each label's probability is computed by running the model on
the example's tokens followed by that label's tokens, one forward pass per label, no trie, no padding.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from llm_judge.engines.scoring import build_item  # noqa: E402
from llm_judge.traindata.finetune import IGNORE  # noqa: E402
from llm_judge.training.batches import RAFT_KEYS, Collator  # noqa: E402
from llm_judge.training.examples import Encoded, RaftItem  # noqa: E402
from llm_judge.training.raft import ce_sum, counts, objective_loss, raft_sum  # noqa: E402

PAD, CLOSE = 0, 20  # CLOSE plays "]]"
# labels "1", "2", "10" of a 1..10 style scale: "10" is two tokens and shares its first with "1"
LABELS = {1.0: [11, CLOSE], 2.0: [12, CLOSE], 10.0: [11, 10, CLOSE]}


def tiny_model():
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64)
    return transformers.LlamaForCausalLM(config).eval()


def example(prompt: list[int], rationale: list[int], label: float, target: float, scored: bool = True) -> Encoded:
    """prompt + rationale + the label's tokens + end; the verdict trie sits after prompt + rationale."""
    before = prompt + rationale
    ids = before + LABELS[label] + [2]
    labels = [IGNORE] * len(prompt) + ids[len(prompt):]
    raft = RaftItem(len(before), build_item([before + t for t in LABELS.values()]), list(LABELS), target) \
        if scored else None
    return Encoded(ids, labels, raft)


BATCH = [example([5, 6, 7, 8, 9], [13, 14], 2.0, 2.0),
         example([5, 6], [15], 10.0, 10.0),
         example([7, 8, 9], [13], 1.0, 4.0)]


def logprob_of(model, context: list[int], tokens: list[int]) -> float:
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([context + tokens])).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    return sum(float(lp[len(context) - 1 + i, t]) for i, t in enumerate(tokens))


def hand_raft(model, batch: list[Encoded]) -> float:
    total = 0.0
    for e in batch:
        if e.raft is None:
            continue
        before = e.input_ids[: e.raft.position]
        lps = torch.tensor([logprob_of(model, before, toks) for toks in LABELS.values()])
        expected = float((torch.softmax(lps, 0) * torch.tensor(list(LABELS))).sum())
        total += (expected - e.raft.target) ** 2
    return total


def hand_ce(model, batch: list[Encoded]) -> tuple[float, int]:
    total, n = 0.0, 0
    for e in batch:
        with torch.no_grad():
            lp = torch.log_softmax(model(input_ids=torch.tensor([e.input_ids])).logits[0].float(), -1)
        for i in range(1, len(e.input_ids)):
            if e.labels[i] != IGNORE:
                total -= float(lp[i - 1, e.labels[i]])
                n += 1
    return total, n


def batch_sums(model, batch: list[Encoded], side: str) -> tuple[float, float]:
    inputs = Collator(PAD, side)(batch)
    raft = {k: inputs.pop(k) for k in RAFT_KEYS}
    labels = inputs.pop("labels")
    with torch.no_grad():
        logits = model(**inputs).logits
    return float(raft_sum(logits, raft)), float(ce_sum(logits, labels))


@pytest.mark.parametrize("side", ["right", "left"])
def test_raft_and_ce_sums_equal_the_hand_computation(side):
    model = tiny_model()
    raft, ce = batch_sums(model, BATCH, side)
    assert raft == pytest.approx(hand_raft(model, BATCH), rel=1e-4)
    hand, _ = hand_ce(model, BATCH)
    assert ce == pytest.approx(hand, rel=1e-4)


def test_the_two_token_label_is_scored_through_its_first_token():
    """P("10]]") = P("1") P("0" | "1") P("]]" | "10"): the trie node of "1" is shared by "1]]" and "10]]"."""
    model = tiny_model()
    e = BATCH[0]
    inputs = Collator(PAD, "right")([e])
    raft = {k: inputs.pop(k) for k in RAFT_KEYS}
    inputs.pop("labels")
    from llm_judge.training.raft import label_logprobs

    with torch.no_grad():
        got = label_logprobs(model(**inputs).logits, raft)[0]
    before = e.input_ids[: e.raft.position]
    assert float(got[2]) == pytest.approx(logprob_of(model, before, [11, 10, CLOSE]), rel=1e-4)
    assert float(got[0]) == pytest.approx(logprob_of(model, before, [11, CLOSE]), rel=1e-4)


def test_unscored_examples_add_nothing_and_do_not_count():
    model = tiny_model()
    batch = BATCH[:2] + [example([7, 8, 9], [13], 1.0, 4.0, scored=False)]
    inputs = Collator(PAD, "left")(batch)
    raft = {k: inputs.pop(k) for k in RAFT_KEYS}
    labels = inputs.pop("labels")
    with torch.no_grad():
        logits = model(**inputs).logits
    step = counts(labels, raft)
    assert int(step[1]) == 2 and int(step[0]) == hand_ce(model, batch)[1]
    loss = float(objective_loss("raft", logits, labels, raft, step))
    assert loss == pytest.approx(hand_raft(model, batch) / 2, rel=1e-4)
    ce_total, n = hand_ce(model, batch)
    both = float(objective_loss("raft+ce", logits, labels, raft, step, ce_weight=0.5))
    assert both == pytest.approx(hand_raft(model, batch) / 2 + 0.5 * ce_total / n, rel=1e-4)


def _one_sgd_step(batch: list[Encoded], batch_size: int, accumulation: int, objective: str, tmp_path) -> list:
    from llm_judge.training.judge_trainer import JudgeTrainer

    model = tiny_model().train()
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / f"{batch_size}x{accumulation}"), max_steps=1, per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation, learning_rate=0.1, optim="sgd", lr_scheduler_type="constant",
        report_to="none", remove_unused_columns=False, use_cpu=True, save_strategy="no", max_grad_norm=0.0,
        disable_tqdm=True)
    JudgeTrainer(model=model, args=args, train_dataset=batch, data_collator=Collator(PAD, "right"),
                 objective=objective).train()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("objective", ["raft", "raft+ce"])
def test_gradient_accumulation_gives_the_step_of_the_whole_batch(objective, tmp_path):
    """One SGD step on 4 examples (one unscored, lengths differ) as 1 x 4 and as 4 micro-batches of 1: the
    same weights, because each micro-batch's sums are divided by the whole step's counts."""
    batch = BATCH + [example([9, 8], [14, 15, 13], 1.0, 1.0, scored=False)]
    whole = _one_sgd_step(batch, 4, 1, objective, tmp_path)
    split = _one_sgd_step(batch, 1, 4, objective, tmp_path)
    start = [p.detach() for p in tiny_model().parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(whole, start))  # the step moved the weights
    for a, b in zip(whole, split):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)
