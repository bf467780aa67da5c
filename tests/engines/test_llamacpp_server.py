"""llama-cpp-python's OpenAI-compatible server on the bundled GGUF, driven through our OpenAI path (--api-base).

The server runs as its own process (``python -m llama_cpp.server`` on a loopback port, started in a new session
and ended by its process group). Answers and judgments go through the real openai SDK, as with any hosted judge;
the same llama.cpp runs in this process as the llamacpp engine, so its greedy answers and its label
probabilities are what the server's must agree with.
"""
from __future__ import annotations

import json
import sys

import pytest

from conftest import require
from servers import running_server

require("llama_cpp.server.app", "llamacpp")
pytestmark = [pytest.mark.model, pytest.mark.slow]

from llm_judge.cli import gen_judgment, gen_model_answer  # noqa: E402
from llm_judge.engines.base import GenRequest  # noqa: E402
from llm_judge.engines.config import APIOptions  # noqa: E402
from llm_judge.engines.llamacpp import LlamaCppModel  # noqa: E402
from llm_judge.engines.registry import open_engine, resolve  # noqa: E402
from llm_judge.engines.weights import bundled_gguf  # noqa: E402
from llm_judge.judging import api_distribution as ad  # noqa: E402
from llm_judge.judging.families import load_family  # noqa: E402
from llm_judge.judging.verdicts import parse_rating  # noqa: E402

STARTUP_S = 300
RATE = "Rate the answer from 1 to 10 and end with 'Rating: [[N]]'."
SHOTS = [{"role": "user", "content": f"{RATE}\nQuestion: What is 3+3?\nAnswer: 6"},
         {"role": "assistant", "content": "Correct and concise. Rating: [[10]]"},
         {"role": "user", "content": f"{RATE}\nQuestion: Name a color.\nAnswer: table"},
         {"role": "assistant", "content": "A table is not a color. Rating: [[2]]"}]
ASKED = [("What is the capital of France?", "Paris"), ("What is 10 times 10?", "1000"),
         ("Largest planet?", "Jupiter"), ("How many legs does a spider have?", "6"), ("Who wrote Hamlet?", "Goethe"),
         ("What color is the sky on a clear day?", "blue")]


@pytest.fixture(scope="module")
def server():
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--model_alias", "smol",
                "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--verbose", "false"]

    with running_server("llama.cpp", command, "/v1/models", STARTUP_S) as base:
        yield base


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-llama")  # the SDK needs one; the server checks none


@pytest.fixture(scope="module")
def local():
    with LlamaCppModel(None, "smol") as m:
        yield m


def test_answers_through_the_server_are_the_in_process_engines(server, local, data_dir):
    argv = ["--data-dir", str(data_dir), "--model-path", "smol", "--api-base", server, "--question-end", "3",
            "--max-new-token", "16", "--temperature", "0"]
    assert gen_model_answer.main(argv) == 0
    records = [json.loads(line) for line in (data_dir / "demo_bench" / "model_answer" / "smol.jsonl").open()]
    assert [r["question_id"] for r in records] == [1, 2, 3]
    assert all(r["generation"]["engine"] == "openai" and "error" not in r for r in records)
    from llm_judge.bench import load_bench

    # the bench samples its writing questions at 0.7 (bench.json); the greedy ones are compared
    greedy = [r for r in records if r["generation"]["temperature"] == 0.0]
    assert len(greedy) >= 2
    questions = {q.question_id: q for q in load_bench(str(data_dir / "demo_bench")).questions}
    here = local.generate([GenRequest([{"role": "user", "content": questions[r["question_id"]].turns[0]}],
                                      max_new_tokens=16) for r in greedy])
    for record, mine in zip(greedy, here):
        # The server's default repeat_penalty (1.1) only lowers tokens it has generated already, so the same
        # llama.cpp, file and template give our greedy answer up to the first token that repeats an earlier one.
        ids = local.gguf.tokenize(mine.text)
        j = next((k for k in range(len(ids)) if ids[k] in ids[:k]), len(ids))
        assert j >= 3 and record["choices"][0]["turns"][0].startswith(local.gguf.detokenize(ids[:j]))


def test_top_logprob_distributions_match_the_engines_label_scores(server, local):
    spec0 = load_family(None).distribution["single"][0]
    spec = GenRequest([], prefill=spec0.prefill_for("en"), score_choices=list(spec0.labels), score_suffix=spec0.suffix)
    chats = [SHOTS + [{"role": "user", "content": f"{RATE}\nQuestion: {q}\nAnswer: {a}"}] for q, a in ASKED]
    engine = open_engine(resolve("smol", api=APIOptions(api_base=server, parallel=2)))
    try:
        results = engine.generate([GenRequest(m, max_new_tokens=40, top_logprobs=ad.TOP_LOGPROBS) for m in chats])
    finally:
        engine.close()
    compared = 0
    for messages, result in zip(chats, results):
        assert result.ok and result.token_logprobs, result.error
        read = ad.read_distribution(result, spec, parse_rating)
        if (read.ok and read.distribution is None) or "not continued" in (read.error or ""):
            continue  # no verdict in the format, or "1" of 1 and 10 written (gen_judgment asks again for those)
        assert read.ok, (result.text, read.error)
        before = ad.start_reading(result, spec, parse_rating).before
        # The engine scores the same labels after the same text: the prompt, then the judge's words up to "[["
        [mine] = local.generate([GenRequest(messages, prefill=before, score_choices=list(spec.score_choices),
                                            score_suffix=spec.score_suffix)])
        # Close, not equal: the reader sees the 20 most likely tokens only and counts a label's closing tokens
        # as the judge wrote them, the engine scores "label]]" as one tokenized text (measured: up to 0.06 apart)
        theirs = read.distribution
        assert max(theirs, key=theirs.get) == max(mine.distribution, key=mine.distribution.get)
        assert sum(abs(theirs[k] - mine.distribution[k]) for k in theirs) / 2 <= 0.1, (result.text, theirs, mine)
        compared += 1
    assert compared >= 2, [r.text for r in results]


def test_distribution_judgments_through_the_cli(server, data_dir):
    common = ["--data-dir", str(data_dir)]
    assert gen_model_answer.main(common + ["--model-path", "default", "--question-end", "2",
                                           "--max-new-token", "16"]) == 0
    code = gen_judgment.main(common + ["--judge-model", "smol", "--api-base", server, "--judge-method", "distribution",
                                       "--mode", "single", "--first-n", "2", "--judge-max-new-token", "48"])
    assert code in (0, 1)  # 1: a judgment without a verdict in the format is an error record
    out = data_dir / "demo_bench" / "model_judgment" / "smol_single.jsonl"
    records = [json.loads(line) for line in out.open()]
    assert len(records) >= 2
    for r in records:
        if r.get("score_distribution"):
            assert sum(r["score_distribution"].values()) == pytest.approx(1.0) and "error" not in r
        else:
            assert r["error"] and r["score"] is None and r["judgment"]  # the judge's text is kept
