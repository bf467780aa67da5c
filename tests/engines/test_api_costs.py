"""The cost preview: token counts (tiktoken, offline), the sampled count, the approximation, prices."""
from __future__ import annotations

import importlib.util
import json

import pytest

from llm_judge.bench import load_bench
from llm_judge.engines.api.costs import (APPROXIMATION, PriceTable, approximate_tokens, count_prompt_tokens, estimate,
                             token_counter)
from llm_judge.errors import InputError
from llm_judge.judging.matches import plan_matches
from llm_judge.judging.prompts import load_prompt_set

needs_vocab = pytest.mark.skipif(importlib.util.find_spec("bpe_openai") is None,
                                 reason="bpe-openai (tiktoken's vocabularies offline) is not installed")


def mt_bench_games(published_data, models: int = 3) -> list[list[dict[str, str]]]:
    bench = load_bench("mt_bench", published_data("mt_bench").parent)
    names = sorted(bench.answer_files())[:models]
    plan = plan_matches(bench, "single", names, bench.load_answers(names),
                        load_prompt_set(None, None, bench.language, bench.path, None))
    return [g for m in plan.matches for g in m.games()]


@needs_vocab
def test_tiktoken_counts_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_JUDGE_CACHE", str(tmp_path))  # an empty cache: the vocabulary must come bundled
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    count, method = token_counter("openai", "gpt-4-0613")
    assert method == "tiktoken cl100k_base"
    assert count("Hello world") == 2 and count("日本語") > 1
    count, method = token_counter("openai", "gpt-4o-mini")
    assert method == "tiktoken o200k_base" and count("Hello world") == 2
    assert len(list((tmp_path / "tiktoken").iterdir())) == 2  # both vocabularies, where tiktoken's cache looks


def test_approximation_is_stated_where_no_tokenizer_exists():
    for provider, model in (("anthropic", "claude-3-5-sonnet"), ("openai", "my-local-llama")):
        count, method = token_counter(provider, model)
        assert count is approximate_tokens and method.startswith(APPROXIMATION)
    assert approximate_tokens("abcdefgh") == 2 and approximate_tokens("日本語です") == 5


@needs_vocab
def test_sampled_count_is_close_to_the_exact_one(published_data):
    games = mt_bench_games(published_data)  # 480 judge prompts of real MT-bench answers
    count, _ = token_counter("openai", "gpt-4")
    exact, note = count_prompt_tokens(games, count, sample=None)
    sampled, note = count_prompt_tokens(games, count, sample=100)
    assert note.startswith(" on a sample of 100 of")
    assert abs(sampled - exact) / exact < 0.03
    # OpenAI's chat format: about 3 tokens per message and 3 for the reply, on top of the texts
    one = games[0]
    assert count_prompt_tokens([one], count) == (3 + sum(count(m["content"]) + 3 for m in one), "")


def test_estimate_and_price_table(published_data, tmp_path):
    games = mt_bench_games(published_data, models=1)
    est = estimate("anthropic", "claude-3-5-sonnet-20241022", games, 2048, PriceTable())
    assert est.calls == 160 and est.price.key == "claude-3-5-sonnet"
    assert est.cost() == pytest.approx((est.input_tokens * 3 + 160 * 250 * 15) / 1e6)
    assert est.max_cost() == pytest.approx((est.input_tokens * 3 + 160 * 2048 * 15) / 1e6)
    lines = est.lines()
    assert lines[0].startswith(f"estimate: 160 calls, {est.input_tokens:,} input tokens ({APPROXIMATION}")
    assert f"~${est.cost():,.2f} at claude-3-5-sonnet prices ($3 in / $15 out per 1M tokens)" in lines[1]
    unknown = estimate("openai", "my-finetune", games, 512, PriceTable())
    assert unknown.cost() is None and "no price for 'my-finetune'; give one with --price-table" in unknown.lines()[1]

    table = PriceTable()
    assert table.lookup("gpt-4o-mini-2024-07-18").key == "gpt-4o-mini"  # the longest matching prefix wins
    assert table.lookup("gpt-4-0613").key == "gpt-4" and table.lookup("GPT-4O").key == "gpt-4o"
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"my-finetune": {"input": 0.2, "output": 0.4}, "gpt-4": {"input": 1, "output": 2}}))
    mine = PriceTable.load(path)
    assert mine.lookup("my-finetune-v2").cost(1_000_000, 1_000_000) == pytest.approx(0.6)
    assert mine.lookup("gpt-4-0613").input == 1 and mine.lookup("gpt-4o").input == 2.5
    for bad, where in (({"x": {"input": 1}}, "field 'x': \"missing 'output'"), ({"x": 3}, "field 'x'"),
                       ({"x": {"input": -1, "output": 0}}, "must be a number >= 0"), ([1], "expected an object")):
        path.write_text(json.dumps(bad))
        with pytest.raises(InputError, match=str(path)) as info:
            PriceTable.load(path)
        assert where in str(info.value)
