"""The two leaderboards as `download` lays them out (from a mirror, sha256 checked): AlpacaEval's released
annotations give its published rows through show_result, and an Arena-Hard folder is found by gen_judgment,
which refuses in one line while upstream's judge table (its system prompts) is absent, and judges by the
bench's own configuration once it is there; `--bench-name arena_hard_v2` answers, judges and shows."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fakeapi import FakeAPI, use_keys
from llm_judge import cli
from llm_judge.benches.cache import cache_dir
from llm_judge.benches.registry import load_registry
from llm_judge.cli import download, gen_judgment, gen_model_answer, show_result
from llm_judge.leaderboards.arena_judging import JUDGE_TABLE_URL, load_settings


def test_downloaded_alpaca_eval_prints_the_published_rows(tmp_path, published_data, capsys):
    published_data("alpaca_eval", "results")  # the download cache (a mirror) holds the files
    assert download.main(["alpaca_eval", "--with-answers", "--with-judgments", "--mirror", str(cache_dir()),
                          "--data-dir", str(tmp_path / "data")]) == 0
    capsys.readouterr()
    results = tmp_path / "data" / "alpaca_eval" / "results"
    assert show_result.main(["--input-file", str(results), "--format", "json", "--digits", "4"]) == 0
    out = capsys.readouterr()
    (table,) = json.loads(out.out)
    rows = {r["model"]: r for r in table["rows"]}
    assert rows["alpaca-7b"]["win_rate"] == pytest.approx(2.591450540223603, abs=1e-4)
    assert rows["claude-2.1"]["n_wins"] == 115 and rows["gpt-3.5-turbo-1106"]["n_draws"] == 4
    assert rows["alpaca-7b"]["length_controlled_winrate"] is None
    assert table["note"].startswith("length-controlled win rate needs instruction_difficulty.csv and df_gamed.csv")


KEY = "sk-test-arena-v2"
# Our own judge table for the test (upstream's judge_utils.py is fetched by download, never shipped).
JUDGE_TABLE = """
PROMPT = "Judge answer A against answer B and end with one label such as [[A>B]]."
JUDGE_SETTINGS = {"hard_prompt": {"baseline": "o3-mini-2025-01-31", "system_prompt": PROMPT},
                  "creative_writing": {"baseline": "gemini-2.0-flash-001", "system_prompt": PROMPT}}
"""


def arena_mirror(tmp_path: Path, published_data) -> Path:
    """A mirror folder with the Arena-Hard files of ours, which lacks upstream's utils/judge_utils.py."""
    root = tmp_path / "mirror"
    for name in ("arena_hard_v0.1", "arena_hard_v2"):
        for f in load_registry(name).files:
            if not f.upstream_only:
                (root / f.mirror).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(published_data(f.mirror), root / f.mirror)
    return root


def test_arena_hard_entries_pin_upstreams_judge_table():
    for name in ("arena_hard_v0.1", "arena_hard_v2"):
        entry = load_registry(name)
        (table,) = [f for f in entry.files if f.upstream_only]
        assert entry.upstream_url(table) == JUDGE_TABLE_URL and table.dest == "utils/judge_utils.py"
        assert (table.size, table.sha256) == (3957, "cbb093f4fc27408d8447e946392f26f98538b1e3950f574aca91a0f7595167b4")
        assert entry.mirror_folder == "arena_hard" and all(f.mirror.startswith("arena_hard/") for f in entry.files)


def test_downloaded_arena_hard_v01_finds_its_own_judge_configuration(tmp_path, published_data, capsys):
    data = tmp_path / "data"
    assert download.main(["arena_hard_v0.1", "--with-answers", "--mirror", str(arena_mirror(tmp_path, published_data)),
                          "--data-dir", str(data)]) == 0
    folder = data / "arena_hard_v0.1"
    assert sorted(p.name for p in (folder / "model_answer").iterdir()) == [
        "gpt-3.5-turbo-0125.jsonl", "gpt-4-0314.jsonl", "gpt-4-0613.jsonl"]
    assert (folder / "arena_hard_leaderboard_20240731.csv").is_file()
    (folder / "utils").mkdir()
    (folder / "utils" / "judge_utils.py").write_text(JUDGE_TABLE.replace("hard_prompt", "arena-hard-v0.1"))
    settings = load_settings(folder)  # config/arena-hard-v0.1.yaml, beside api_config.yaml
    assert (settings.judge, settings.max_tokens) == ("gpt-4-1106-preview", 4096)
    assert settings.categories["arena-hard-v0.1"][0] == "o3-mini-2025-01-31"


def judge_reply(body: dict, text: str) -> str:
    """The answer holding "# Plan" (the mock model's) wins strongly, in either position."""
    user = body["messages"][-1]["content"]
    mine_is_a = user.index("# Plan") < user.index("<|The Start of Assistant B's Answer|>")
    return "My final verdict: [[A>>B]]" if mine_is_a else "My final verdict: [[B>>A]]"


def test_arena_hard_v2_answered_judged_and_shown_under_its_name(tmp_path, published_data, monkeypatch, capsys):
    data = tmp_path / "data"
    code = cli.run(download.main, ["arena_hard_v2", "--mirror", str(arena_mirror(tmp_path, published_data)),
                                   "--data-dir", str(data)])
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert code == 0 and len(notes) == 1 and JUDGE_TABLE_URL in notes[0]
    script = tmp_path / "mock.jsonl"
    script.write_text(json.dumps({"reply": "# Plan\n- step one\n- step **two**"}) + "\n")
    assert gen_model_answer.main(["--data-dir", str(data), "--bench-name", "arena_hard_v2", "--question-end", "2",
                                  "--model-path", f"mock:{script}", "--model-id", "mine"]) == 0
    capsys.readouterr()
    use_keys(monkeypatch, KEY)
    judge = ["--data-dir", str(data), "--bench-name", "arena_hard_v2", "--judge-model", "gpt-4.1", "--model-list",
             "mine", "--first-n", "2"]
    with FakeAPI(api_key=KEY, reply=judge_reply) as server:
        code = cli.run(gen_judgment.main, [*judge, "--api-base", server.openai_base])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and "utils/judge_utils.py" in err and JUDGE_TABLE_URL in err
        assert server.stats.bodies == []
        (data / "arena_hard_v2" / "utils").mkdir()
        (data / "arena_hard_v2" / "utils" / "judge_utils.py").write_text(JUDGE_TABLE)
        assert gen_judgment.main([*judge, "--api-base", server.openai_base]) == 0
        bodies = list(server.stats.bodies)
    assert len(bodies) == 4 and all(b["max_tokens"] == 16000 for b in bodies)  # config/arena-hard-v2.0.yaml's
    assert all(b["messages"][0]["content"].startswith("Judge answer A against answer B") for b in bodies)
    capsys.readouterr()
    assert show_result.main(["--data-dir", str(data), "--bench-name", "arena_hard_v2", "--format", "json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    row = next(r for r in tables[-1]["rows"] if r["model"] == "mine")
    assert row["score"] == 100.0  # both games of both questions won strongly
