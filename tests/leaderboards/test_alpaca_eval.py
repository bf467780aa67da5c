"""AlpacaEval 2.0: the released annotations of three models give the published leaderboard numbers, our
annotator's label order and switch rule reproduce every released preference from its own log-probs, and the
annotator runs end to end through the loopback OpenAI server."""
from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from llm_judge.errors import InputError
from llm_judge.leaderboards import alpaca_annotator as ann
from llm_judge.leaderboards import alpaca_files as files
from llm_judge.leaderboards.alpaca_eval import leaderboard_rows
from llm_judge.leaderboards.alpaca_metrics import win_rate

# tatsu-lab/alpaca_eval @ cd543a14, src/alpaca_eval/leaderboards/data_AlpacaEval_2/
# weighted_alpaca_eval_gpt4_turbo_leaderboard.csv: win_rate, standard_error, n_wins, n_wins_base, n_draws, n_total,
# discrete_win_rate, avg_length
PUBLISHED = {
    "claude-2.1": (15.733506736409938, 1.120315865445773, 115, 688, 2, 805, 14.409937888198757, 1096),
    "gpt-3.5-turbo-1106": (9.177964561962735, 0.8904117511864436, 64, 737, 4, 805, 8.198757763975156, 796),
    "alpaca-7b": (2.591450540223603, 0.4870855382635108, 17, 785, 3, 805, 2.298136645962733, 396),
}
FIELDS = ("win_rate", "standard_error", "n_wins", "n_wins_base", "n_draws", "n_total", "discrete_win_rate",
          "avg_length")


def released(published_data, model: str) -> Path:
    return published_data("alpaca_eval", "results", model, files.ANNOTATOR, files.ANNOTATIONS_FILE)


def test_released_annotations_give_the_published_leaderboard(published_data):
    rows, note = leaderboard_rows(published_data("alpaca_eval", "results"))
    got = {r["model"]: r for r in rows}
    assert set(got) == set(PUBLISHED)
    for model, numbers in PUBLISHED.items():
        for name, want in zip(FIELDS, numbers):
            assert got[model][name] == pytest.approx(want, abs=1e-4), (model, name)
    # without the GLM's files the LC columns stay empty and the note says why, in one line
    assert all(r["length_controlled_winrate"] is None for r in rows)
    assert "instruction_difficulty.csv" in note and "\n" not in note
    assert [r["model"] for r in rows] == ["claude-2.1", "gpt-3.5-turbo-1106", "alpaca-7b"]


def test_win_rate_counts_by_hand():
    got = win_rate([1.0, 2.0, 1.5, 1.75, None, 1.2])
    assert got.n_total == 5 and (got.n_wins, got.n_wins_base, got.n_draws) == (2, 2, 1)
    shifted = [0.0, 1.0, 0.5, 0.75, 0.2]
    mean = sum(shifted) / 5
    sem = math.sqrt(sum((x - mean) ** 2 for x in shifted) / 4 / 5)
    assert got.win_rate == pytest.approx(mean * 100) and got.standard_error == pytest.approx(sem * 100)
    assert got.discrete_win_rate == pytest.approx((0 + 1 + 0.5 + 1 + 0) / 5 * 100)


def _shown_preference(record: dict) -> float:
    top = record["raw_completion"]["logprobs"]["content"][0]["top_logprobs"]
    return ann.preference_from_logprobs([(t["token"], t["logprob"]) for t in top], "m", ["m", "M"])


@pytest.mark.parametrize("model", sorted(PUBLISHED))
def test_switch_rule_and_label_order_reproduce_every_released_preference(published_data, model):
    records = files.read_json_list(released(published_data, model))
    called = [r for r in records if r["raw_completion"] is not None]
    assert len(called) > 790
    switched = 0
    for r in called:
        shown = _shown_preference(r)
        is_switched = ann.is_switched(r["instruction"])
        switched += is_switched
        assert (3 - shown if is_switched else shown) == pytest.approx(r["preference"], abs=1e-8)
    assert 0.4 < switched / len(called) < 0.6
    # identical outputs: 1.5, no call
    for r in records:
        if r["raw_completion"] is None:
            assert r["output_1"] == r["output_2"] and r["preference"] == 1.5


