"""show_result --failed-games drop|tie on the published jp_bench judgments (FastChat's rule vs the Japanese forks').

The published file has no "error" verdict (240 games, all judged), so the tests write a copy with four games
of the pair rinna-3.6b-sft-v2 (model_1) vs rinna-3.6b-ppo (model_2) changed; that pair's published tallies are
19 wins, 32 ties, 29 losses of sft-v2 (the seed figure: 23.75 / 40 / 36.25 % of 80).
  line 1  (q24, model_1/model_1, an sft-v2 win):  g2 -> "error"
  line 3  (q25, model_2/model_2, a ppo win):      g1 -> "error"
  line 9  (q65, tie/tie):                         both orders -> "error"
  line 10 (q51, model_2/model_2, a ppo win):      our own failure: an error field, null winners
"""
import json

import pytest

from llm_judge.cli import show_result
from llm_judge.errors import ConfigError
from llm_judge.records import read_judgments
from llm_judge.results.aggregate import error_games, game_winner, pair_tallies, pairwise_tallies
from llm_judge.results.position import by_judge

SFT, PPO, BASE = "rinna-3.6b-sft-v2", "rinna-3.6b-ppo", "rinna-3.6b"
PUBLISHED = {(SFT, PPO): (19, 32, 29), (BASE, PPO): (5, 23, 52), (BASE, SFT): (8, 24, 48)}  # win, tie, loss


def published(published_data):
    return published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")


@pytest.fixture
def with_errors(published_data, tmp_path):
    lines = published(published_data).read_text(encoding="utf-8").splitlines()
    recs = [json.loads(line) for line in lines]
    expected = {1: (24, "model_1", "model_1"), 3: (25, "model_2", "model_2"), 9: (65, "tie", "tie"),
                10: (51, "model_2", "model_2")}
    for line, (qid, g1, g2) in expected.items():  # the games are the ones the docstring describes
        r = recs[line - 1]
        assert (r["question_id"], r["model_1"], r["model_2"], r["g1_winner"], r["g2_winner"]) == (qid, SFT, PPO, g1, g2)
    recs[0]["g2_winner"] = "error"
    recs[2]["g1_winner"] = "error"
    recs[8]["g1_winner"] = recs[8]["g2_winner"] = "error"
    recs[9].update(g1_winner=None, g2_winner=None, error="APITimeoutError: timed out")
    path = tmp_path / "gpt-4_pair.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return path


def run(capsys, path, *flags):
    assert show_result.main(["--input-file", str(path), "--mode", "pairwise-all", "--format", "json", *flags]) == 0
    return {t["title"]: t for t in json.loads(capsys.readouterr().out)}


def per_pair(tables):
    rows = tables["pairwise: per pair (model_1 vs model_2, %)"]["rows"]
    return {(r["model_1"], r["model_2"]): (round(r["win"] * r["n"] / 100), round(r["tie"] * r["n"] / 100),
                                           round(r["loss"] * r["n"] / 100), r["n"], r["failed"]) for r in rows}


def test_published_file_has_no_error_verdicts_and_drop_is_todays_rule(published_data, capsys):
    records = read_judgments(published(published_data))
    assert error_games(records) == 0
    path = published(published_data)
    default, drop, tie = run(capsys, path), run(capsys, path, "--failed-games", "drop"), \
        run(capsys, path, "--failed-games", "tie")
    assert default == drop == tie  # no game to touch: the tables, notes included, are today's under both rules
    assert {k: v[:3] for k, v in per_pair(drop).items()} == PUBLISHED
    assert "failed games" not in json.dumps(drop)


