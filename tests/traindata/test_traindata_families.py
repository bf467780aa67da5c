"""Training data rendered with each judge family's prompts: every target reads back, with the family's own
verdict parser, as the label it was written for; records a family cannot express are skipped and counted."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_judge.judging import families
from llm_judge.judging.verdicts import pair_parser, single_parser
from llm_judge.traindata.convert import SourceSpec
from llm_judge.traindata.formats import get_format, rescale, round_half_up
from llm_judge.traindata.pipeline import BuildOptions, build  # noqa: E402


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    from conftest import published_path

    judgelm = tmp_path_factory.mktemp("judgelm") / "judgelm_train_100k.jsonl"
    rows = [{"question_id": i, "question_body": f"Give a word that rhymes with {w}.", "answer1_body": a,
             "answer2_body": b, "text": f"{s1} {s2}\nAssistant 1 says {a}; Assistant 2 says {b}.", "score": [s1, s2]}
            for i, (w, a, b, s1, s2) in enumerate([("cat", "hat", "dog", 9, 2), ("tree", "car", "free", 3, 8),
                                                   ("moon", "soon", "spoon", 7, 7)])]
    judgelm.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return [SourceSpec.parse(s) for s in (
        f"llmbar={published_path('llmbar', 'Natural', 'dataset.json')}",
        f"pandalm={published_path('pandalm', 'testset-v1.json')}",
        f"autoj={published_path('autoj', 'training', 'single_traindata.jsonl')}",
        f"prometheus={published_path('prometheus', 'vicuna_eval.json')}",
        f"judgelm={judgelm}")]


@pytest.mark.parametrize("family", ["fastchat", "autoj", "judgelm", "pandalm", "prometheus"])
def test_every_target_reads_back_with_the_family_parser(family: str, specs, tmp_path: Path):
    result = build(specs, tmp_path, BuildOptions(format=family, max_per_source=40, test_ratio=0.0))
    fam = families.load_family(family)
    fmt = get_format(family)
    assert result.train
    for rec, ex in result.train:
        prompt = fmt._prompt(rec)
        assert prompt.type == ("pairwise" if rec.pairwise else "single")
        assert ex["messages"][-2]["content"] == prompt.render(_values_for(rec))
        target = ex["messages"][-1]["content"]
        if rec.pairwise:
            assert pair_parser(prompt.output_format)(target) == rec.label
        else:
            scale = (1.0, 5.0) if family == "prometheus" else (1.0, 10.0)
            expected = rec.score if tuple(rec.scale) == scale else rescale(rec.score, rec.scale, scale)
            step = 2 if family == "autoj" else 1
            assert single_parser(prompt.output_format)(target) == round_half_up(expected * step) / step
    notes = {s["source"]: s["notes"] for s in result.stats}
    kinds = {"single" if len(r.responses) == 1 else "pairwise" for r, _ in result.train}
    assert kinds == set(fam.modes)
    if family == "pandalm":  # pairwise only: the single-grading sources are skipped
        assert any("have no single-answer prompt" in k for k in notes["autoj"])
    if family == "prometheus":  # relative grading has no ties
        assert any("a tie" in k for k in notes["pandalm"])
        assert not any(r.label == "tie" for r, _ in result.train)
    if family in ("judgelm",):  # a winner alone cannot fill JudgeLM's two scores
        assert any("needs two scores" in k for k in notes["llmbar"])
        assert {r.source for r, _ in result.train if r.pairwise} == {"judgelm"}
    if family in ("autoj", "judgelm", "pandalm", "prometheus"):
        assert result.files["yaml"].read_text().count("template:") == 1


def _values_for(rec):
    from llm_judge.traindata.formats import _values

    return _values(rec)


def test_rationale_speaks_the_family_s_names(specs, tmp_path: Path):
    result = build(specs[-1:], tmp_path, BuildOptions(format="autoj", test_ratio=0.0, swap=False))
    first = next(ex for rec, ex in result.train if rec.meta["question_id"] == 0)
    assert first["messages"][-1]["content"] == ("Response 1 says hat; Response 2 says dog.\n\n"
                                                "So, the final decision is Response 1")
    wrapped = build(specs[-1:], tmp_path / "j", BuildOptions(format="judgelm", test_ratio=0.0, swap=True))
    swapped = next(ex for rec, ex in wrapped.train if rec.meta.get("swapped") and rec.meta["question_id"] == 0)
    assert swapped["messages"][-1]["content"] == "2 9\nAssistant 2 says hat; Assistant 1 says dog."
    config = wrapped.files["yaml"].read_text()
    assert 'template: "empty"' in config  # JudgeLM's raw prompt, no chat template
    assert wrapped.chat_template and "messages" in wrapped.chat_template


def test_ours_names_the_fastchat_family():
    # make_traindata --judge-family ours and summaries written under the earlier name still work
    ours, fastchat = get_format("ours"), get_format("fastchat")
    assert ours.name == fastchat.name == "fastchat"
    assert families.load_family("ours") is families.load_family("fastchat")
