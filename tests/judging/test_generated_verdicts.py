"""The generated-verdict path (--judge-method generate) on the real default model: the verdicts it writes
must parse into scores.

What SmolLM2-135M-Instruct writes, measured on the demo bench's first answers (greedy):
- with our prompts (judge_en.jsonl, "explain, then Rating: [[X]]") it answers the question itself or
  echoes the prompt; 0 of 12 judgments held a rating at 48 new tokens. A plain instruction ("reply only
  with Rating: [[X]]") in its chat template: 0 of 8; with an example in the instruction: 1 of 8.
- as a raw completion (a family wrapper "{prompt}" instead of the chat template) after three worked
  examples ending "Rating: [[N]]", it continues with "[[N]]": 8 of 8 at 12 new tokens.
So the test judges with that few-shot family, and asserts a bound under what it measured through
gen_judgment (answers of 32 tokens, 12 judge tokens): 8 of 8 judgments parsed, 7 as "[[1]]" and one as
"[10]" (FastChat's single-bracket fallback). The scores carry no meaning (the 135M copies the pattern,
it does not judge); the test is about the path from generated text to a parsed score.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_judge.cli import gen_judgment, gen_model_answer
from llm_judge.jsonl import dumps, read_jsonl

pytestmark = pytest.mark.model

SHOTS = ("Question: What is 2 + 2?\nAnswer: 2 + 2 = 4.\nRating: [[10]]\n\n"
         "Question: Name a primary colour.\nAnswer: I like turtles.\nRating: [[1]]\n\n"
         "Question: Write a haiku about rain.\nAnswer: Rain taps on the roof, soft and slow.\nRating: [[6]]\n\n")
FIRST_N = 6  # questions 1-6: 8 judgments (questions 2 and 5 have a second turn)
MIN_PARSED = 7  # measured 8 of 8 (one judgment of slack for another CPU's float rounding)
MIN_DOUBLE_BRACKET = 6  # measured 7 of 8 written exactly as [[N]]


def few_shot_family(folder: Path) -> Path:
    """A judge family for a tiny model: worked examples, then the answer, as text to continue."""
    prompts = [
        {"name": "fewshot", "type": "single", "system_prompt": "", "output_format": "[[rating]]",
         "prompt_template": SHOTS + "Question: {question}\nAnswer: {answer}\nRating:"},
        # a second turn is rated on its own: the examples are single questions
        {"name": "fewshot-turn-2", "type": "single", "system_prompt": "", "output_format": "[[rating]]",
         "prompt_template": SHOTS + "Question: {question_2}\nAnswer: {answer_2}\nRating:"},
    ]
    (folder / "fewshot.jsonl").write_text("".join(dumps(p) + "\n" for p in prompts), encoding="utf-8")
    family = {"name": "fewshot", "modes": ["single"], "prompts": "fewshot.jsonl", "wrapper": "{prompt}",
              "roles": {"single": "fewshot", "single-math": "fewshot",
                        "single-multi-turn": "fewshot-turn-2", "single-math-multi-turn": "fewshot-turn-2"},
              "generation": {"temperature": 0.0}}
    path = folder / "fewshot.json"
    path.write_text(json.dumps(family), encoding="utf-8")
    return path


def test_generated_verdicts_parse(data_dir: Path, tmp_path: Path, default_model_path):
    data = ["--data-dir", str(data_dir)]
    assert gen_model_answer.main(data + ["--model-path", "default", "--question-end", str(FIRST_N),
                                         "--max-new-token", "32", "--temperature", "0"]) == 0
    code = gen_judgment.main(data + ["--judge-model", "default", "--judge-family", str(few_shot_family(tmp_path)),
                                     "--judge-method", "generate", "--judge-max-new-token", "12",
                                     "--first-n", str(FIRST_N)])
    rows = read_jsonl(data_dir / "demo_bench" / "model_judgment" / "smollm2-135m-instruct_fewshot_single.jsonl")
    assert len(rows) == 8
    parsed = [r for r in rows if r.get("score") is not None and not r.get("error")]
    assert len(parsed) >= MIN_PARSED, [r.get("judgment") or r.get("error") for r in rows]
    for r in parsed:  # the score is the rating the model wrote, and the raw text is kept
        assert 1 <= r["score"] <= 10 and f"[{int(r['score'])}]" in r["judgment"]
    assert sum(r["judgment"].startswith(f"[[{int(r['score'])}]]") for r in parsed) >= MIN_DOUBLE_BRACKET
    assert code == (0 if len(parsed) == len(rows) else 1)
