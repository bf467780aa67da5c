"""Score-distribution judging: the packed trie scorer against a plain per-label computation, and the records."""
from __future__ import annotations

import json
import math

import pytest

from llm_judge.judging.families import load_family
from llm_judge.judging.matches import Match
from llm_judge.judging.prompts import BUILTIN_SETS, load_prompt_file
from llm_judge.judging.run import distribution_request, pair_record, single_record
from llm_judge.engines import scoring
from llm_judge.engines.base import GenRequest, GenResult
from llm_judge.records import Answer, Question

SYSTEM = "You grade answers to questions. Reply with a rating such as Rating: [[5]]."
QA = ["Question: What is 17 times 6?\nAnswer: 102.",
      "Question: What is the capital of Australia?\nAnswer: Sydney, because it is the largest city.",
      "Question: Name a primary colour.\nAnswer: Blue."]


@pytest.fixture(scope="module")
def judge(default_model_path):
    import torch

    from llm_judge.engines.hf import HFModel, HFOptions

    # One thread: on a few cores shared with other jobs, two torch threads spin against them and run slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    # float32: packed scoring is compared with plain forward passes to 1e-4.
    model = HFModel(default_model_path, "default", HFOptions(batch_size=4, dtype="float32"))
    yield model
    model.close()
    torch.set_num_threads(threads)


