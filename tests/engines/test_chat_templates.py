"""Prompt formats (--with-prompt, --conv-template): each renders its published format, through the real
tokenizer's chat-template machinery, and the engines honour a format's newline marker."""
from __future__ import annotations

import json
import sys

import pytest

from llm_judge.cli import gen_model_answer
from llm_judge.errors import ConfigError
from llm_judge.engines.hf import clean_answer
from llm_judge.engines.chat_templates import available_templates, chat_template_for, load_template, newline_marker

Q = "日本の首都はどこですか？"
VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
                 "helpful, detailed, and polite answers to the user's questions.")


@pytest.fixture(scope="module")
def tok(default_model_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(default_model_path)


def render(tok, template: str, messages: list[dict[str, str]], generation: bool = True) -> str:
    saved = tok.chat_template
    tok.chat_template = template
    try:
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
    finally:
        tok.chat_template = saved


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_every_template_is_listed():
    assert {"alpaca", "alpaca_jp", "rinna", "llm_jp", "llm_jp_v1", "vicuna"} <= set(available_templates())


@pytest.mark.parametrize("name, expected", [
    # Stanford Alpaca (no-input prompt), with alpaca-lora's newline after "### Response:".
    ("alpaca", "{bos}Below is an instruction that describes a task. Write a response that appropriately completes "
               "the request.\n\n### Instruction:\n{q}\n\n### Response:\n"),
    # The Japanese MT-Bench fork's alpaca_jp string, character for character (full-width colons).
    ("alpaca_jp", "{bos}以下にあるタスクの指示を示します。示された指示に適切に従うように回答を埋めてください。"
                  "### 指示：\n\n{q}\n\n### 回答：\n\n"),
    # rinna japanese-gpt-neox instruction models: no special tokens, "<NL>" joins utterances.
    ("rinna", "ユーザー: {q}<NL>システム: "),
    # llm-jp v1.1+ instruction models.
    ("llm-jp", "{bos}以下は、タスクを説明する指示です。要求を適切に満たす応答を書きなさい。\n\n### 指示:\n{q}\n\n### 応答:\n"),
    ("llm_jp_v1", "{q} ### 回答："),
    # FastChat's vicuna_v1.1.
    ("vicuna", "{bos}" + VICUNA_SYSTEM + " USER: {q} ASSISTANT:"),
])
@pytest.mark.model
def test_single_turn_renders_published_format(tok, name, expected):
    assert render(tok, load_template(name), user(Q)) == expected.format(bos=tok.bos_token, q=Q)


@pytest.mark.model
def test_rinna_multi_turn_writes_newlines_as_NL(tok):
    messages = [{"role": "user", "content": "一行目\n二行目"}, {"role": "assistant", "content": "はい\r\nどうぞ"},
                {"role": "user", "content": "続けて"}]
    assert render(tok, load_template("rinna"), messages) == (
        "ユーザー: 一行目<NL>二行目<NL>システム: はい<NL>どうぞ<NL>ユーザー: 続けて<NL>システム: ")
    assert newline_marker(load_template("rinna")) == "<NL>"
    assert newline_marker(load_template("alpaca")) is None
    # What the engines store: the model's "<NL>" back to newlines.
    assert clean_answer(" 東京です。<NL>以上です。<NL>", "<NL>") == "東京です。\n以上です。"
    assert clean_answer(" a<NL>b ", None) == "a<NL>b"


@pytest.mark.model
def test_second_turn_and_system_message(tok):
    messages = [{"role": "system", "content": "簡潔に答えてください。"}, {"role": "user", "content": "Q1"},
                {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]
    bos, eos = tok.bos_token, tok.eos_token
    assert render(tok, load_template("alpaca_jp"), messages) == (
        f"{bos}簡潔に答えてください。### 指示：\n\nQ1\n\n### 回答：\n\nA1\n\n### 指示：\n\nQ2\n\n### 回答：\n\n")
    assert render(tok, load_template("llm_jp"), messages) == (
        f"{bos}簡潔に答えてください。\n\n### 指示:\nQ1\n\n### 応答:\nA1{eos}\n\n### 指示:\nQ2\n\n### 応答:\n")
    assert render(tok, load_template("vicuna"), messages) == f"{bos}簡潔に答えてください。 USER: Q1 ASSISTANT: A1</s>USER: Q2 ASSISTANT:"
    assert render(tok, load_template("llm_jp_v1"), messages[1:]) == f"Q1 ### 回答：A1{eos}Q2 ### 回答："


def test_template_choice_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown prompt template 'nope'.*alpaca"):
        load_template("nope")
    with pytest.raises(ConfigError, match="not both"):
        chat_template_for("alpaca", "vicuna_v1.1")
    own = tmp_path / "mine.jinja"
    own.write_text("{{ messages[0]['content'] }}!", encoding="utf-8")
    assert load_template(str(own)) == "{{ messages[0]['content'] }}!"


@pytest.mark.model
def test_conv_template_matches_fastchat(tok):
    conversation = pytest.importorskip("fastchat.conversation")
    from llm_judge.engines.fastchat_conv import chat_template_from_fastchat

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q1\nline"},
                {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]
    for name in ("vicuna_v1.1", "llama-2", "qwen-7b-chat", "zero_shot"):
        conv = conversation.get_conv_template(name)
        conv.set_system_message("Be brief.")
        for m in messages[1:]:
            conv.append_message(conv.roles[0 if m["role"] == "user" else 1], m["content"])
        conv.append_message(conv.roles[1], None)
        assert render(tok, chat_template_from_fastchat(name), messages) == conv.get_prompt(), name
    # Without a system message FastChat's default one is used, as --with-prompt vicuna does.
    assert render(tok, chat_template_from_fastchat("vicuna_v1.1"), user(Q)) == \
        render(tok, load_template("vicuna"), user(Q))[len(tok.bos_token):]
    with pytest.raises(ConfigError, match="unknown FastChat conversation template"):
        chat_template_from_fastchat("no-such-template")
    with pytest.raises(ConfigError, match="no text prompt format"):
        chat_template_from_fastchat("chatgpt")


def test_conv_template_without_fschat_is_a_clear_error(monkeypatch):
    from llm_judge.engines.fastchat_conv import chat_template_from_fastchat

    monkeypatch.setitem(sys.modules, "fastchat", None)  # makes `import fastchat` fail as when not installed
    with pytest.raises(ConfigError, match="pip install --no-deps fschat"):
        chat_template_from_fastchat("vicuna_v1.1")


@pytest.mark.model
def test_with_prompt_end_to_end_records_the_format(data_dir):
    rc = gen_model_answer.main(["--data-dir", str(data_dir), "--question-end", "1", "--max-new-token", "4",
                                "--model-id", "smol-jp", "--with_prompt", "alpaca_jp", "--temperature", "0"])
    assert rc == 0
    [rec] = [json.loads(line) for line in (data_dir / "demo_bench" / "model_answer" / "smol-jp.jsonl").open()]
    assert rec["generation"]["prompt_format"] == "with-prompt:alpaca_jp"
    assert rec["generation"]["engine"] == "llamacpp" and rec["generation"]["max_new_tokens"] == 4
    assert all(turn for turn in rec["choices"][0]["turns"])


@pytest.mark.model
def test_an_answer_cut_inside_a_character_drops_the_broken_end(tok):
    # The default tokenizer is byte-level: a Japanese character spans several tokens, so a token budget
    # can end inside one, and decoding that prefix ends in U+FFFD.
    ids = tok("東京は日本の首都です。", add_special_tokens=False)["input_ids"]
    cut = [tok.decode(ids[:k]) for k in range(1, len(ids) + 1)]
    broken = [text for text in cut if text.endswith("\ufffd")]
    assert broken, "the tokenizer no longer splits these characters; choose another text"
    for text in broken:
        kept = clean_answer(text, None, truncated=True)
        assert "\ufffd" not in kept and "東京は日本の首都です。".startswith(kept)
        assert clean_answer(text, None) == text.strip()  # an answer that ended by itself is kept as written
