"""AlpacaEval 2.0's weighted annotator (``weighted_alpaca_eval_gpt4_turbo``), run on our engines.

The annotator is data: ``evaluators_configs/<name>/configs.yaml`` names the prompt template (chat-ML text
with ``{instruction}``, ``{output_1}``, ``{output_2}``), the judge and its settings (one token, the top 5
log-probs) and the two labels: the first output's (``numerator_token``) and both (``denominator_tokens``).
Per instruction:

- identical outputs get preference 1.5 with no call;
- the two outputs are shown switched when ``random.Random("is_switched_outputs" + instruction + "0")``
  picks True from [False, True] (AlpacaEval's seeded per-instruction rule), and the preference flipped back;
- the preference is 2 - P(first label) / (P(first) + P(second)) over the labels' probabilities at the first
  token: from the top log-probs of an API judge (a label not among them counts 0; neither among them is a
  failed record), or from a local judge's probabilities of the two labels (distribution judging).

A failed call is a record with ``preference`` null and an ``error`` field, never a number.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..engines.base import ChatModel, GenRequest, GenResult
from ..errors import InputError
from .alpaca_files import Output

SWITCH_KEY = "is_switched_outputs"
SWITCH_SEED = 0  # the annotator's seed, given to its processors
_PLACEHOLDER = re.compile(r"\{(instruction|output_1|output_2)\}")
_MESSAGE = re.compile(r"<\|im_start\|>([^\n]*)\n(.*?)<\|im_end\|>", re.S)


@dataclass(frozen=True)
class AnnotatorConfig:
    name: str
    template: str
    judge: str  # the model upstream names (gpt-4-1106-preview)
    max_tokens: int
    temperature: float
    top_logprobs: int
    first_label: str  # output_1's identifier
    labels: tuple[str, ...]


def load_annotator(folder: Path, name: str) -> AnnotatorConfig:
    """``<folder>/<name>/configs.yaml`` and the template it names (relative to ``folder``)."""
    import yaml

    path = folder / name / "configs.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such file (fetch the bench with `python -m llm_judge.download alpaca_eval`)") \
            from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"invalid YAML ({exc})") from None
    conf = raw.get(name) if isinstance(raw, dict) else None
    if not isinstance(conf, dict):
        raise InputError(path, "must hold one mapping named after the annotator", field=name)
    kwargs = conf.get("completions_kwargs") or {}
    parser = conf.get("completion_parser_kwargs") or {}
    if conf.get("fn_completion_parser") != "logprob_parser" or parser.get("is_binarize"):
        raise InputError(path, "only the weighted log-prob parser (is_binarize false) is supported",
                         field=f"{name}.fn_completion_parser")
    first, labels = parser.get("numerator_token"), parser.get("denominator_tokens")
    if not isinstance(first, str) or not isinstance(labels, list) or len(labels) != 2 or first not in labels:
        raise InputError(path, "needs numerator_token among two denominator_tokens",
                         field=f"{name}.completion_parser_kwargs")
    template_path = folder / str(conf.get("prompt_template", ""))
    if not template_path.is_file():
        raise InputError(path, f"names a template that is absent: {template_path}", field=f"{name}.prompt_template")
    return AnnotatorConfig(name=name, template=template_path.read_text(encoding="utf-8"),
                           judge=str(kwargs.get("model_name", "")), max_tokens=int(kwargs.get("max_tokens", 1)),
                           temperature=float(kwargs.get("temperature", 1.0)),
                           top_logprobs=int(kwargs.get("top_logprobs", 5)), first_label=first, labels=tuple(labels))


def is_switched(instruction: str, seed: int = SWITCH_SEED) -> bool:
    """AlpacaEval's per-instruction choice of showing the model's output first."""
    return random.Random(SWITCH_KEY + instruction + str(seed)).choices([False, True], k=1)[0]


def prompt_messages(template: str, instruction: str, output_1: str, output_2: str) -> list[dict[str, str]]:
    """The chat messages of the template, each placeholder filled once (an output holding "{output_2}" stays
    as written)."""
    values = {"instruction": instruction, "output_1": output_1, "output_2": output_2}
    messages = []
    for role, body in _MESSAGE.findall(template):
        content = _PLACEHOLDER.sub(lambda m: values[m.group(1)], body.strip())
        messages.append({"role": role.strip(), "content": content})
    return messages


class NoLabel(ValueError):
    """Neither label is among the judge's alternatives."""


