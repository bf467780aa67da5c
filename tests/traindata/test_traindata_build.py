"""make_traindata end to end: real sources in, LLaMA-Factory files out; split, swaps, reference drop, merge."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from llm_judge.cli import make_traindata
from llm_judge.bench import load_bench
from llm_judge.cli import run
from llm_judge.errors import ConfigError, InputError
from llm_judge.engines.registry import resolve
from llm_judge.judging.families import load_family
from llm_judge.judging.judge import Judge
from llm_judge.judging.matches import plan_matches
from llm_judge.judging.prompts import load_prompt_set
from llm_judge.judging.run import judgment_store, pending, run_matches
from llm_judge.engines.base import ChatModel, GenResult
from llm_judge.traindata import formats
from llm_judge.traindata.convert import SourceSpec
from llm_judge.traindata.llamafactory import check_example
from llm_judge.traindata.rationale import rename
from llm_judge.traindata.pipeline import BuildOptions, build
from llm_judge.traindata.record import JudgeRecord

# LLaMA-Factory's data/README.md, "OpenAI Format": the dataset_info.json entry for a messages column.
OPENAI_ENTRY = {"formatting": "sharegpt", "columns": {"messages": "messages"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant", "system_tag": "system"}}


def load_split(out: Path, name: str, split: str) -> tuple[list[dict], list[JudgeRecord]]:
    examples = json.loads((out / f"{name}_{split}.json").read_text(encoding="utf-8"))
    records = [JudgeRecord.from_json(json.loads(line))
               for line in (out / f"{name}_{split}.records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert isinstance(examples, list) and len(examples) == len(records)
    return examples, records


def assert_openai_layout(example: dict) -> None:
    """The layout LLaMA-Factory's sharegpt reader accepts with the OpenAI tags (checked here by hand too)."""
    assert set(example) == {"messages"}
    roles = [m["role"] for m in example["messages"]]
    assert roles[0] == "system" and roles[1:] == ["user", "assistant"] * ((len(roles) - 1) // 2)
    assert all(set(m) == {"role", "content"} and m["content"].strip() for m in example["messages"])
    check_example(example)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, shared_module):
    """One build over four real sources, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("mixed")
    (out / "dataset_info.json").write_text(json.dumps({"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}}))
    specs = [SourceSpec.parse(s) for s in (
        f"llmbar={shared_module('llmbar', 'Natural', 'dataset.json')}",
        f"autoj={shared_module('autoj', 'training', 'single_traindata.jsonl')}",
        f"pandalm={shared_module('pandalm', 'testset-v1.json')}",
        f"judgments={shared_module('jp_bench', 'model_judgment', 'fastchat_era_2023-08', 'gpt-4_pair.jsonl')}")]
    result = build(specs, out, BuildOptions(name="mix", test_ratio=0.2, seed=7, max_per_source=120))
    return out, result


@pytest.fixture(scope="module")
def shared_module():
    from conftest import published_path

    return published_path


def test_files_match_llamafactory_openai_layout(mixed):
    out, result = mixed
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["alpaca_en_demo"] == {"file_name": "alpaca_en_demo.json"}  # someone else's entry survives
    assert info["mix"] == {"file_name": "mix_train.json", **OPENAI_ENTRY}
    assert info["mix_test"] == {"file_name": "mix_test.json", **OPENAI_ENTRY}
    for split in ("train", "test"):
        examples, records = load_split(out, "mix", split)
        for ex in examples:
            assert_openai_layout(ex)
    config = yaml.safe_load(result.files["yaml"].read_text(encoding="utf-8"))
    assert config["stage"] == "sft" and config["finetuning_type"] == "lora" and config["dataset"] == "mix"
    assert config["eval_dataset"] == "mix_test" and Path(config["dataset_dir"]) == out.resolve()
    assert config["template"] == "smollm2" and config["model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_split_by_question_never_leaks(mixed):
    out, _ = mixed
    train_ex, train = load_split(out, "mix", "train")
    test_ex, test = load_split(out, "mix", "test")
    assert not {r.group_key() for r in train} & {r.group_key() for r in test}
    prompts = lambda exs: {json.dumps(e["messages"][:-1]) for e in exs}  # noqa: E731
    assert not prompts(train_ex) & prompts(test_ex)
    assert len(prompts(train_ex)) == len(train_ex)  # de-duplicated by prompt
    for source in ("llmbar", "autoj", "pandalm", "judgments"):
        assert any(r.source == source for r in test), f"{source} has no test question"


def test_labels_and_targets_agree(mixed):
    out, _ = mixed
    examples, records = load_split(out, "mix", "train")
    marks = {"A": "[[A]]", "B": "[[B]]", "tie": "[[C]]"}
    for ex, rec in zip(examples, records):
        target = ex["messages"][-1]["content"]
        last = target.splitlines()[-1]
        if rec.pairwise:
            assert last == marks[rec.label]
            user = ex["messages"][1]["content"]
            assert user.index(rec.responses[0]) <= user.rindex(rec.responses[1])
        else:
            assert last in (f"Rating: [[{int(rec.score + 0.5)}]]", f"評価：[[{int(rec.score + 0.5)}]]")
        if rec.rationale:  # the teacher's words, its names for the responses turned into the prompt's
            ja = "【ユーザーの質問】" in ex["messages"][1]["content"]
            mine = ("アシスタントA", "アシスタントB") if ja else ("Assistant A", "Assistant B")
            said = rename(rec.rationale, dict(zip(rec.names, mine))) if rec.names else rec.rationale
            assert target == f"{said}\n\n{last}"
        else:
            assert target == last
    # jp_bench questions get our Japanese prompt, the English sources the English one
    ja = [ex for ex, rec in zip(examples, records) if rec.source == "judgments"]
    assert ja and all("【ユーザーの質問】" in ex["messages"][1]["content"] for ex in ja)
    assert all("<|The Start of the User's Question|>" in ex["messages"][1]["content"]
               for ex, rec in zip(examples, records) if rec.source != "judgments")


def test_swaps_come_in_pairs_with_labels_swapped(mixed):
    out, result = mixed
    _, train = load_split(out, "mix", "train")
    llmbar = [r for r in train if r.source == "llmbar"]
    originals = {r.content_key(): r for r in llmbar if not r.meta.get("swapped")}
    copies = [r for r in llmbar if r.meta.get("swapped")]
    assert len(copies) == len(originals) > 0
    swap = {"A": "B", "B": "A"}
    for copy in copies:
        back = copy.swapped()
        assert originals[back.content_key()].label == swap[copy.label]
    labels = Counter(r.label for r in llmbar)
    assert labels["A"] == labels["B"]  # both orders of every task: balanced by construction
    stats = {s["source"]: s for s in result.stats}
    assert stats["llmbar"]["swapped"] == sum(1 for r in llmbar if r.meta.get("swapped")) + sum(
        1 for r in load_split(out, "mix", "test")[1] if r.source == "llmbar" and r.meta.get("swapped"))
    # FastChat pair files hold both orders already: a swap whose other game was sampled too is a duplicate
    judged = stats["judgments"]
    assert judged["prompt_duplicates"] > 0
    assert judged["swapped"] + judged["prompt_duplicates"] == judged["converted"] == 120


def test_same_seed_same_files_other_seed_other_split(tmp_path: Path, published_data):
    specs = [SourceSpec.parse(f"llmbar={published_data('llmbar', 'Natural', 'dataset.json')}")]
    a, b, c = (build(specs, tmp_path / d, BuildOptions(seed=s)) for d, s in (("a", 1), ("b", 1), ("c", 2)))
    read = lambda d: (tmp_path / d / "judge_sft_train.json").read_bytes()  # noqa: E731
    assert read("a") == read("b") != read("c")
    assert len(a.test) == 2 * 10  # 10% of 100 questions, both orders


def test_reference_drop_rate(tmp_path: Path, published_data):
    spec = [SourceSpec.parse(f"prometheus={published_data('prometheus', 'vicuna_eval.json')}")]
    kept = build(spec, tmp_path / "keep", BuildOptions(test_ratio=0.0))
    assert all(r.reference for r, _ in kept.train)
    assert all("Reference Solution" in ex["messages"][1]["content"] for _, ex in kept.train)
    half = build(spec, tmp_path / "half", BuildOptions(test_ratio=0.0, ref_drop=0.5))
    dropped = [r for r, _ in half.train if r.meta.get("reference_dropped")]
    assert 0.35 * 320 < len(dropped) < 0.65 * 320
    assert all(r.reference is None for r in dropped)
    for rec, ex in half.train:
        assert ("Reference Solution" in ex["messages"][1]["content"]) == (rec.reference is not None)
    assert half.notes["score rescaled 1-5 -> 1-10"] == 320  # Prometheus grades 1-5, our prompt 1-10


def test_bad_input_writes_nothing_and_names_the_line(tmp_path: Path, published_data):
    bad = tmp_path / "bad.jsonl"
    good = published_data("autoj", "training", "single_traindata.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    bad.write_text("\n".join(good + ['{"usrmsg": 5}']) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"bad.jsonl:4: field 'usrmsg': must be str"):
        build([SourceSpec.parse(f"autoj={bad}")], out, BuildOptions())
    assert not out.exists()
    out.mkdir()
    (out / "dataset_info.json").write_text("{not json")
    with pytest.raises(InputError, match="dataset_info.json:1: invalid JSON"):
        build([SourceSpec.parse(f"llmbar={published_data('llmbar', 'Natural', 'dataset.json')}")], out, BuildOptions())
    assert (out / "dataset_info.json").read_text() == "{not json"
    assert sorted(p.name for p in out.iterdir()) == ["dataset_info.json"]


def test_cli_prints_summary_and_reports_errors(tmp_path: Path, published_data, capsys):
    natural = published_data("llmbar", "Natural", "dataset.json")
    code = run(make_traindata.main, ["--out-dir", str(tmp_path), "--source", f"llmbar={natural}", "--name", "bar",
                                     "--no-swap", "--finetuning-type", "full"])
    out = capsys.readouterr().out
    assert code == 0
    assert "llmbar: 100 converted" in out and "train 90, test 10" in out and "labels: A=" in out
    assert (tmp_path / "bar_full_sft.yaml").exists()
    assert run(make_traindata.main, ["--out-dir", str(tmp_path), "--source", "llmbar=/nonexistent/x.json"]) == 2
    assert "error: /nonexistent/x.json: file not found" in capsys.readouterr().err


class ScriptedJudge(ChatModel):
    """A judge that answers like a careful API judge would (no model: the writer is what is exercised)."""

    name = "scripted-gpt"

    def stream(self, requests):
        for i, req in enumerate(requests):
            user = req.messages[-1]["content"]
            dist = None
            if "Rating" in req.messages[0]["content"] or "評価" in req.messages[0]["content"]:
                text, dist = "The reply is short and only partly answers.\nRating: [[4]]", {"4": 0.75, "5": 0.25}
            elif user.index("In short:") < user.index("I think"):
                text = "Assistant A answers directly; Assistant B hedges.\n\n[[A]]"
            else:
                text = "Assistant B answers directly; Assistant A hedges.\n\n[[B]]"
            yield i, GenResult(text=text, distribution=dist) if i != 1 else GenResult(error="rate limited")


def test_own_judgment_files_single_and_pair(tmp_path: Path, data_dir: Path):
    """Judgments written by this harness's judge runner (single and pairwise-all, turn 1 and 2, with
    references for math) become training data; failed ones are skipped."""
    bench = load_bench("demo_bench", data_dir)
    answers = data_dir / "demo_bench" / "model_answer"
    answers.mkdir()
    picked = [q for q in bench.questions if q.question_id in (1, 2, 6, 7)]
    for model, style in (("alpha", "In short: {}"), ("beta", "I think the answer is about: {}")):
        rows = [{"question_id": q.question_id, "model_id": model, "answer_id": f"{model}{q.question_id}",
                 "choices": [{"index": 0, "turns": [style.format(t[:40]) for t in q.turns]}], "tstamp": 0.0}
                for q in picked]
        (answers / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    bench = load_bench("demo_bench", data_dir)
    bench.questions = picked
    loaded = bench.load_answers(["alpha", "beta"])
    prompts = load_prompt_set(None, bench.config.judge_prompts, bench.language)
    files = {}
    for mode in ("single", "pairwise-all"):
        plan = plan_matches(bench, mode, ["alpha", "beta"], loaded, prompts)
        files[mode] = bench.judgment_dir / f"scripted-gpt_{'single' if mode == 'single' else 'pair'}.jsonl"
        with judgment_store(files[mode], mode != "single") as store:
            judge = Judge(resolve("mock:scripted-gpt"), load_family(None), model=ScriptedJudge())
            run_matches(judge, bench.name, pending(plan.matches, store, judge.id), store, bench.language)
    single = [json.loads(x) for x in files["single"].read_text().splitlines()]
    pair = [json.loads(x) for x in files["pairwise-all"].read_text().splitlines()]
    assert sum(1 for r in single + pair if r.get("error")) == 2  # the scripted failures, kept with an error
    result = build([SourceSpec.parse(f"judgments={files['single']}"), SourceSpec.parse(f"ours={files['pairwise-all']}")],
                   tmp_path / "own", BuildOptions(name="own", test_ratio=0.0, swap=False))
    records = [r for r, _ in result.train]
    singles = [r for r in records if not r.pairwise]
    assert len(singles) == sum(1 for r in single if not r.get("error")) == 11
    assert len(records) - len(singles) == 2 * sum(1 for r in pair if not r.get("error")) == 10
    assert result.stats[0]["notes"] == {"failed judgment (error, no verdict)": 2}  # one per file
    for row in single:
        if row.get("error"):
            continue
        rec = next(r for r in singles if (r.meta["question_id"], r.meta["models"], r.meta["turn"]) ==
                   (row["question_id"], [row["model"]], row["turn"]))
        assert rec.score == row["score"] == 4 and rec.responses[0] in row["user_prompt"]
        assert rec.rationale == "The reply is short and only partly answers."
        assert rec.meta["score_distribution"] == {"4": 0.75, "5": 0.25}  # kept for distribution training
        assert (rec.reference is not None) == ("math" in row["judge"][1])
        if row["turn"] == 2:
            assert rec.history and rec.history[0].question in row["user_prompt"]
    for rec, ex in result.train:
        assert_openai_layout(ex)
        if rec.pairwise:  # the verdict follows the better answer, whichever side it was shown on
            better = "A" if rec.responses[0].startswith("In short") else "B"
            assert rec.label == better and ex["messages"][-1]["content"].endswith(f"[[{better}]]")
            assert ex["messages"][-1]["content"].startswith(f"Assistant {better} answers directly")


def test_format_hook_registered_family(tmp_path: Path, published_data):
    class Plain:
        name = "plain"

        def messages(self, record):
            verdict = record.label if record.pairwise else f"{record.score:g}"
            return [{"role": "user", "content": f"Judge: {record.question}\n1) {record.responses[0]}"},
                    {"role": "assistant", "content": f"Verdict: {verdict}"}]

    formats.register_format("plain", lambda language: Plain())
    result = build([SourceSpec.parse(f"llmbar={published_data('llmbar', 'Natural', 'dataset.json')}")], tmp_path,
                   BuildOptions(format="plain", test_ratio=0.0, swap=False))
    assert all(ex["messages"][-1]["content"] == f"Verdict: {r.label}" for r, ex in result.train)
    with pytest.raises(ConfigError, match="nosuchfamily"):
        formats.get_format("nosuchfamily")


def test_records_file_rebuilds_the_same_examples(tmp_path: Path, published_data):
    judgments = published_data("jp_bench", "model_judgment", "fastchat_era_2023-08", "gpt-4_pair.jsonl")
    first = build([SourceSpec.parse(f"judgments={judgments}")],
                  tmp_path / "a", BuildOptions(test_ratio=0.0, swap=False))
    again = build([SourceSpec.parse(f"records={first.files['train'].with_suffix('.records.jsonl')}")],
                  tmp_path / "b", BuildOptions(test_ratio=0.0, swap=False))
    as_set = lambda result: sorted(json.dumps(ex, ensure_ascii=False) for _, ex in result.train)  # noqa: E731
    assert len(first.train) == 480 and as_set(first) == as_set(again)
    assert {s["source"]: s["converted"] for s in again.stats} == {"judgments": 480}


def test_summary_of_a_source_with_pairwise_and_single_records():
    # two Auto-J files of one kind (pairwise and single training data) used to crash the summary
    from llm_judge.traindata.summary import _balance

    assert _balance({"A": 3, "B": 1}) == "A=3 (75%) B=1 (25%) tie=0 (0%)"
    assert _balance({"8": 1, "6": 1}) == "mean score 7.00 [6:1 8:1]"
    assert _balance({"A": 1, "tie": 1, "10": 2, "7": 1}) == "A=1 (50%) B=0 (0%) tie=1 (50%); mean score 9.00 [7:1 10:2]"