def test_another_seed_or_label_order_would_not_reproduce_them(published_data):
    records = [r for r in files.read_json_list(released(published_data, "alpaca-7b"))
               if r["raw_completion"] is not None]
    def agree(switch, first: str) -> int:
        n = 0
        for r in records:
            top = [(t["token"], t["logprob"]) for t in r["raw_completion"]["logprobs"]["content"][0]["top_logprobs"]]
            shown = ann.preference_from_logprobs(top, first, ["m", "M"])
            n += abs((3 - shown if switch(r["instruction"]) else shown) - r["preference"]) < 1e-6
        return n
    assert agree(ann.is_switched, "m") == len(records)
    assert agree(lambda text: ann.is_switched(text, seed=123), "m") < len(records) * 0.7
    assert agree(ann.is_switched, "M") < len(records) * 0.1
    assert agree(lambda text: random.Random(text).random() < 0.5, "m") < len(records) * 0.7


def test_preference_from_logprobs_counts_a_missing_label_as_zero_and_refuses_neither():
    assert ann.preference_from_logprobs([("M", -0.1), ("The", -3.0)], "m", ["m", "M"]) == 1.0 + 1.0 - 0.0
    assert ann.preference_from_logprobs([("m", -0.2), ("Both", -3.0)], "m", ["m", "M"]) == 1.0
    p = ann.preference_from_logprobs([("m", math.log(0.6)), ("M", math.log(0.2))], "m", ["m", "M"])
    assert p == pytest.approx(2 - 0.75)
    with pytest.raises(ann.NoLabel):
        ann.preference_from_logprobs([("The", -0.1), ("Both", -2.0)], "m", ["m", "M"])


def test_template_placeholders_are_filled_once(published_data):
    config = ann.load_annotator(published_data("alpaca_eval", "evaluators_configs"), files.ANNOTATOR)
    assert (config.first_label, config.labels, config.top_logprobs, config.max_tokens) == ("m", ("m", "M"), 5, 1)
    messages = ann.prompt_messages(config.template, "say {output_2}", "A wrote {instruction}", "B")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert '"""say {output_2}"""' in user and '"""A wrote {instruction}"""' in user and '"""B"""' in user
    assert user.index("A wrote") < user.index('"""B"""')


def test_bad_preference_names_file_and_record(tmp_path):
    path = tmp_path / files.ANNOTATIONS_FILE
    path.write_text('[{"instruction": "i", "output_1": "a", "output_2": "b", "generator_1": "g", '
                    '"generator_2": "m", "preference": 7}]')
    with pytest.raises(InputError, match=r"annotations.json: field '\[0\].preference': must lie in \[1, 2\]"):
        files.read_annotations(path)


def test_bad_outputs_name_file_record_and_field(tmp_path):
    path = tmp_path / files.OUTPUTS_FILE
    path.write_text('[{"instruction": "i", "output": "o", "generator": "g"}, {"instruction": "i", "output": "o", '
                    '"generator": 7}]')
    with pytest.raises(InputError, match=r"model_outputs.json: field '\[1\].generator': must be a string"):
        files.read_outputs(path)
    path.write_text('{"instruction": "i"}')
    with pytest.raises(InputError, match="expected a JSON list of records"):
        files.read_outputs(path)


def test_one_models_folder_is_read_too(published_data):
    from llm_judge.leaderboards.alpaca_eval import is_annotations, leaderboard_tables

    folder = published_data("alpaca_eval", "results", "claude-2.1")
    assert is_annotations(folder)
    (table,) = leaderboard_tables(folder)
    (row,) = table.records()
    assert row["model"] == "claude-2.1" and row["n_wins"] == 115