def preference_from_logprobs(top: Iterable[tuple[str, float]], first: str, labels: Sequence[str]) -> float:
    """2 - P(first) / sum of P(label): a label not listed counts 0; neither listed raises NoLabel."""
    probs = {label: 0.0 for label in labels}
    seen = False
    for token, logprob in top:
        if token in probs:
            probs[token] = math.exp(logprob)
            seen = True
    total = sum(probs.values())
    if not seen or total == 0:
        raise NoLabel(f"neither {' nor '.join(labels)} is among the judge's top alternatives")
    return 2.0 - probs[first] / total


def request(config: AnnotatorConfig, messages: list[dict[str, str]], distribution: bool) -> GenRequest:
    if distribution:
        return GenRequest(messages, max_new_tokens=1, score_choices=list(config.labels))
    return GenRequest(messages, max_new_tokens=config.max_tokens, temperature=config.temperature,
                      top_logprobs=config.top_logprobs)


def read_preference(config: AnnotatorConfig, result: GenResult, distribution: bool) -> tuple[float, Any]:
    """(preference in the shown order, what to keep as the raw completion); raises ValueError when unreadable."""
    if distribution:
        dist = result.distribution or {}
        if not dist:
            raise ValueError("the judge returned no label probabilities")
        top = [(label, math.log(p)) for label, p in dist.items() if p > 0]
        return preference_from_logprobs(top, config.first_label, config.labels), {"distribution": dist}
    if not result.token_logprobs:
        raise ValueError("the reply holds no log-probs (the judge must return top_logprobs)")
    first = result.token_logprobs[0]
    top = [(t.decode("utf-8", "replace"), lp) for t, lp in first.top]
    raw = {"text": result.text, "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}
    return preference_from_logprobs(top, config.first_label, config.labels), raw


def _record(base: Output, out: Output, config: AnnotatorConfig) -> dict[str, Any]:
    return {"instruction": base.instruction, "output_1": base.output, "generator_1": base.generator,
            "dataset": base.dataset, "output_2": out.output, "generator_2": out.generator, "annotator": config.name}


def annotate(model: ChatModel, baseline: Sequence[Output], outputs: Sequence[Output], config: AnnotatorConfig,
             distribution: bool = False) -> list[dict[str, Any]]:
    """One annotation record per baseline instruction, in the evaluation set's order (AlpacaEval's layout)."""
    by_instruction = {o.instruction: o for o in outputs}
    missing = [b.instruction for b in baseline if b.instruction not in by_instruction]
    if missing:
        raise InputError(f"model outputs of {outputs[0].generator if outputs else '?'}",
                         f"{len(missing)} of the {len(baseline)} instructions have no output, e.g. {missing[0][:60]!r}")
    records, requests, asked = [], [], []
    for i, base in enumerate(baseline):
        out = by_instruction[base.instruction]
        records.append(_record(base, out, config))
        if base.output == out.output:
            records[-1]["preference"] = 1.5
            continue
        first, second = (out.output, base.output) if is_switched(base.instruction) else (base.output, out.output)
        requests.append(request(config, prompt_messages(config.template, base.instruction, first, second),
                                distribution))
        asked.append(i)
        records[-1].update(is_switched_outputs=is_switched(base.instruction), preference=None,
                           error="the judge returned no result")
    for j, result in model.stream(requests):
        rec = records[asked[j]]
        del rec["error"]
        if not result.ok:
            rec.update(preference=None, error=result.error)
            continue
        try:
            shown, raw = read_preference(config, result, distribution)
        except ValueError as exc:
            rec.update(preference=None, error=str(exc), raw_completion={"text": result.text})
            continue
        rec.update(preference=3.0 - shown if rec["is_switched_outputs"] else shown, raw_completion=raw)
    return records
