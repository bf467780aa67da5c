"""--stop-at-verdict: each family's verdict_stop strings, and the requests a Judge builds with them."""
from __future__ import annotations

import json

import pytest

from llm_judge.engines.registry import resolve
from llm_judge.errors import ConfigError, InputError
from llm_judge.judging.families import family_names, load_family
from llm_judge.judging.judge import Judge
from llm_judge.judging.verdicts import pair_parser, single_parser


def _cut(text: str, stops: list[str]) -> str:
    """The text as an engine stopping at the first completed stop string leaves it (the stop kept)."""
    ends = [text.find(s) + len(s) for s in stops if s in text]
    return text[:min(ends)] if ends else text


@pytest.mark.parametrize("name", [n for n in family_names() if load_family(n).verdict_stop])
def test_a_verdict_cut_at_its_stop_string_parses_to_the_same_verdict(name):
    # Each distribution label written out is a complete verdict as the judge writes it; a judgment that
    # stops at the family's stop string must still read as that verdict, or stopping would lose it.
    family = load_family(name)
    for kind, specs in family.distribution.items():
        stops = family.stop_strings(kind == "pairwise")
        formats = {p.output_format for p in family.prompts.values() if p.type == kind}
        for spec in specs:
            for fmt in spec.formats or formats:
                if fmt == "last":  # rakuda's bare last-line number has no marker to stop at
                    continue
                parse = pair_parser(fmt) if kind == "pairwise" else single_parser(fmt)
                for text in spec.texts("en").values():
                    # where the family puts its verdict: after the reasoning, or on the first line (JudgeLM)
                    verdict = "Some reasoning first.\n" + text
                    try:
                        parse(verdict)
                    except Exception:
                        verdict = text
                    cut = _cut(verdict + " Then more text that a rambling judge adds.", stops)
                    assert any(cut.endswith(s) for s in stops), (name, kind, cut)
                    assert parse(cut) == parse(verdict), (name, kind, fmt, cut)


def test_judge_requests_carry_the_stop_only_when_asked(data_dir):
    from llm_judge.bench import load_bench
    from llm_judge.judging.matches import plan_matches

    bench = load_bench(str(data_dir / "demo_bench"))
    family = load_family(None)
    prompts = family.prompt_set(None, bench.config.judge_prompts, bench.language, bench.path, None)
    question = bench.questions[0]
    from llm_judge.records import Answer

    turns = ["Hi."] * len(question.turns)
    answers = {m: {question.question_id: Answer(question.question_id, m, [{"index": 0, "turns": turns}])}
               for m in ("a", "b")}
    match = plan_matches(bench, "pairwise-all", ["a", "b"], answers, prompts).matches[0]
    plain = Judge(resolve("default"), family).request(match, match.games()[0], "en")
    stopping = Judge(resolve("default"), family, stop_at_verdict=True).request(match, match.games()[0], "en")
    assert plain.stop is None and stopping.stop == ["]]"]
    # distribution reads no text, so there is nothing to stop
    scored = Judge(resolve("default"), family, "distribution", stop_at_verdict=True)
    assert scored.request(match, match.games()[0], "en").stop is None
    with pytest.raises(ConfigError, match="no verdict_stop for single judging"):
        load_family("multi-criteria").stop_strings(False)


def test_a_bad_verdict_stop_names_the_field(tmp_path):
    with open(load_family(None).source, encoding="utf-8") as f:
        obj = json.load(f)
    for bad, field in (({"single": []}, "verdict_stop.single"), ({"single": [""]}, "verdict_stop.single"),
                       ({"triple": ["]]"]}, "verdict_stop"), (["]]"], "verdict_stop")):
        path = tmp_path / "fam.json"
        path.write_text(json.dumps({**obj, "name": "fam", "verdict_stop": bad}), encoding="utf-8")
        with pytest.raises(InputError, match=field.replace(".", r"\.")):
            load_family(str(path))
