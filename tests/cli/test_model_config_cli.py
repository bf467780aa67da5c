"""``gen_model_answer --config FILE`` (ja-vicuna-qa-benchmark's model config files): flags given beside the
file win over it, a bad file is one error line naming file and field, special_token_map reaches the
answers, and the config used is stored in every answer's ``generation``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llm_judge import cli
from llm_judge.cli import gen_model_answer
from llm_judge.cli.gen_model_answer import build_parser, given_flags, merge_config

RINNA = {  # upstream's configs/rinna--japanese-gpt-neox-3.6b-instruction-ppo.json, on our default model
    "model_id": "smol-rinna", "model_name_or_path": "default", "lora_model_name_or_path": None,
    "tokenizer_name_or_path": None, "prompt_template": "ユーザー: {instruction}<NL>システム: ",
    "generation_config": {"do_sample": True, "max_length": 2048, "repetition_penalty": 1.1},
    "special_token_map": {"<NL>": "\n"},
}


def write(tmp_path: Path, config: dict | str, name: str = "model.json") -> Path:
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return path


def merged(argv: list[str]):
    parser = build_parser()
    args = parser.parse_args(argv)
    return args, merge_config(args, given_flags(parser, argv))


def test_the_file_fills_flags_left_at_their_defaults(tmp_path):
    args, mc = merged(["--config", str(write(tmp_path, RINNA))])
    assert (args.model_path, args.model_id, args.lora_model, args.tokenizer) == ("default", "smol-rinna", None, None)
    # max_length becomes the answer's budget; no temperature in the file: per category (None), as upstream.
    assert (args.max_new_token, args.temperature, args.repetition_penalty, args.top_p) == (2048, None, 1.1, 1.0)
    assert mc.to_json() == RINNA


def test_flags_given_beside_the_file_win(tmp_path):
    config = {**RINNA, "generation_config": {"do_sample": False, "max_new_tokens": 300, "top_p": 0.5,
                                             "repetition_penalty": 1.3}}
    argv = ["--config", str(write(tmp_path, config)), "--model-id", "other", "--max-new-token", "7",
            "--temperature", "0.7", "--repetition-penalty", "1.0"]  # 1.0 is the flag's default: given, so it wins
    args, mc = merged(argv)
    assert (args.model_id, args.max_new_token, args.temperature, args.repetition_penalty) == ("other", 7, 0.7, 1.0)
    assert args.top_p == 0.5  # --top-p left out: the file's value stands
    # The config as used: flags written in, do_sample dropped where --temperature decided.
    assert mc.model_id == "other"
    assert mc.generation_config == {"max_new_tokens": 7, "top_p": 0.5, "repetition_penalty": 1.0, "temperature": 0.7}
    args, _ = merged(["--config", str(write(tmp_path, config))])
    assert args.temperature == 0.0  # do_sample: false is greedy


def test_tokenizer_and_lora_fields(tmp_path):
    lora = tmp_path / "adapter"
    lora.mkdir()
    config = {**RINNA, "lora_model_name_or_path": str(lora)}
    args, _ = merged(["--config", str(write(tmp_path, config))])
    assert (args.lora_model, args.tokenizer) == (str(lora), None)  # the adapter has no tokenizer: the model's
    (lora / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    args, _ = merged(["--config", str(write(tmp_path, config))])
    assert args.tokenizer == str(lora)  # upstream: tokenizer, else the adapter's, else the model's
    args, _ = merged(["--config", str(write(tmp_path, {**config, "tokenizer_name_or_path": "tok"})),
                      "--tokenizer", "flag-tok"])
    assert args.tokenizer == "flag-tok"


@pytest.mark.parametrize("config, where", [
    ('{"model_id": "m",\n "prompt_template": "{instruction}",,}', ":2: not valid JSON"),
    ({**RINNA, "prompt_template": "ユーザー: <NL>システム: "}, "field 'prompt_template': must contain {instruction}"),
    ({**RINNA, "prompt_template": "{instruction} {input}"}, "field 'prompt_template': unknown field {input}"),
    ({k: v for k, v in RINNA.items() if k != "prompt_template"}, "field 'prompt_template': missing"),
    ({**RINNA, "generation_config": {"top_k": 50}}, "field 'generation_config.top_k': not supported"),
    ({**RINNA, "generation_config": {"temperature": "hot"}}, "field 'generation_config.temperature': must be"),
    ({**RINNA, "generation_config": {"do_sample": 1}}, "field 'generation_config.do_sample': must be bool"),
    ({**RINNA, "special_token_map": ["<NL>"]}, "field 'special_token_map': must be an object"),
    ({**RINNA, "prompt_tempalte": "x"}, "field 'prompt_tempalte': unknown field"),
    ({**RINNA, "model_id": "../x"}, "field 'model_id': '../x' is not a plain file name"),
    ({**RINNA, "model_name_or_path": None}, "field 'model_name_or_path': is null"),
])
@pytest.mark.model
def test_a_bad_config_is_one_error_line(tmp_path, data_dir, capsys, config, where):
    path = write(tmp_path, config)
    rc = cli.run(gen_model_answer.main, ["--config", str(path), "--data-dir", str(data_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith(f"error: {path}") and where in err[-1], err
    assert not (data_dir / "demo_bench" / "model_answer").exists()


@pytest.mark.model
def test_special_token_map_reaches_answers_and_turn_two(tmp_path, data_dir):
    # The mock model writes newlines as "<NL>"; answers store "\n", and turn 2's conversation holds the
    # stored answer (the mock sees message texts; the chat template would turn "\n" back into "<NL>").
    rules = tmp_path / "rules.jsonl"
    rules.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"match": "S: 一\n二", "reply": "second<NL>turn"},
        {"reply": "S: 一<NL>二"}]), encoding="utf-8")
    config = write(tmp_path, {**RINNA, "model_id": "mocked", "model_name_or_path": f"mock:{rules}"})
    rc = gen_model_answer.main(["--config", str(config), "--data-dir", str(data_dir), "--question-begin", "1",
                                "--question-end", "2"])
    assert rc == 0
    [rec] = [json.loads(line) for line in (data_dir / "demo_bench" / "model_answer" / "mocked.jsonl").open()]
    assert rec["choices"][0]["turns"] == ["S: 一\n二", "second\nturn"]
    assert rec["generation"]["model_config"] == {**RINNA, "model_id": "mocked", "model_name_or_path": f"mock:{rules}"}


@pytest.mark.model
def test_end_to_end_on_the_default_model(tmp_path, data_dir, default_model_path):
    # A tokenizer of its own (a copy of the model's, marked) is the one the engine loads.
    tok_dir = tmp_path / "tokenizer"
    tok_dir.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(Path(default_model_path) / name, tok_dir / name)
    settings = json.loads((tok_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    (tok_dir / "tokenizer_config.json").write_text(json.dumps({**settings, "model_max_length": 1234}), encoding="utf-8")
    from llm_judge.engines.config import HFOptions
    from llm_judge.engines.hf import load_tokenizer

    assert load_tokenizer(default_model_path, HFOptions(tokenizer_path=str(tok_dir))).model_max_length == 1234
    config = {**RINNA, "tokenizer_name_or_path": str(tok_dir),
              "generation_config": {"do_sample": False, "max_new_tokens": 4, "repetition_penalty": 1.1}}
    path = write(tmp_path, config)
    # The transformers engine: it loads a tokenizer of its own (llama.cpp reads the GGUF's and refuses one).
    rc = gen_model_answer.main(["--config", str(path), "--data-dir", str(data_dir), "--question-end", "2",
                                "--max-new-token", "3", "--engine", "hf"])
    assert rc == 0
    recs = [json.loads(line) for line in (data_dir / "demo_bench" / "model_answer" / "smol-rinna.jsonl").open()]
    assert [len(r["choices"][0]["turns"]) for r in recs] == [1, 2] and all("error" not in r for r in recs)
    gen = recs[1]["generation"]
    assert gen["model_config"] == {**config, "generation_config": {"max_new_tokens": 3, "do_sample": False,
                                                                   "repetition_penalty": 1.1}}
    assert (gen["prompt_format"], gen["tokenizer_path"]) == (f"config:{path}", str(tok_dir))
    assert (gen["max_new_tokens"], gen["temperature"], gen["repetition_penalty"]) == (3, 0.0, 1.1)
    assert not any("<NL>" in turn for r in recs for turn in r["choices"][0]["turns"])
