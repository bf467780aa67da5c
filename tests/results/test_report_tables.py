"""show_result's tables against values counted by hand: per category, position consistency, benches side by side."""
import json
from pathlib import Path

import pytest

from llm_judge.cli import gen_judgment, show_result
from llm_judge.errors import ConfigError
from llm_judge.records import read_judgments
from llm_judge.results.position import by_pair

JP = ("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
SFT, PPO, BASE = "rinna-3.6b-sft-v2", "rinna-3.6b-ppo", "rinna-3.6b"


def run_json(capsys, argv: list[str]) -> dict[str, dict]:
    assert show_result.main(argv + ["--format", "json"]) == 0
    return {t["title"]: t for t in json.loads(capsys.readouterr().out)}


def test_position_consistency_by_hand(published_data):
    per_pair = by_pair(read_judgments(published_data(*JP)))
    # (consistent, first position won both orders, second position won both, a tie in one order), counted
    # from (g1_winner, g2_winner); sft-v2 vs ppo: 29 (model_2, model_2) + 19 (model_1, model_1) + 13 (tie, tie)
    # consistent; 1 (model_1, model_2) = A won twice; 5 (model_2, model_1) = B won twice; 6 + 4 + 2 + 1 one tie.
    got = {pair: (c.agree, c.first_both, c.second_both, c.one_tie) for pair, c in per_pair.items()}
    assert got == {(SFT, PPO): (61, 1, 5, 13), (BASE, PPO): (66, 2, 1, 11), (BASE, SFT): (65, 1, 1, 13)}


def test_consistency_table_in_show_result(published_data, capsys):
    tables = run_json(capsys, ["--input-file", str(published_data(*JP)), "--mode", "pairwise-all"])
    rows = tables["pairwise: position consistency (%)"]["rows"]
    assert rows[-1] == {"model_1": "all", "model_2": "", "n": 240, "consistent": pytest.approx(80.0),
                        "first_wins_both": pytest.approx(100 * 4 / 240), "second_wins_both": pytest.approx(100 * 7 / 240),
                        "one_order_tie": pytest.approx(100 * 37 / 240)}
    assert rows[0]["consistent"] == pytest.approx(76.25)


def _bench(root: Path, name: str, published_data, records: list[dict]) -> None:
    """A bench folder holding jp_bench's questions and the given judgments as model_judgment/gpt-4_pair.jsonl."""
    folder = root / name
    (folder / "model_judgment").mkdir(parents=True)
    (folder / "question.jsonl").symlink_to(published_data("jp_bench", "question.jsonl"))
    with open(folder / "model_judgment" / "gpt-4_pair.jsonl", "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def test_benches_side_by_side(published_data, tmp_path, capsys):
    from llm_judge.jsonl import read_jsonl

    records = read_jsonl(published_data(*JP))
    _bench(tmp_path, "jp_all", published_data, records)
    _bench(tmp_path, "jp_sft_ppo", published_data, [r for r in records if (r["model_1"], r["model_2"]) == (SFT, PPO)])
    tables = run_json(capsys, ["--data-dir", str(tmp_path), "--bench-name", "jp_all", "jp_sft_ppo",
                               "--mode", "pairwise-all", "--plot", str(tmp_path / "win.png")])
    assert (tmp_path / "win_jp_all.png").stat().st_size > 0 and (tmp_path / "win_jp_sft_ppo.png").stat().st_size > 0
    across = {r["model"]: r for r in tables["across benches"]["rows"]}
    # win_rate_adjusted = (win + tie / 2) / games; ppo: 81 wins, 55 ties in 160 games; in the one pair
    # sft-v2 vs ppo: ppo 29 wins, 32 ties, sft-v2 19 wins, of 80.
    assert across[PPO]["jp_all win_rate_adjusted"] == pytest.approx((81 + 55 / 2) / 160)
    assert across[PPO]["jp_sft_ppo win_rate_adjusted"] == pytest.approx((29 + 16) / 80)
    assert across[SFT]["jp_sft_ppo win_rate_adjusted"] == pytest.approx((19 + 16) / 80)
    assert across[BASE]["jp_sft_ppo win_rate_adjusted"] is None
    assert "jp_sft_ppo: pairwise: per pair (model_1 vs model_2, %)" in tables
    pairs = tables["jp_sft_ppo: pairwise: per pair (model_1 vs model_2, %)"]["rows"]
    assert [(r["win"], r["tie"], r["loss"]) for r in pairs] == [(23.75, 40.0, 36.25)]


def test_one_bench_keeps_plain_titles_and_alias(published_data, tmp_path, capsys):
    from llm_judge.jsonl import read_jsonl

    _bench(tmp_path, "jp", published_data, read_jsonl(published_data(*JP)))
    tables = run_json(capsys, ["--data-dir", str(tmp_path), "--benchmark", "jp", "--mode", "pairwise-all"])
    assert list(tables)[:2] == ["pairwise: per model", "pairwise: per pair (model_1 vs model_2, %)"]
    # the generating CLIs still take exactly one bench
    assert gen_judgment.build_parser().parse_args(["--bench-name", "jp"]).bench_name == "jp"


def test_single_per_turn_and_category_by_hand(data_dir, capsys):
    # FastChat single records carry no category: it comes from the bench's question.jsonl.
    # demo_bench: q1 writing, q3 roleplay, q6 math, q13 writing (Japanese), q2 writing with two turns.
    scores = [(1, 1, 8), (2, 1, 6), (2, 2, 3), (3, 1, 7), (6, 1, 2), (13, 1, 9)]
    recs = [{"question_id": q, "model": "m", "judge": ["gpt-4", "single-v1"], "score": s, "turn": t}
            for q, t, s in scores]
    recs.append({"question_id": 6, "model": "m", "judge": ["gpt-4", "single-v1"], "score": None, "turn": 2,
                 "error": "timeout"})
    out = data_dir / "demo_bench" / "model_judgment"
    out.mkdir()
    (out / "gpt-4_single.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    tables = run_json(capsys, ["--data-dir", str(data_dir), "--mode", "single"])
    main = tables["single: mean score (1-10)"]["rows"][0]
    assert (main["turn 1"], main["turn 2"], main["score"], main["n"], main["failed"]) == \
        (pytest.approx(32 / 5), 3.0, pytest.approx(35 / 6), 6, 1)
    per_cat = tables["single: mean score per category"]
    assert per_cat["columns"] == ["model", "writing", "roleplay", "math"]  # the bench's order
    assert per_cat["rows"][0] == {"model": "m", "writing": pytest.approx((8 + 6 + 3 + 9) / 4), "roleplay": 7.0,
                                  "math": 2.0}
    with pytest.raises(ConfigError, match="--ratings needs pairwise judgments"):
        show_result.main(["--data-dir", str(data_dir), "--mode", "single", "--ratings"])