def test_tallies_under_both_rules(with_errors):
    records = read_judgments(with_errors)
    assert error_games(records) == 3  # lines 1, 3, 9; line 10 is ours and no rule touches it
    assert [game_winner(records[i], "tie") for i in (0, 2, 8, 9)] == ["tie", "tie", "tie", None]
    assert [game_winner(records[i], "drop") for i in (0, 2, 8, 9)] == [None] * 4
    drop, tie = pair_tallies(records), pair_tallies(records, failed_games="tie")
    # drop: the four changed games leave the pair: sft-v2 19-1 wins (line 1), 32-1 ties (line 9),
    # 29-2 losses (lines 3 and 10) = 76 games, 4 failed
    d = drop[(SFT, PPO)]
    assert (d.win, d.tie, d.loss, d.n, d.failed) == (18, 31, 27, 76, 4)
    # tie: lines 1, 3 and 9 come back as ties: 31 + 3 = 34; line 10 stays failed: 79 games, 1 failed
    t = tie[(SFT, PPO)]
    assert (t.win, t.tie, t.loss, t.n, t.failed) == (18, 34, 27, 79, 1)
    for pair in ((BASE, PPO), (BASE, SFT)):  # untouched pairs: the published tallies under both rules
        assert (drop[pair].win, drop[pair].tie, drop[pair].loss) == PUBLISHED[pair]
        assert vars(drop[pair]) == vars(tie[pair])
    # per model, ppo = 29 + 52 wins, 19 + 5 losses, 32 + 23 ties published; sft-v2 = 19 + 48, 29 + 8, 32 + 24
    m_drop, m_tie = pairwise_tallies(records), pairwise_tallies(records, failed_games="tie")
    assert (m_drop[PPO].win, m_drop[PPO].loss, m_drop[PPO].tie, m_drop[PPO].failed) == (79, 23, 54, 4)
    assert (m_tie[PPO].win, m_tie[PPO].loss, m_tie[PPO].tie, m_tie[PPO].failed) == (79, 23, 57, 1)
    assert (m_drop[SFT].win, m_drop[SFT].loss, m_drop[SFT].tie) == (66, 35, 55)
    assert (m_tie[SFT].win, m_tie[SFT].loss, m_tie[SFT].tie) == (66, 35, 58)
    assert vars(m_drop[BASE]) == vars(m_tie[BASE]) and (m_tie[BASE].win, m_tie[BASE].loss) == (13, 100)
    # adjusted win rate of ppo: (79 + 54/2) / 156 under drop, (79 + 57/2) / 159 under tie
    assert m_drop[PPO].rate("win_rate_adjusted") == pytest.approx(106 / 156)
    assert m_tie[PPO].rate("win_rate_adjusted") == pytest.approx(107.5 / 159)
    # position bias: "error" is no verdict on position, so both rules leave the three games out (240 - 4)
    assert by_judge(records)["gpt-4"].pairs == 236


def test_show_result_tables_and_notes(with_errors, capsys):
    drop, tie = run(capsys, with_errors, "--ratings", "--bootstrap", "0"), \
        run(capsys, with_errors, "--failed-games", "tie", "--ratings", "--bootstrap", "0")
    assert per_pair(drop)[(SFT, PPO)] == (18, 31, 27, 76, 4)
    assert per_pair(tie)[(SFT, PPO)] == (18, 34, 27, 79, 1)
    assert {p: v for p, v in per_pair(drop).items() if p != (SFT, PPO)} == \
        {p: v for p, v in per_pair(tie).items() if p != (SFT, PPO)}
    per_model = "pairwise: per model"
    assert drop[per_model]["note"] == (
        "4 judgments failed and are not counted; rerun gen_judgment to retry them; failed games: drop "
        "(FastChat's rule): 3 games with an \"error\" verdict left out (--failed-games tie to change)")
    assert tie[per_model]["note"] == (
        "1 judgments failed and are not counted; rerun gen_judgment to retry them; failed games: tie "
        "(the Japanese forks' rule): 3 games with an \"error\" verdict counted as ties (--failed-games drop to change)")
    ratings = "pairwise: Bradley-Terry ratings (Elo scale)"
    games = {mode: {r["model"]: r["games"] for r in t[ratings]["rows"]} for mode, t in (("drop", drop), ("tie", tie))}
    assert games == {"drop": {SFT: 156, PPO: 156, BASE: 160}, "tie": {SFT: 159, PPO: 159, BASE: 160}}
    rule = "3 games with an \"error\" verdict counted as ties (--failed-games drop to change)"
    assert tie[ratings]["note"].endswith(rule)
    for title in ("pairwise: position consistency (%)", "pairwise: position bias per judge (%)"):
        assert drop[title]["rows"] == tie[title]["rows"]
        left_out = '3 games with an "error" verdict are left out under either --failed-games rule'
        assert drop[title]["note"].endswith(left_out) and tie[title]["note"].endswith(left_out)


def test_baseline_scope_counts_only_its_games(with_errors, capsys):
    # vs rinna-3.6b as baseline, the sft-v2/ppo pair is out of scope: nothing touched, no rule note
    assert show_result.main(["--input-file", str(with_errors), "--mode", "pairwise-baseline", "--baseline-model", BASE,
                             "--failed-games", "tie", "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)[0]
    assert "failed games" not in table["note"] and {r["model"]: r["tie"] for r in table["rows"]} == {PPO: 23, SFT: 24}


def test_unknown_rule_is_refused(with_errors):
    with pytest.raises(ConfigError, match="failed_games must be one of drop, tie"):
        pair_tallies(read_judgments(with_errors), failed_games="keep")
    with pytest.raises(SystemExit):
        show_result.main(["--input-file", str(with_errors), "--failed-games", "keep"])
