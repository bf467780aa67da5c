"""The Python API (llm_judge/api.py): the three steps and a judge meta-evaluation through the functions alone, in
one process, write the same files and tables as the commands; the API prints nothing unless asked; and the
example of docs/library.md runs as written."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

import llm_judge
from llm_judge.cli import eval_judge, gen_judgment, gen_model_answer, show_result
from llm_judge.errors import ConfigError
from llm_judge.metaeval.evaluate import RunOptions
from llm_judge.progress import Event

from conftest import REPO, copy_demo_bench, published_path

VOLATILE = {"answer_id", "tstamp"}  # a fresh id and the time of writing, in every record


def records(path: Path) -> list[dict]:
    """A JSONL file's records without the fields that differ from run to run, in a stable order."""
    rows = [{k: v for k, v in json.loads(line).items() if k not in VOLATILE}
            for line in path.read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def labelled_set(path: Path) -> Path:
    """A small labelled pairwise set in our JSONL format: six pairs, two of them ties."""
    rows = [{"id": i, "question": f"Question {i}?", "response_1": f"Answer one to {i}.",
             "response_2": f"A second answer to {i}.", "label": ["1", "2", "tie"][i % 3], "subset": "s"}
            for i in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_api_alone_writes_what_the_commands_write(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # no command has set up logging yet in this process
    rules = tmp_path / "unsure.jsonl"
    rules.write_text('{"reply": "I am not sure; it depends."}\n', encoding="utf-8")
    labels = labelled_set(tmp_path / "pairs.jsonl")
    api_data, cli_data = copy_demo_bench(tmp_path / "api"), copy_demo_bench(tmp_path / "cli")

    # The functions, in one process, printing nothing.
    answered = [llm_judge.answer("demo_bench", "mock:echo", model_id="parrot", data_dir=api_data),
                llm_judge.answer("demo_bench", f"mock:{rules}", model_id="unsure", data_dir=api_data)]
    runs = [llm_judge.judge("demo_bench", "mock:judge", mode, data_dir=api_data) for mode in ("single", "pairwise-all")]
    shown = [llm_judge.results("demo_bench", "mock:judge", mode, data_dir=api_data, ratings=mode != "single",
                               bootstrap=20) for mode in ("single", "pairwise-all")]
    evaluated = llm_judge.evaluate_judge(labels, "mock:judge", run=RunOptions(output_dir=tmp_path / "api_eval"))
    assert capsys.readouterr() == ("", "")

    # The commands.
    common = ["--data-dir", str(cli_data)]
    assert gen_model_answer.main(common + ["--model-path", "mock:echo", "--model-id", "parrot"]) == 0
    assert gen_model_answer.main(common + ["--model-path", f"mock:{rules}", "--model-id", "unsure"]) == 0
    for mode in ("single", "pairwise-all"):
        assert gen_judgment.main(common + ["--judge-model", "mock:judge", "--mode", mode]) == 0
    capsys.readouterr()
    printed = []
    for mode, extra in (("single", []), ("pairwise-all", ["--ratings", "--bootstrap", "20"])):
        assert show_result.main(common + ["--judge-model", "mock:judge", "--mode", mode] + extra) == 0
        printed.append(capsys.readouterr().out)
    assert eval_judge.main(["run", str(labels), "--judge-model", "mock:judge",
                            "--output-dir", str(tmp_path / "cli_eval")]) == 0
    eval_printed = capsys.readouterr().out

    assert [(a.written, a.skipped, a.failed) for a in answered] == [(20, 0, 0), (20, 0, 0)]
    for model in ("parrot", "unsure"):
        path = Path("demo_bench", "model_answer", f"{model}.jsonl")
        assert records(api_data / path) == records(cli_data / path)
    assert [(r.mode, r.judges[0].judge, r.judges[0].written, r.judges[0].failed, r.exit_code) for r in runs] == [
        ("single", "judge", 54, 0, 0), ("pairwise-all", "judge", 27, 0, 0)]
    for name in ("judge_single.jsonl", "judge_pair.jsonl"):
        path = Path("demo_bench", "model_judgment", name)
        assert records(api_data / path) == records(cli_data / path)
    assert [res.render() + "\n" for res in shown] == printed
    assert shown[0].tables[0].to_dataframe()["model"].tolist() == ["parrot", "unsure"]
    assert shown[1].benches[0].ratings is not None
    assert (evaluated.written, evaluated.failed, evaluated.exit_code, evaluated.pairs) == (6, 0, 0, 6)
    assert evaluated.render() + "\n" == eval_printed
    assert records(tmp_path / "api_eval" / "pairs" / "judge_pair.jsonl") == records(
        tmp_path / "cli_eval" / "pairs" / "judge_pair.jsonl")


def test_a_rerun_skips_and_progress_goes_to_the_callback(data_dir, capfd, monkeypatch):
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a notebook: no command set up logging
    llm_judge.answer("demo_bench", "mock:echo", model_id="parrot", data_dir=data_dir, question_end=3)
    events: list[Event] = []
    run = llm_judge.judge("demo_bench", "mock:judge", data_dir=data_dir, on_event=events.append)
    kinds = [e.kind for e in events]
    assert kinds.count("record") == run.judges[0].written == 4  # three questions, four turns
    assert kinds.index("start") < kinds.index("record") and kinds[-2:] == ["done", "message"]
    assert events[kinds.index("start")].total == 4
    assert events[-1].text.startswith("judge on demo_bench: 4 judged, 0 already done, 0 failed")
    assert any(e.text.startswith("estimated time: ") for e in events)  # a local judge's probe, as it is heard
    again = llm_judge.judge("demo_bench", "mock:judge", data_dir=data_dir)
    assert (again.judges[0].skipped, again.judges[0].written, again.judges[0].to_do) == (4, 0, 0)
    assert capfd.readouterr() == ("", "")  # no callback, no verbose: nothing printed, not even a bar

    llm_judge.judge("demo_bench", "mock:judge", data_dir=data_dir, verbose=True)
    assert "4 judgments (single), 4 already in" in capfd.readouterr().err


def test_options_are_checked_like_the_flags(data_dir):
    with pytest.raises(TypeError, match="unknown option 'firstn' .*first_n"):
        llm_judge.judge("demo_bench", "mock:judge", data_dir=data_dir, firstn=2)
    with pytest.raises(ConfigError, match="two judges have the id 'judge'"):
        llm_judge.judge("demo_bench", ["mock:judge", "mock:judge"], data_dir=data_dir)
    with pytest.raises(ConfigError, match="no bench 'nope'"):
        llm_judge.answer("nope", "mock:echo", data_dir=data_dir)


def test_engine_takes_the_engine_flags_as_keywords(data_dir):
    config = llm_judge.engine("openai:Qwen2.5-7B", api_base="http://localhost:9/v1", parallel=64, dtype="float32",
                              max_model_len=4096)
    assert (config.provider, config.model, config.name) == ("openai", "Qwen2.5-7B", "Qwen2.5-7B")
    assert (config.api.parallel, config.api.api_base, config.hf.dtype, config.vllm.max_model_len) == (
        64, "http://localhost:9/v1", "float32", 4096)
    assert llm_judge.engine("mock:judge", workers=2).pool.workers == 2 and llm_judge.engine("mock:judge").pool is None
    with pytest.raises(TypeError, match="unknown engine option 'paralel' .*parallel"):
        llm_judge.engine("gpt-4o", paralel=8)
    named = llm_judge.engine("mock:judge", name="scripted")  # the judge id in file names
    run = llm_judge.judge("demo_bench", named, data_dir=data_dir, first_n=1, dry_run=True)
    assert run.dry_run and run.judges[0].output.name == "scripted_single.jsonl" and run.judges[0].written == 0


def test_import_llm_judge_loads_nothing_else():
    import subprocess
    import sys

    probe = ("import sys; before = set(sys.modules); import llm_judge; "
             "print(sorted(m for m in set(sys.modules) - before if m != 'types'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": ""}).stdout
    assert out.strip() == "['llm_judge', 'llm_judge.results']"  # results/__init__.py imports nothing
    assert callable(llm_judge.results) and llm_judge.results.tables.Table is not None


def doc_blocks() -> list[str]:
    text = (REPO / "docs" / "library.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


def test_the_docs_example_runs(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    blocks = doc_blocks()
    assert len(blocks) == 5
    needs_data = [i for i, block in enumerate(blocks) if "data/pandalm" in block]
    assert needs_data == [3]
    ns: dict = {}
    for block in blocks[:3] + blocks[4:]:
        exec(compile(block, str(REPO / "docs" / "library.md"), "exec"), ns)
    parrot, run, res = ns["parrot"], ns["run"], ns["res"]
    assert parrot.output == Path("data/demo_bench/model_answer/parrot.jsonl") and parrot.written == 20
    assert llm_judge.answer("demo_bench", "mock:echo", model_id="parrot").skipped == 20  # "a second call ..."
    assert run.judges[0].output == Path("data/demo_bench/model_judgment/judge_pair.jsonl")
    assert ns["per_model"].attrs["title"] == "pairwise: per model" and len(ns["per_model"]) == 2
    assert len(ns["seen"]) == 6 and len(ns["scores"]) == 6  # two questions: three turns, two models
    assert "== pairwise: per model ==" in capsys.readouterr().out

    testset = published_path("pandalm", "testset-v1.json")  # from the download cache, or skipped naming the fetch
    assert published_path("pandalm", "gpt-3.5-turbo-testset-v1.json").parent == testset.parent
    (project / "data" / "pandalm").symlink_to(testset.parent)  # where `download pandalm` puts them
    exec(compile(blocks[3], str(REPO / "docs" / "library.md"), "exec"), ns)
    ev = ns["ev"]
    assert ev.pairs == 20 and ev.written == 20 and [p.name for p in ev.judges] == ["gpt-3.5", "judge"]
    assert Path("judge_eval/pandalm/judge_pair.jsonl").exists()
    assert ns["agreement"]["judge"].tolist() == ["gpt-3.5", "judge"]
