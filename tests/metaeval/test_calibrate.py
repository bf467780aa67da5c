"""eval_judge calibrate on a synthetic over-confident judge (every number by hand), the maps themselves, and
show_result --calibration applying a map to distribution judgments."""
import json
import math

import pytest

from llm_judge.calibration import CalibrationMap, ece, fit_isotonic, fit_temperature, load_map, measures
from llm_judge.cli import eval_judge, show_result

LABEL_OF = {0: "1", 1: "1", 2: "1", 3: "2", 4: "tie"}


def overconfident(tmp_path, n=100):
    """n pairs in our JSONL format and a distribution judgment file saying response 1 with probability 0.9
    (0.05 each for response 2 and a tie) on every pair, while the labels are 60% response 1, 20% response 2
    and 20% tie, in a pattern every fold (pair index mod 5) and every four folds together share exactly."""
    labels = [LABEL_OF[(i // 5) % 5] for i in range(n)]
    pairs = [{"id": f"p{i}", "question": f"q{i}", "response_1": "a", "response_2": "b", "label": label}
             for i, label in enumerate(labels)]
    records = [{"question_id": f"p{i}", "model_1": "output_1", "model_2": "output_2", "g1_winner": "model_1",
                "g2_winner": "model_1", "turn": 1, "judge": ["j", "pair-v2"],
                "win_probs": {"model_1": 0.9, "model_2": 0.05, "tie": 0.05}} for i in range(n)]
    (tmp_path / "set.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    (tmp_path / "j_pair.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return tmp_path / "set.jsonl", tmp_path / "j_pair.jsonl"


@pytest.mark.parametrize("method", ["temperature", "isotonic"])
def test_ece_falls_by_the_hand_computed_amount(tmp_path, capsys, method):
    data, judged = overconfident(tmp_path)
    out = tmp_path / "map.json"
    assert eval_judge.main(["calibrate", str(data), "--pred", str(judged), "--method", method, "--output", str(out),
                            "--bootstrap", "200", "--format", "json"]) == 0
    [table] = json.loads(capsys.readouterr().out)
    before, after = table["rows"]
    # Before: one bin, confidence 0.9, accuracy 0.6: ECE 0.3. Brier: right pairs 0.1^2 + 2 * 0.05^2 = 0.015,
    # wrong ones 0.9^2 + 0.95^2 + 0.05^2 = 1.715: 0.6 * 0.015 + 0.4 * 1.715 = 0.695. Log-loss: 0.6 * -ln 0.9 +
    # 0.4 * -ln 0.05. Each fold's map, fitted on four folds of exactly 60/20/20, gives (0.6, 0.2, 0.2): ECE 0,
    # Brier 0.6 * 0.24 + 0.4 * 1.04 = 0.56, log-loss 0.6 * -ln 0.6 + 0.4 * -ln 0.2.
    assert (before["ece"], before["brier"]) == pytest.approx((0.3, 0.695))
    assert before["log_loss"] == pytest.approx(-0.6 * math.log(0.9) - 0.4 * math.log(0.05))
    assert after["probabilities"] == f"{method} (cross-fitted)" and after["n"] == 100
    assert (after["ece"], after["brier"]) == pytest.approx((0.0, 0.56), abs=1e-6)
    assert after["log_loss"] == pytest.approx(-0.6 * math.log(0.6) - 0.4 * math.log(0.2), abs=1e-6)
    assert before["ece_lower"] <= 0.3 <= before["ece_upper"] and after["ece_upper"] < before["ece_lower"]
    cmap = load_map(out)
    assert cmap.method == method and cmap((0.9, 0.05, 0.05)) == pytest.approx((0.6, 0.2, 0.2), abs=1e-6)
    assert json.loads(out.read_text())["pairs"] == 100


def test_auto_picks_by_cross_validated_brier(tmp_path, capsys):
    data, judged = overconfident(tmp_path)
    assert eval_judge.main(["calibrate", str(data), "--pred", str(judged), "--output", str(tmp_path / "m.json"),
                            "--bootstrap", "50", "--format", "json"]) == 0
    [table] = json.loads(capsys.readouterr().out)
    assert table["rows"][1]["probabilities"].split()[0] in ("temperature", "isotonic")


def test_maps_by_hand():
    # temperature: p ** a renormalised; the fitted a makes the mean log-loss smallest
    assert CalibrationMap("temperature", exponent=2.0)((0.6, 0.3, 0.1)) == pytest.approx((36 / 46, 9 / 46, 1 / 46))
    probs, labels = [(0.8, 0.2, 0.0)] * 4, [0, 0, 0, 1]
    fitted = fit_temperature(probs, labels)  # 0.8^a / (0.8^a + 0.2^a) = 3/4: a = ln 3 / ln 4
    assert fitted.exponent == pytest.approx(math.log(3) / math.log(4), rel=1e-6)
    # isotonic: pool-adjacent-violators on (confidence, hit): 0.6 -> 1, 0.7 -> 0, 0.9 -> 1 pools 0.6 and 0.7
    iso = fit_isotonic([(0.6, 0.4, 0.0), (0.7, 0.3, 0.0), (0.9, 0.1, 0.0)], [0, 1, 0])
    assert (iso.edges, iso.values) == ([0.7, 0.9], [0.5, 1.0])
    assert iso((0.65, 0.25, 0.1)) == pytest.approx((0.5, 0.5 * 0.25 / 0.35, 0.5 * 0.1 / 0.35))
    assert ece([(0.9, 0.1, 0.0), (0.55, 0.45, 0.0)], [0, 1]) == pytest.approx((0.1 + 0.55) / 2)
    assert measures([(1.0, 0.0, 0.0)], [1])["log_loss"] == pytest.approx(-math.log(1e-15))


def test_show_result_applies_a_map(tmp_path, capsys):
    record = {"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "model_1", "g2_winner": "model_1",
              "turn": 1, "judge": ["j", "pair-v2"], "win_probs": {"model_1": 0.6, "model_2": 0.3, "tie": 0.1}}
    judged = tmp_path / "j_pair.jsonl"
    judged.write_text(json.dumps(record) + "\n", encoding="utf-8")
    cmap = tmp_path / "map.json"
    cmap.write_text(json.dumps({"calibration": "temperature", "exponent": 0.5}), encoding="utf-8")
    argv = ["--input-file", str(judged), "--mode", "pairwise-all", "--verdict-rule", "pooled", "--tie-margin", "0.2",
            "--format", "json"]
    wins = {}
    for extra in ([], ["--calibration", str(cmap)]):
        assert show_result.main(argv + extra) == 0
        rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)[0]["rows"]}
        wins[bool(extra)] = (rows["a"]["win"], rows["a"]["tie"])
    # raw lead 0.6 - 0.3 = 0.3 > 0.2: a wins; square roots renormalised: (0.775 - 0.548) / 1.638 = 0.139: a tie
    assert wins == {False: (1, 0), True: (0, 1)}


def test_calibration_needs_the_pooled_rule(tmp_path, capsys):
    judged = tmp_path / "j_pair.jsonl"
    judged.write_text(json.dumps({"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "tie",
                                  "g2_winner": "tie"}) + "\n", encoding="utf-8")
    code = show_result.cli.run(show_result.main, ["--input-file", str(judged), "--mode", "pairwise-all",
                                                  "--calibration", str(tmp_path / "map.json")])
    assert code == 2 and capsys.readouterr().err.strip().endswith("add --verdict-rule pooled")
