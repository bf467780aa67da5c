"""A model config's prompt_template (ja-vicuna-qa-benchmark) as a chat template: for each prompt format we
ship, a config file in upstream's field names renders the same prompts as ``--with-prompt``, turn 1 and
turn 2, through the engines' own tokenizer path on the default model's tokenizer."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_judge.answering.model_config import load_model_config, replace_tokens
from llm_judge.engines.base import GenRequest
from llm_judge.engines.chat_templates import load_template, template_from_prompt, template_pieces
from llm_judge.engines.config import HFOptions
from llm_judge.engines.hf import load_tokenizer, render_chat

VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
                 "helpful, detailed, and polite answers to the user's questions.")

# prompt_template as upstream writes it; turn_template/answer_template (ours) describe later turns.
CONFIGS: dict[str, dict[str, str]] = {
    "alpaca": {
        "prompt_template": "{bos_token}Below is an instruction that describes a task. Write a response that "
                           "appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n",
        "turn_template": "### Instruction:\n{instruction}\n\n### Response:\n", "answer_template": "{answer}\n\n"},
    "alpaca_jp": {
        "prompt_template": "{bos_token}以下にあるタスクの指示を示します。"
                           "示された指示に適切に従うように回答を埋めてください。"
                           "### 指示：\n\n{instruction}\n\n### 回答：\n\n",
        "turn_template": "### 指示：\n\n{instruction}\n\n### 回答：\n\n", "answer_template": "{answer}\n\n"},
    # upstream's own configs/rinna--japanese-gpt-neox-3.6b-instruction-ppo.json fields, nothing of ours
    "rinna": {"prompt_template": "ユーザー: {instruction}<NL>システム: ", "special_token_map": {"<NL>": "\n"}},
    "llm-jp": {
        "prompt_template": "{bos_token}以下は、タスクを説明する指示です。要求を適切に満たす応答を書きなさい。"
                           "\n\n### 指示:\n{instruction}\n\n### 応答:\n",
        "turn_template": "\n\n### 指示:\n{instruction}\n\n### 応答:\n", "answer_template": "{answer}{eos_token}"},
    # upstream's configs/llm-jp--llm-jp-13b-instruct-full-jaster-dolly-oasst-v1.0.json prompt
    "llm_jp_v1": {"prompt_template": "{instruction} ### 回答：", "answer_template": "{answer}{eos_token}"},
    "vicuna": {
        "prompt_template": "{bos_token}" + VICUNA_SYSTEM + " USER: {instruction} ASSISTANT:",
        "turn_template": "USER: {instruction} ASSISTANT:", "answer_template": " {answer}</s>"},
}
TURNS = [{"role": "user", "content": "一行目\n二行目"}, {"role": "assistant", "content": "はい\nどうぞ"},
         {"role": "user", "content": "続けて"}]


@pytest.fixture(scope="module")
def tok(default_model_path):
    """The default model's tokenizer as the engines load it (load_tokenizer); prompt() sets its template
    as load_tokenizer does for a chat_template option."""
    return load_tokenizer(default_model_path, HFOptions())


def write_config(tmp_path: Path, fields: dict) -> Path:
    path = tmp_path / "model.json"
    body = {"model_id": "m", "model_name_or_path": "default", "lora_model_name_or_path": None,
            "tokenizer_name_or_path": None, "generation_config": {"do_sample": True, "max_length": 2048},
            "special_token_map": {}}
    path.write_text(json.dumps({**body, **fields}, ensure_ascii=False), encoding="utf-8")
    return path


def prompt(tok, template: str, messages: list[dict[str, str]]) -> str:
    """The prompt text exactly as the transformers and vLLM engines build it."""
    tok.chat_template = template
    return render_chat(tok, GenRequest(messages=messages), "m")


def test_every_shipped_format_has_a_config():
    from llm_judge.engines.chat_templates import available_templates

    assert {name.replace("-", "_") for name in CONFIGS} == set(available_templates())


@pytest.mark.model
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_renders_like_with_prompt(tmp_path, tok, name):
    template = load_model_config(write_config(tmp_path, CONFIGS[name])).chat_template()
    ours = load_template(name)
    for messages in (TURNS[:1], TURNS):
        assert prompt(tok, template, messages) == prompt(tok, ours, messages), (name, len(messages))
    # The token ids the engines feed the model are then the same too.
    assert tok(prompt(tok, template, TURNS), add_special_tokens=False)["input_ids"] == \
        tok(prompt(tok, ours, TURNS), add_special_tokens=False)["input_ids"]


@pytest.mark.model
def test_turn_one_is_upstreams_format_map(tok):
    # ja-vicuna-qa-benchmark: prompt_template.format_map({"instruction": ...}); {{ }} are literal braces.
    text = "Q: {instruction} {{json}} 'quoted' \\ back\tslash\nA:"
    template = template_from_prompt(text)
    assert prompt(tok, template, TURNS[:1]) == text.format_map({"instruction": TURNS[0]["content"]})
    # Without turn/answer templates a later turn repeats prompt_template after the answer and a newline.
    assert prompt(tok, template, TURNS) == (text.format_map({"instruction": TURNS[0]["content"]})
                                                    + "はい\nどうぞ\n" + text.format_map({"instruction": "続けて"}))


@pytest.mark.model
def test_special_token_map_both_ways(tok):
    # Answers: the map applied in the file's order. Prompts: undone, so the model sees its own spelling.
    mapping = {"<NL>": "\n", "<TAB>": "\t", "<DEL>": ""}
    assert replace_tokens("a<NL>b<TAB>c<DEL>d", mapping) == "a\nb\tc" + "d"
    template = template_from_prompt("U: {instruction}<NL>S: ", token_map=mapping)
    messages = [{"role": "user", "content": "x\r\ny\tz"}]
    assert prompt(tok, template, messages) == "U: x<NL>y<TAB>z<NL>S: "


@pytest.mark.parametrize("text, slot, message", [
    ("no slot here", "instruction", "must contain {instruction}"),
    ("{instruction} {input}", "instruction", "unknown field {input}"),
    ("{instruction!r}", "instruction", "unknown field"),
    ("{instruction} {", "instruction", "literal brace"),
    ("{bos_token}A", "answer", "must contain {answer}"),
    ("{instruction}", "answer", "unknown field {instruction}"),
])
def test_bad_templates_are_refused(text, slot, message):
    with pytest.raises(ValueError, match=message):
        template_pieces(text, slot)
