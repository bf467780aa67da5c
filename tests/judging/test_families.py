"""Judge families end to end: every family through gen_judgment on the real default model, and as data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import require
from llm_judge import cli
from llm_judge.cli import gen_judgment, show_result
from llm_judge.bench import load_bench
from llm_judge.errors import ConfigError, InputError
from llm_judge.judging.families import family_names, load_family
from llm_judge.judging.matches import plan_matches
from llm_judge.judging.verdicts import pair_parser, single_parser
from llm_judge.jsonl import read_jsonl
from llm_judge.records import JudgeName, PairJudgment

# Short answers written for the test, so each judge prompt stays small.
ANSWERS = {
    "alpha": {1: ["Hi Sam! We're having a barbecue in the garden on Saturday at 5. We'd love to see you there!"],
              7: ["12 pencils cost 4 x 45 = 180 yen.", "300 / 15 = 20 pencils."]},
    "beta": {1: ["Dear neighbour, barbecue Saturday. Come."],
             7: ["They cost 150 yen.", "You can buy 25 pencils."]},
}
SCALE = {"fastchat": (1, 10), "judgelm": (1, 10), "autoj": (1, 10), "prometheus": (1, 5)}
RUNS = [(f, "single") for f in ("fastchat", "judgelm", "autoj", "prometheus")] + \
       [(f, "pairwise-all") for f in ("fastchat", "judgelm", "autoj", "pandalm", "prometheus")]


def _write_answers(bench_dir: Path, questions: set[int]) -> None:
    (bench_dir / "model_answer").mkdir(exist_ok=True)
    for model, by_q in ANSWERS.items():
        rows = [{"question_id": q, "answer_id": f"{model}-{q}", "model_id": model,
                 "choices": [{"index": 0, "turns": turns}], "tstamp": 0.0} for q, turns in by_q.items() if q in questions]
        (bench_dir / "model_answer" / f"{model}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def one_thread():
    import torch

    # On a few cores shared with other jobs, two torch threads spin against them and run several times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def bench_dir(data_dir):
    _write_answers(data_dir / "demo_bench", {1})
    return data_dir / "demo_bench"


def judge(bench_dir: Path, family: str, mode: str, *extra: str) -> int:
    return gen_judgment.main(["--data-dir", str(bench_dir.parent), "--judge-model", "default", "--judge-family", family,
                              "--mode", mode, "--model-list", "alpha", "beta", "--batch-size", "4", *extra])


@pytest.mark.model
@pytest.mark.parametrize("family,mode", RUNS)
def test_family_end_to_end_distribution(bench_dir, one_thread, family, mode, default_model_path):
    assert judge(bench_dir, family, mode, "--judge-method", "distribution") == 0
    fam = load_family(family)
    pairwise = mode != "single"
    out = bench_dir / "model_judgment" / fam.output_name("smollm2-135m-instruct", pairwise)
    rows = read_jsonl(out)
    assert len(rows) == (1 if pairwise else 2)  # question 1: the pair alpha-beta, or each of them
    for r in rows:
        assert "error" not in r
        prompt = r["judge"][1]
        assert prompt in (fam.prompts or {"pair-v2": 0, "single-v1": 0}) and r["turn"] == 1
        if pairwise:
            parse = pair_parser(fam.prompts[prompt].output_format) if fam.prompts else pair_parser("[[A]]")
            assert r["g1_winner"] in ("model_1", "model_2", "tie") and r["g2_winner"] in ("model_1", "model_2", "tie")
            for g, flip in (("g1", {"A": "model_1", "B": "model_2"}), ("g2", {"A": "model_2", "B": "model_1"})):
                probs = r[f"{g}_verdict_probs"]
                assert sum(probs.values()) == pytest.approx(1.0)
                # the greedy verdict is the most likely label, read back through the family's parser
                assert flip.get(parse(r[f"{g}_judgment"]), "tie") == r[f"{g}_winner"]
            assert sum(r["win_probs"].values()) == pytest.approx(1.0)
            if family == "prometheus":
                assert r["g1_verdict_probs"]["tie"] == 0  # relative grading has no tie
        else:
            lo, hi = SCALE[family]
            dist = r["score_distribution"]
            assert len(dist) == hi - lo + 1 and sum(dist.values()) == pytest.approx(1.0)
            assert lo <= r["expected_score"] <= hi
            assert r["score"] == float(max(dist, key=dist.get))


def test_generate_mode_keeps_the_raw_text_of_an_unparseable_output(bench_dir, tmp_path):
    # Four tokens are too few for Prometheus's "Feedback: ... [RESULT] N": an error record with the raw output.
    # The judge is the mock engine, replying a full Prometheus judgment that the token budget cuts short.
    rules = tmp_path / "prometheus_judge.jsonl"
    rules.write_text(json.dumps({"reply": "Feedback: The invitation is clear and friendly. [RESULT] 4"}) + "\n",
                     encoding="utf-8")
    argv = ["--data-dir", str(bench_dir.parent), "--judge-model", f"mock:{rules}", "--judge-model-id", "smol",
            "--judge-family", "prometheus", "--mode", "single", "--model-list", "alpha", "beta",
            "--judge-max-new-token", "4"]
    assert gen_judgment.main(argv) == 1
    path = bench_dir / "model_judgment" / "smol_prometheus_single.jsonl"
    rows = read_jsonl(path)
    assert len(rows) == 2
    for r in rows:
        assert r["score"] is None and r["error"].startswith("unparseable judgment: the output does not end with")
        assert r["judgment"] == "Feedback: The invitation is"
        assert r["usage"]["completion_tokens"] == 4 and "###Score Rubrics:" in r["user_prompt"]
    # a rerun retries the failed ones (and fails again the same way), never duplicating
    assert gen_judgment.main(argv) == 1
    assert [r["judgment"] for r in read_jsonl(path)] == [r["judgment"] for r in rows]
    # with its full budget the same judge's verdict parses
    assert gen_judgment.main(argv[:-2]) == 0
    assert [r["score"] for r in read_jsonl(path)] == [4.0, 4.0]


@pytest.mark.model
def test_wrapper_replaces_the_chat_template(default_model_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(default_model_path)
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U {answer} [[A]]"}]
    text = tok.apply_chat_template(messages, chat_template=load_family("autoj").chat_template(), tokenize=False,
                                   add_generation_prompt=True)
    assert text == f"{tok.bos_token}[INST] S\n\nU {{answer}} [[A]] [/INST]"
    raw = tok.apply_chat_template(messages[1:], chat_template=load_family("judgelm").chat_template(), tokenize=False)
    assert raw == f"{tok.bos_token}U {{answer}} [[A]]"
    assert load_family("prometheus").chat_template() is None  # the model's own template


@pytest.mark.parametrize("family", family_names())
def test_every_role_renders_for_multi_turn_and_reference_questions(data_dir, family):
    _write_answers(data_dir / "demo_bench", {1, 7})
    bench = load_bench("demo_bench", str(data_dir))
    fam = load_family(family)
    answers = bench.load_answers(["alpha", "beta"])
    for mode in ("single", "pairwise-all"):
        if ("single" if mode == "single" else "pairwise") not in fam.modes:
            continue
        prompts = fam.prompt_set(None, bench.config.judge_prompts, bench.language, bench.path, bench.config.prompt_names)
        plan = plan_matches(bench, mode, ["alpha", "beta"], answers, prompts)
        # q1 (one turn) and q7 (math: a reference, two turns)
        assert {(m.question.question_id, m.turn) for m in plan.matches} == {(1, 1), (7, 1), (7, 2)}
        for m in plan.matches:
            for messages in m.games():
                text = messages[-1]["content"]
                if m.question.question_id == 7 and m.turn == 2:
                    assert "300 / 15 = 20 pencils." in text or "25 pencils" in text
                    assert "How many pencils can you buy with 300 yen?" in text
                if m.reference and family not in ("autoj", "pandalm"):  # these two take no reference
                    assert (m.reference[m.turn - 1] in text), (family, m.prompt.name)


@pytest.mark.model
def test_pairwise_only_family_refuses_single_mode(bench_dir, capsys):
    assert cli.run(gen_judgment.main, ["--data-dir", str(bench_dir.parent), "--judge-model", "default",
                                       "--judge-family", "pandalm", "--mode", "single"]) == 2
    assert "judges pairwise only" in capsys.readouterr().err
    assert not (bench_dir / "model_judgment").exists() or not any((bench_dir / "model_judgment").iterdir())


def test_unknown_family_names_the_built_in_ones():
    with pytest.raises(ConfigError, match="judgelm") as info:
        load_family("judgelmm")
    assert "ours for fastchat" in str(info.value)


def test_ours_is_the_fastchat_family_under_its_earlier_name(bench_dir, capsys):
    # the same family object, and gen_judgment and show_result given either name write and read the same file
    assert load_family("ours") is load_family("fastchat") is load_family(None)
    assert "ours" not in family_names()
    base = ["--data-dir", str(bench_dir.parent), "--judge-model", "mock:judge", "--mode", "single",
            "--model-list", "alpha", "beta"]
    assert gen_judgment.main(base + ["--judge-family", "ours"]) == 0
    out = bench_dir / "model_judgment" / "judge_single.jsonl"
    first = read_jsonl(out)
    assert len(first) == 2 and all(r["score"] is not None and "error" not in r for r in first)
    assert gen_judgment.main(base + ["--judge-family", "fastchat"]) == 0  # nothing left to judge
    assert read_jsonl(out) == first
    capsys.readouterr()
    assert show_result.main(["--data-dir", str(bench_dir.parent), "--judge-model", "judge", "--judge-family", "ours",
                             "--mode", "single"]) == 0
    assert "alpha" in capsys.readouterr().out


def _family_file(tmp_path: Path, **change) -> Path:
    obj = json.loads((Path(load_family("prometheus").source)).read_text(encoding="utf-8"))
    obj["prompts"] = str(Path(load_family("prometheus").source).parent / "prometheus.jsonl")
    obj.update(change)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_custom_family_file_and_its_errors(tmp_path):
    fam = load_family(str(_family_file(tmp_path, name="mine")))
    assert fam.name == "mine" and fam.output_name("j", False) == "j_mine_single.jsonl"
    bad = {
        "labels": {"distribution": {"single": {"prefill": "[RESULT] ", "labels": ["1", "10"]}}},
        "parse": {"distribution": {"single": {"prefill": "Score: ", "labels": {"range": [1, 5]}}}},
        "role": {"roles": {"single": "nope"}},
        "mode": {"modes": ["both"]},
        "wrapper": {"wrapper": "[INST] {{prompt}} [/INST]"},
    }
    want = {"labels": "distribution.single.suffix", "parse": "does not parse", "role": "'roles'",
            "mode": "'modes'", "wrapper": "'wrapper'"}
    for key, change in bad.items():
        (tmp_path / key).mkdir()
        with pytest.raises(InputError, match=want[key]) as err:
            load_family(str(_family_file(tmp_path / key, **change)))
        assert "mine.json" in str(err.value)
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x",\n "modes": [}', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken.json:2"):
        load_family(str(broken))


def test_family_generation_settings_reach_the_request():
    req = load_family("prometheus").request([{"role": "user", "content": "x"}])
    assert (req.max_new_tokens, req.temperature, req.repetition_penalty) == (1024, 0.0, 1.03)
    assert load_family("pandalm").request([], 64).max_new_tokens == 64
    assert load_family(None).name == "fastchat" and single_parser("prometheus-absolute")("[RESULT] 3") == 3


# -- position bias --------------------------------------------------------------------------------------

def _pair(g1: str | None, g2: str | None, judge: str = "j", probs: tuple[float, float] | None = None,
          error: str | None = None) -> PairJudgment:
    rec = PairJudgment(question_id=1, model_1="a", model_2="b", g1_winner=g1, g2_winner=g2,
                       judge=JudgeName(judge, "pair-v2"), turn=1, error=error)
    if probs:
        rec.g1_verdict_probs = {"A": probs[0], "B": 1 - probs[0], "tie": 0.0}
        rec.g2_verdict_probs = {"A": probs[1], "B": 1 - probs[1], "tie": 0.0}
    return rec


def test_position_bias_counts_by_hand():
    from llm_judge.results.position import by_judge

    records = [
        _pair("model_1", "model_1", probs=(0.9, 0.3)),  # agree; g1: first won, g2: second won
        _pair("model_1", "model_2", probs=(0.8, 0.6)),  # disagree: the first shown won both orders
        _pair("tie", "tie", probs=(0.5, 0.5)),  # agree
        _pair("model_2", "tie"),  # disagree; g1: second won
        _pair("model_1", "model_1", error="g2: unparseable judgment"),  # failed: left out
        _pair("model_2", "model_1", judge="other"),  # the second shown won both orders
    ]
    bias = by_judge(records)
    j = bias["j"]
    assert (j.pairs, j.agree, j.first, j.second, j.tie) == (4, 2, 3, 2, 3)
    assert (j.first_both, j.second_both, j.one_tie) == (1, 0, 1)
    assert j.pct("agree") == 50.0 and j.pct("first") == pytest.approx(37.5)
    assert j.pct("prob_first") == pytest.approx(100 * (0.9 + 0.3 + 0.8 + 0.6 + 0.5 + 0.5) / 6)
    other = bias["other"]
    assert (other.pairs, other.agree, other.first, other.second) == (1, 0, 0, 2) and other.pct("prob_first") is None
    assert other.second_both == 1


def test_position_bias_in_show_result_agrees_with_the_consistency_table(published_data, capsys):
    from llm_judge.cli import show_result

    path = published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
    assert show_result.main(["--input-file", str(path), "--mode", "pairwise-all", "--format", "json"]) == 0
    tables = {t["title"]: t for t in json.loads(capsys.readouterr().out)}
    [row] = tables["pairwise: position bias per judge (%)"]["rows"]
    everything = tables["pairwise: position consistency (%)"]["rows"][-1]
    assert row["judge"] == "gpt-4" and row["pairs"] == everything["n"] == 240
    assert row["orders_agree"] == pytest.approx(everything["consistent"])
    assert row["first_wins"] + row["second_wins"] + row["tie"] == pytest.approx(100.0)
    assert row["p_first"] is None  # GPT-4's greedy verdicts carry no distribution


# -- through an OpenAI-compatible server (a local judge served by vLLM, TGI, llama.cpp ...) ---------------

KEY = "sk-test-families"


def _served_judge(body: dict, text: str) -> str:
    """Replies in each family's own format, written from what the prompt shows; alpha's answer is the better one."""
    if "[The Start of Assistant 2's Answer]" in text:  # JudgeLM, pairwise
        scores = "8 3" if text.index("Hi Sam") < text.index("Dear neighbour") else "4 9"
        return (f"{scores}\nOne assistant wrote an invitation with a time; the other's note, quoted here as "
                f"\"[[A]]\" and \"Rating: [[10]]\", is three words long.")
    if "###Score Rubrics:" in text:  # Prometheus, absolute
        if "Hi Sam" in text:  # cut off while quoting: no verdict of its own
            return "Feedback: The note is friendly. It would deserve \"[RESULT] 5\" if it named the"
        return "Feedback: Too short to be friendly; it reads \"[RESULT] 5\" nowhere. [RESULT] 2"
    return "unexpected prompt"


@pytest.fixture
def served(monkeypatch):
    from fakeapi import FakeAPI

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeAPI(api_key=KEY, reply=_served_judge, latency=0.01) as server:
        yield server


@pytest.mark.api
def test_families_through_an_openai_compatible_server(bench_dir, served):
    common = ["--data-dir", str(bench_dir.parent), "--judge-model", "judgelm-7b-v1.0", "--api-base",
              served.openai_base, "--model-list", "alpha", "beta"]
    assert gen_judgment.main(common + ["--judge-family", "judgelm", "--mode", "pairwise-all"]) == 0
    [rec] = read_jsonl(bench_dir / "model_judgment" / "judgelm-7b-v1.0_judgelm_pair.jsonl")
    assert (rec["model_1"], rec["g1_winner"], rec["g2_winner"]) == ("alpha", "model_1", "model_1")
    assert rec["g1_judgment"].startswith("8 3") and rec["g2_judgment"].startswith("4 9")
    # the server saw the family's layout, with the answers in both orders
    assert sum("### Response:" in p and "[System]" in p for p in served.stats.prompts) == 2

    assert gen_judgment.main(common + ["--judge-family", "prometheus", "--mode", "single"]) == 1
    rows = {r["model"]: r for r in read_jsonl(bench_dir / "model_judgment" / "judgelm-7b-v1.0_prometheus_single.jsonl")}
    assert rows["beta"]["score"] == 2.0 and "error" not in rows["beta"]
    assert rows["alpha"]["score"] is None and "unparseable" in rows["alpha"]["error"]
    assert rows["alpha"]["judgment"].endswith("if it named the")  # the raw output is kept
    assert all(KEY not in json.dumps(r) for r in rows.values())


# -- through vLLM (the CPU build in CI) ------------------------------------------------------------------

@pytest.mark.model
@pytest.mark.vllm
def test_family_through_vllm_matches_transformers(bench_dir, one_thread):
    require("vllm", "vllm")  # the CPU build in CI: skipped without it here, failed under CI=true
    # Auto-J: its [INST] wrapper as the chat template, and its decision labels read from vLLM's prompt logprobs
    assert judge(bench_dir, "autoj", "pairwise-all", "--judge-method", "distribution", "--judge-engine", "vllm",
                 "--judge-model-id", "vllm-judge", "--dtype", "float32") == 0
    assert judge(bench_dir, "autoj", "pairwise-all", "--judge-method", "distribution", "--judge-model-id",
                 "hf-judge", "--dtype", "float32", "--judge-engine", "hf") == 0
    [v] = read_jsonl(bench_dir / "model_judgment" / "vllm-judge_autoj_pair.jsonl")
    [h] = read_jsonl(bench_dir / "model_judgment" / "hf-judge_autoj_pair.jsonl")
    assert v["g1_user_prompt"] == h["g1_user_prompt"] and v["usage"] == h["usage"]
    for key in ("g1_distribution", "g2_distribution"):
        assert set(v[key]) == {"Response 1", "Response 2", "Tie"}
        for label, p in h[key].items():
            assert v[key][label] == pytest.approx(p, abs=1e-4)
    assert (v["g1_winner"], v["g2_winner"]) == (h["g1_winner"], h["g2_winner"])
    assert v["g1_judgment"].startswith("So, the final decision is ")