def reference_distribution(judge, req: GenRequest) -> list[float]:
    """Each label scored on its own: a full forward pass over prompt + label + suffix, nothing shared."""
    import torch

    text = judge.render(req)
    full = [judge.tokenizer(text + label + req.score_suffix, add_special_tokens=False)["input_ids"]
            for label in req.score_choices]
    cut = scoring.common_prefix(full)
    logps = []
    with torch.inference_mode():
        for ids in full:
            lp = torch.log_softmax(judge.model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
            logps.append(sum(float(lp[pos - 1, ids[pos]]) for pos in range(cut, len(ids))))
    return scoring.normalise(logps)


def rating_request(content: str, prefill: str = "Rating: [[", labels=range(1, 11), suffix: str = "]]") -> GenRequest:
    return GenRequest([{"role": "system", "content": SYSTEM}, {"role": "user", "content": content}],
                      prefill=prefill, score_choices=[str(i) for i in labels], score_suffix=suffix)


@pytest.mark.model
def test_two_digit_ten_and_packed_scoring_match_the_plain_computation(judge):
    req = rating_request(QA[0])
    tok = judge.tokenizer
    # "10]]" takes one token more than "1]]": both are scored as the model writes them
    assert len(tok("Rating: [[10]]", add_special_tokens=False)["input_ids"]) == \
        len(tok("Rating: [[1]]", add_special_tokens=False)["input_ids"]) + 1
    [result] = judge.generate([req])
    got = [result.distribution[c] for c in req.score_choices]
    want = reference_distribution(judge, req)
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-4
    assert sum(got) == pytest.approx(1.0)
    best = max(result.distribution, key=result.distribution.get)
    assert result.text == f"Rating: [[{best}]]" and result.finish_reason == "score"


@pytest.mark.model
def test_prefill_ending_in_a_space_merges_as_the_model_writes(judge):
    # "[RESULT] " + "4": the tokenizer may merge the space into the digit; each label is tokenized with the prompt
    req = rating_request(QA[1], prefill="[RESULT] ", labels=range(1, 6), suffix="")
    [result] = judge.generate([req])
    want = reference_distribution(judge, req)
    assert max(abs(result.distribution[c] - w) for c, w in zip(req.score_choices, want)) < 1e-4


@pytest.mark.model
def test_batched_with_a_shared_prefix_equals_one_at_a_time(judge):
    reqs = [rating_request(q) for q in QA[1:]] + [rating_request(QA[2], prefill="[[", labels=["A", "B", "C"])]
    batched = judge.generate(reqs)
    for req, got in zip(reqs, batched):
        [alone] = judge.generate([req])
        assert got.error is None and alone.error is None
        for label in req.score_choices:
            assert got.distribution[label] == pytest.approx(alone.distribution[label], abs=1e-4)


@pytest.mark.model
def test_a_label_that_starts_another_is_refused_not_guessed(judge):
    req = rating_request(QA[0], labels=range(1, 11), suffix="")  # "1" is the start of "10"
    [result] = judge.generate([req])
    assert result.distribution is None and "prefix" in result.error


def test_trie_shares_the_common_start_of_labels():
    # token ids: prompt 1 2 3; labels "1]]" = 7 9, "10]]" = 7 8 9, "2]]" = 6 9
    item = scoring.build_item([[1, 2, 3, 7, 9], [1, 2, 3, 7, 8, 9], [1, 2, 3, 6, 9]])
    assert item.base == [1, 2, 3]
    assert item.nodes == [(7, -1), (9, 0), (8, 0), (9, 2), (6, -1), (9, 4)]
    assert item.paths == [[0, 1], [0, 2, 3], [4, 5]]
    assert item.inner == [0, 2, 4]  # the "]]" leaves are read from their parents' logits, never fed
    with pytest.raises(ValueError):
        scoring.build_item([[1, 2, 7], [1, 2, 7, 8]])


def test_pack_mask_lets_each_trie_node_see_the_prompt_and_its_ancestors_only():
    import torch

    # after the shared prefix 5: own prompt 1 2, then the trie above; a second row with one own token
    a = scoring.build_item([[5, 1, 2, 7, 9], [5, 1, 2, 7, 8, 9], [5, 1, 2, 6, 9]])
    b = scoring.build_item([[5, 3, 7], [5, 3, 6]])
    ids, pos, mask, T = scoring.pack([a, b], 1, 0, torch, "cpu", torch.float32)
    assert T == 3 and ids.shape == (2, 5)  # V = 2 own tokens, then the 3 inner nodes 7, 8, 6
    assert ids[0].tolist() == [1, 2, 7, 8, 6] and ids[1].tolist() == [0, 3, 0, 0, 0]
    assert pos[0].tolist() == [1, 2, 3, 4, 3]  # "8" follows "7"; "6" is a first label token like "7"
    seen = mask[0, 0] == 0  # columns: the cached prefix, then the 5 packed ones
    assert seen[3].tolist() == [True, True, True, True, True, False]  # "8" sees its parent "7" and itself
    assert seen[4].tolist() == [True, True, True, False, False, True]  # "6" sees neither "7" nor "8"
    # row b has one own token: no real token sees its left padding column
    assert not (mask[1, 0, 1:, 1] == 0).any()


def _match(prompt_name: str, family: str | None = None, pairwise: bool = False) -> Match:
    prompts = load_family(family).prompts if family else load_prompt_file(BUILTIN_SETS["en"])
    q = Question(1, "math", ["What is 17 times 6?"])
    answers = tuple(Answer(1, m, [{"index": 0, "turns": ["102"]}]) for m in (["a", "b"] if pairwise else ["a"]))
    return Match(q, 1, tuple(a.model_id for a in answers), answers, prompts[prompt_name])


def test_single_record_stores_expected_score_beside_the_greedy_verdict():
    match = _match("single-v1")
    req = distribution_request(match, match.games()[0], "en")
    dist = {str(i): 0.0 for i in range(1, 11)}
    dist.update({"10": 0.5, "7": 0.25, "1": 0.25})
    rec = single_record(match, "judge", "demo", GenResult(text="Rating: [[10]]", distribution=dist), "p", req)
    assert rec.score == 10.0 and rec.expected_score == pytest.approx(7.0)
    assert rec.score_distribution == dist


def test_prometheus_expected_score_is_on_its_own_1_to_5_scale():
    match = _match("prometheus-absolute", "prometheus")
    req = distribution_request(match, match.games()[0], "en", load_family("prometheus"))
    assert req.prefill == "[RESULT] " and req.score_choices == ["1", "2", "3", "4", "5"]
    dist = {"1": 0.1, "2": 0.1, "3": 0.2, "4": 0.4, "5": 0.2}
    rec = single_record(match, "judge", "demo", GenResult(text="[RESULT] 4", distribution=dist), "p", req)
    assert rec.score == 4.0 and rec.expected_score == pytest.approx(3.5)


def test_pair_record_stores_a_b_tie_per_game_and_win_probabilities():
    family = load_family("judgelm")
    match = _match("judgelm-pair", "judgelm", pairwise=True)
    reqs = tuple(distribution_request(match, g, "en", family) for g in match.games())
    assert len(reqs[0].score_choices) == 100 and reqs[0].score_suffix == "\n"
    g1 = {label: 0.0 for label in reqs[0].score_choices}
    g1.update({"8 6": 0.5, "6 8": 0.2, "7 7": 0.3})  # A wins, B wins, tie
    g2 = dict.fromkeys(g1, 0.0)
    g2.update({"9 3": 0.6, "3 9": 0.4})
    rec = pair_record(match, "judge", "demo", GenResult(text="8 6\n", distribution=g1),
                      GenResult(text="9 3\n", distribution=g2), ("p1", "p2"), reqs)
    assert rec.g1_verdict_probs == pytest.approx({"A": 0.5, "B": 0.2, "tie": 0.3})
    assert rec.g2_verdict_probs == pytest.approx({"A": 0.6, "B": 0.4, "tie": 0.0})
    # game 2 shows model_2 first: its A is model_2
    assert rec.win_probs == pytest.approx({"model_1": (0.5 + 0.4) / 2, "model_2": (0.2 + 0.6) / 2, "tie": 0.15})
    assert (rec.g1_winner, rec.g2_winner) == ("model_1", "model_2")
    assert math.isclose(sum(rec.win_probs.values()), 1.0)


def test_ours_keeps_fastchat_labels_and_refuses_other_formats():
    match = _match("pair-v2", pairwise=True)
    req = distribution_request(match, match.games()[0], "en")
    assert (req.prefill, req.score_choices, req.score_suffix) == ("[[", ["A", "B", "C"], "]]")
    ja = _match("single-v1")
    assert distribution_request(ja, ja.games()[0], "ja").prefill == "評価：[["
    from llm_judge.errors import ConfigError

    other = Match(match.question, 1, match.models, match.answers,
                  load_prompt_file(BUILTIN_SETS["en"])["pair-v2"].__class__(
                      "pair-v1", "pairwise", "", "{question}{answer_a}{answer_b}", "[[rating_a,rating_b]]"))
    with pytest.raises(ConfigError, match=r"\[\[A\]\]"):
        distribution_request(other, other.games()[0], "en")


def test_ours_reads_rakudas_last_line_verdict_as_1_2_3():
    """Rakuda's prompts ask for 1, 2 or 3 (tie) on the last line: distribution judging reads those labels."""
    q = Question("q1", "general", ["日本の首都はどこですか?"])
    answers = tuple(Answer("q1", m, [{"index": 0, "turns": [t]}]) for m, t in (("a", "東京です。"), ("b", "大阪です。")))
    prompt = load_prompt_file(BUILTIN_SETS["en"])["pair-v2"].__class__(
        "rakuda_v1", "pairwise", "", "{question}\n1: {answer_a}\n2: {answer_b}\nReply 1, 2 or 3 (tie) last.", "last")
    match = Match(q, 1, ("a", "b"), answers, prompt)
    req = distribution_request(match, match.games()[0], "ja")
    assert (req.prefill, req.score_choices, req.score_suffix) == ("", ["1", "2", "3"], "")
    g1, g2 = {"1": 0.7, "2": 0.2, "3": 0.1}, {"1": 0.3, "2": 0.6, "3": 0.1}
    rec = pair_record(match, "judge", "rakuda", GenResult(text="1", distribution=g1),
                      GenResult(text="2", distribution=g2), ("p1", "p2"), (req, req))
    assert rec.g1_verdict_probs == pytest.approx({"A": 0.7, "B": 0.2, "tie": 0.1})
    assert (rec.g1_winner, rec.g2_winner) == ("model_1", "model_1")  # game 2 shows b first: its 2 is a


@pytest.mark.model
def test_rakuda_style_bench_judged_by_distribution_end_to_end(tmp_path, default_model_path):
    from llm_judge.cli import gen_judgment

    bench = tmp_path / "data" / "mini_rakuda"
    (bench / "model_answer").mkdir(parents=True)
    (bench / "question.jsonl").write_text(json.dumps(
        {"question_id": "r1", "category": "general", "turns": ["日本の首都はどこですか?"]}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    for model, text in (("a", "東京です。"), ("b", "わかりません。")):
        (bench / "model_answer" / f"{model}.jsonl").write_text(json.dumps(
            {"question_id": "r1", "model_id": model, "choices": [{"index": 0, "turns": [text]}]},
            ensure_ascii=False) + "\n", encoding="utf-8")
    (bench / "judge_prompts.jsonl").write_text(json.dumps(
        {"name": "rakuda_v1", "type": "pairwise", "system_prompt": "二つの回答を比べてください。",
         "prompt_template": "質問: {question}\n回答1: {answer_a}\n回答2: {answer_b}\n最後の行に 1、2、引き分けなら 3 と書いてください。",
         "description": "ours, rakuda layout", "category": "general", "output_format": "last"},
        ensure_ascii=False) + "\n", encoding="utf-8")
    (bench / "bench.json").write_text(json.dumps(
        {"language": "ja", "judge_prompts": "judge_prompts.jsonl", "reference_categories": [],
         "prompt_names": {"pair": "rakuda_v1", "pair-math": "rakuda_v1"}}), encoding="utf-8")
    assert gen_judgment.main(["--data-dir", str(tmp_path / "data"), "--bench-name", "mini_rakuda",
                              "--judge-model", "default", "--mode", "pairwise-all", "--judge-method",
                              "distribution"]) == 0
    [rec] = [json.loads(line) for line in (bench / "model_judgment" / "smollm2-135m-instruct_pair.jsonl").open()]
    for game in ("g1", "g2"):
        dist = rec[f"{game}_distribution"]
        assert set(dist) == {"1", "2", "3"} and sum(dist.values()) == pytest.approx(1.0)
        assert rec[f"{game}_judgment"] == max(dist, key=dist.get)
    assert "error" not in rec  # rakuda's last line: 1 and 2 name the answers as shown, 3 is a tie
    assert (rec["g1_winner"], rec["g2_winner"]) == ({"1": "model_1", "2": "model_2", "3": "tie"}[rec["g1_judgment"]],
                                                    {"1": "model_2", "2": "model_1", "3": "tie"}[rec["g2_judgment"]])
