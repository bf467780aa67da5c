"""Public benches and data sets on demand: the download cache served as a mirror over a loopback HTTP server.

The server speaks Range requests and can be told to corrupt a file, drop a connection part-way, or ignore
ranges, so checksums, resume and redo are tested against real sockets and real files. The last tests run
the three steps on a downloaded bench and judge with each bench's own published prompts.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import data_mirror, published_path
from llm_judge import cli
from llm_judge.cli import download, gen_judgment, gen_model_answer, show_result
from llm_judge.bench import BenchConfig, load_bench
from llm_judge.benches.download import CONVERTERS
from llm_judge.benches.registry import REGISTRY_DIR, load_registry, registry_names
from llm_judge.judging.matches import plan_matches
from llm_judge.judging.prompts import load_prompt_set
from llm_judge.judging.run import pair_record
from llm_judge.judging.verdicts import PAIR_FORMATS, VerdictError, parse_last_line, single_parser
from llm_judge.engines.base import GenResult
from llm_judge.jsonl import read_jsonl

BENCHES = ["japanese_mt_bench", "jp_bench", "mt_bench", "rakuda", "vicuna_bench"]
DATA_SETS = ["alpaca_eval", "arena_hard_v0.1", "arena_hard_v2", "autoj", "judgebench", "llmbar", "pandalm", "prometheus", "rm_bench"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Mirror(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        srv: MirrorServer = self.server  # type: ignore[assignment]
        rel = urllib.parse.unquote(self.path.lstrip("/"))
        srv.requests.append((rel, self.headers.get("Range")))
        path = (srv.root / rel).resolve()
        if srv.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if rel in srv.corrupt:  # one flipped bit in the middle of the file
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 1]) + data[mid + 1:]
        start = 0
        ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if ranged and not srv.ignore_range:
            start = int(ranged.group(1))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = srv.cuts.get(rel)
        if cut and cut[0] > 0:  # send part of the body, then hang up
            cut[0] -= 1
            self.wfile.write(body[:cut[1]])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path):
        super().__init__(("127.0.0.1", 0), _Mirror)
        self.root = root.resolve()
        self.reset()

    def reset(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.corrupt: set[str] = set()
        self.cuts: dict[str, list[int]] = {}  # mirror path -> [times to cut, bytes sent before the cut]
        self.ignore_range = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


def cache_root() -> Path:
    """The download cache with every file of the registry in it (it is laid out as a mirror)."""
    return [published_path(load_registry(name).mirror_folder) for name in registry_names()][0].parent


@pytest.fixture(scope="module")
def mirror():
    server = MirrorServer(cache_root())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(mirror):
    mirror.reset()
    yield mirror
    mirror.reset()


def run_download(*args: str) -> int:
    return cli.run(download.main, list(args))


@pytest.fixture(scope="module")
def downloaded(mirror, tmp_path_factory):
    """Every bench and data set of the registry with its answers and judgments, fetched over HTTP from the mirror."""
    data = tmp_path_factory.mktemp("public") / "data"
    mirror.reset()
    assert run_download("all", "--with-answers", "--with-judgments", "--mirror", mirror.url,
                        "--data-dir", str(data)) == 0
    return data


# ---- the registry itself

def test_registry_lists_the_benches_and_data_sets():
    assert registry_names() == sorted(BENCHES + DATA_SETS)
    assert [n for n in registry_names() if load_registry(n).is_bench] == BENCHES


@pytest.mark.parametrize("name", BENCHES + DATA_SETS)
def test_registry_hashes_match_the_published_files(name, tmp_path):
    entry = load_registry(name)
    for src in entry.sources.values():
        assert src.url == f"https://raw.githubusercontent.com/{src.repo}/{src.commit}/" and len(src.commit) == 40
    folder = published_path(entry.mirror_folder)
    for f in entry.files:
        assert f.mirror.split("/")[0] == entry.mirror_folder or (name, f.dest) == ("vicuna_bench",
                                                                                   "judge_prompts.jsonl")
        if f.upstream_only and not (folder.parent / f.mirror).is_file():
            continue  # a mirror may lack it (tests/benches/test_upstream_only.py fetches one from upstream)
        data = published_path(f.mirror).read_bytes()
        assert (len(data), sha(data)) == (f.size, f.sha256), f.mirror
        if f.convert:
            out = tmp_path / "converted.jsonl"
            CONVERTERS[f.convert](published_path(f.mirror), out)
            assert sha(out.read_bytes()) == f.dest_sha256
    if entry.is_bench:
        (tmp_path / "bench.json").write_text(json.dumps(entry.bench), encoding="utf-8")
        BenchConfig.load(tmp_path / "bench.json")


@pytest.mark.parametrize("name", BENCHES + DATA_SETS)
def test_registry_commits_are_the_ones_the_mirror_names(name):
    """A mirror folder's PROVENANCE.md names the upstream commit of each of its files."""
    mirror = data_mirror()
    if mirror is None or not Path(mirror).is_dir():
        pytest.skip("compares the registry with a local mirror's PROVENANCE.md files; set LLM_JUDGE_MIRROR")
    entry = load_registry(name)
    for key, src in entry.sources.items():
        folders = {f.mirror.split("/")[0] for f in entry.files if f.source == key}
        provenance = "".join((Path(mirror) / d / "PROVENANCE.md").read_text(encoding="utf-8") for d in folders)
        assert src.commit[:7] in provenance


def test_list_shows_benches_and_data_sets(capsys):
    assert download.main(["--list"]) == 0
    rows = {line.split()[0]: line.split()[1:5] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["jp_bench"] == ["bench", "4", "53", "1"]
    assert rows["pandalm"] == ["data", "set", "1", "0"] and rows["alpaca_eval"][:4] == ["data", "set", "5", "3"]
    assert set(rows) == set(BENCHES + DATA_SETS)


def test_bad_registry_file_names_the_field(tmp_path, capsys):
    entry = json.loads((REGISTRY_DIR / "vicuna_bench.json").read_text())
    entry["files"][0]["dest"] = "../outside.jsonl"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(entry), encoding="utf-8")
    assert run_download(str(bad), "--data-dir", str(tmp_path / "data")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}: field 'files[0].dest'") and "relative path" in err
    assert not (tmp_path / "data").exists()
    assert run_download("no_such_bench") == 2
    assert "no public bench or data set 'no_such_bench'" in capsys.readouterr().err


def test_urls_print_upstream_mirror_path_and_hash(capsys):
    assert download.main(["rakuda", "--urls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # questions and the judge prompt; answers only with --with-answers
    url, mirror_path, digest = lines[0].split("\t")
    assert url.startswith("https://raw.githubusercontent.com/yuzu-ai/japanese-llm-ranking/fae1ee79")
    assert url.endswith("/jrank/data/rakuda_v2/questions.jsonl") and mirror_path == "rakuda/rakuda_v2/questions.jsonl"
    assert digest == sha(published_path(mirror_path).read_bytes())


# ---- downloading every bench over HTTP

@pytest.mark.parametrize("name", BENCHES)
def test_each_bench_downloads_verified(downloaded, name):
    entry = load_registry(name)
    bench_dir = downloaded / name
    for f in entry.files:
        assert sha(( bench_dir / f.dest).read_bytes()) == f.final_sha256, f.dest
    assert json.loads((bench_dir / "bench.json").read_text(encoding="utf-8")) == entry.bench
    bench = load_bench(name, downloaded)
    assert len(bench.answer_files()) == entry.count("answers")
    answers = bench.load_answers()  # every answer file parses
    qids = {q.question_id for q in bench.questions}
    for model, by_qid in answers.items():
        assert set(by_qid) & qids, model
    assert not list(downloaded.glob(".download-*"))  # the work folders are gone


@pytest.mark.parametrize("name", DATA_SETS)
def test_each_data_set_downloads_verified(downloaded, name):
    """A data set's folder holds its files at their upstream names, and no bench.json."""
    entry = load_registry(name)
    folder = downloaded / name
    # an upstream-only file is installed exactly when the mirror (the download cache, served) holds it
    files = [f for f in entry.files if not f.upstream_only or (cache_root() / f.mirror).is_file()]
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == \
        sorted(f.dest for f in files)
    for f in files:
        assert sha((folder / f.dest).read_bytes()) == f.sha256, f.dest


def test_data_sets_read_as_the_readers_expect(downloaded):
    from llm_judge.datasets import llmbar, pandalm

    assert len(pandalm.read(downloaded / "pandalm" / "testset-v1.json")) == 999
    assert len(llmbar.read(downloaded / "llmbar" / "Natural" / "dataset.json")) == 100
    questions = read_jsonl(downloaded / "arena_hard_v2" / "question.jsonl")
    assert len(questions) == 750 and {"uid", "prompt"} <= set(questions[0])
    pairs = read_jsonl(downloaded / "judgebench" / "data" / "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl")
    assert len(pairs) == 350 and {p["label"] for p in pairs} == {"A>B", "B>A"}


def test_conversions_and_layout(downloaded):
    rakuda = load_bench("rakuda", downloaded)
    assert len(rakuda.questions) == 40 and all(isinstance(q.question_id, str) for q in rakuda.questions)
    answers = rakuda.load_answers(["gpt-4-20230713"])["gpt-4-20230713"]
    assert set(answers) == {q.question_id for q in rakuda.questions}  # string ids line up
    jmt = load_bench("japanese_mt_bench", downloaded)
    converted = jmt.load_answers(["jslma-7b-ja-orca-11k-50ep"])["jslma-7b-ja-orca-11k-50ep"]
    assert set(converted) == set(range(1, 81))  # "1".."80" became 1..80
    upstream = read_jsonl(published_path("japanese_mt_bench", "model_answer", "jslma-7b-ja-orca-11k-50ep.jsonl"))
    assert [a.turns for a in converted.values()] == [r["choices"][0]["turns"] for r in upstream]
    assert len(jmt.reference_answers("gpt-4-raw")) == 80
    jp = load_bench("jp_bench", downloaded)
    refs = jp.reference_answers()  # upstream's reference_answer/gpt-4/results.jsonl
    assert sorted(refs) == list(range(61, 71))
    assert "tokyotech-llm--Swallow-70b-instruct-hf" in jp.answer_files()  # from the per-model folder layout


def test_rerun_finds_everything_in_place(downloaded, server, capsys):
    assert run_download("jp_bench", "--with-answers", "--with-judgments", "--mirror", server.url,
                        "--data-dir", str(downloaded)) == 0
    assert server.requests == []
    assert "0 files fetched (0.0 MB), 58 already in place" in capsys.readouterr().err


def test_local_folder_mirror_and_bad_mirror(tmp_path, capsys):
    data = tmp_path / "data"
    assert run_download("vicuna_bench", "--mirror", str(cache_root()), "--data-dir", str(data)) == 0
    assert len(load_bench("vicuna_bench", data).questions) == 80
    assert run_download("vicuna_bench", "--mirror", str(tmp_path / "nowhere"), "--data-dir", str(data)) == 2
    assert "not a folder, and not an http(s) URL" in capsys.readouterr().err


# ---- failures: checksums, interruptions, existing files

@pytest.mark.parametrize("bad", ["jp_bench/question.jsonl", "jp_bench/model_answer/rinna-3.6b.jsonl"])
def test_corrupted_file_is_rejected_and_nothing_is_left(server, tmp_path, capsys, bad):
    server.corrupt.add(bad)
    data = tmp_path / "data"
    assert run_download("jp_bench", "--with-answers", "--mirror", server.url, "--data-dir", str(data)) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("INFO ")]
    assert len(err) == 1
    good = published_path(bad).read_bytes()
    mid = len(good) // 2
    corrupted = good[:mid] + bytes([good[mid] ^ 1]) + good[mid + 1:]
    assert err[0] == (f"error: {server.url}{bad}: sha256 mismatch for {Path(bad).name}: expected {sha(good)}, "
                      f"got {sha(corrupted)} (file discarded)")
    leftovers = [p for p in data.rglob("*")] if data.exists() else []
    assert leftovers == []


def test_connection_dropped_mid_file_is_resumed(server, tmp_path):
    server.cuts["rakuda/rakuda_v2/questions.jsonl"] = [1, 1000]
    data = tmp_path / "data"
    assert run_download("rakuda", "--mirror", server.url, "--data-dir", str(data)) == 0
    asked = [r for p, r in server.requests if p == "rakuda/rakuda_v2/questions.jsonl"]
    assert asked == [None, "bytes=1000-"]
    expected = published_path("rakuda/rakuda_v2/questions.jsonl").read_bytes()
    assert (data / "rakuda" / "question.jsonl").read_bytes() == expected


def test_partial_from_an_interrupted_run_is_resumed_or_redone(server, tmp_path):
    source = published_path("rakuda/rakuda_v2/questions.jsonl").read_bytes()
    data = tmp_path / "data"
    part = data / ".download-rakuda" / "upstream" / "question.jsonl.part"
    part.parent.mkdir(parents=True)
    # 1. a true prefix: resumed with a Range request
    part.write_bytes(source[:3000])
    assert run_download("rakuda", "--mirror", server.url, "--data-dir", str(data)) == 0
    assert ("rakuda/rakuda_v2/questions.jsonl", "bytes=3000-") in server.requests
    assert (data / "rakuda" / "question.jsonl").read_bytes() == source
    # 2. a bad prefix: the resumed file fails its checksum, so it is fetched again from the start
    (data / "rakuda").rename(tmp_path / "first")
    server.reset()
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 3000)
    assert run_download("rakuda", "--mirror", server.url, "--data-dir", str(data)) == 0
    asked = [r for p, r in server.requests if p == "rakuda/rakuda_v2/questions.jsonl"]
    assert asked == ["bytes=3000-", None]
    assert (data / "rakuda" / "question.jsonl").read_bytes() == source
    # 3. a server that ignores ranges sends the whole file, which replaces the partial
    (data / "rakuda").rename(tmp_path / "second")
    server.reset()
    server.ignore_range = True
    part.parent.mkdir(parents=True)
    part.write_bytes(source[:3000])
    assert run_download("rakuda", "--mirror", server.url, "--data-dir", str(data)) == 0
    assert (data / "rakuda" / "question.jsonl").read_bytes() == source
    assert not part.parent.parent.exists()


def test_failed_download_leaves_the_bench_untouched_and_resumes_later(server, tmp_path, capsys):
    server.cuts["rakuda/rakuda_v2/questions.jsonl"] = [3, 2000]  # every attempt of this run is cut
    data = tmp_path / "data"
    assert run_download("rakuda", "--mirror", server.url, "--data-dir", str(data)) == 2
    err = capsys.readouterr().err.strip()
    assert "download failed after 3 attempts" in err and "rerun the same command to resume" in err
    assert not (data / "rakuda").exists()  # no half-made bench
    part = data / ".download-rakuda" / "upstream" / "question.jsonl.part"
    assert part.stat().st_size == 6000  # three cuts of 2000 bytes, each resumed from the last
    server.reset()
    assert run_download("rakuda", "--mirror", server.url, "--data-dir", str(data)) == 0
    assert server.requests[0] == ("rakuda/rakuda_v2/questions.jsonl", "bytes=6000-")
    assert sha((data / "rakuda" / "question.jsonl").read_bytes()) == load_registry("rakuda").files[0].sha256


def test_existing_different_file_is_kept_unless_forced(server, tmp_path, capsys):
    data = tmp_path / "data"
    assert run_download("jp_bench", "--with-judgments", "--mirror", server.url, "--data-dir", str(data)) == 0
    mine = data / "jp_bench" / "model_judgment" / "gpt-4_pair.jsonl"
    mine.write_text('{"question_id": 1, "model": "mine"}\n', encoding="utf-8")
    capsys.readouterr()
    assert run_download("jp_bench", "--with-judgments", "--mirror", server.url, "--data-dir", str(data)) == 2
    err = capsys.readouterr().err
    assert f"{mine} exists and differs from the published jp_bench file" in err and "--force" in err
    assert mine.read_text(encoding="utf-8") == '{"question_id": 1, "model": "mine"}\n'
    assert run_download("jp_bench", "--with-judgments", "--force", "--mirror", server.url,
                        "--data-dir", str(data)) == 0
    assert len(read_jsonl(mine)) == 240


# ---- every downloaded bench is judged with its own published prompts

def test_last_line_parser():
    parse = PAIR_FORMATS["last"]
    assert parse is parse_last_line
    assert parse("アシスタント1は正確で詳しい。アシスタント2は誤りがある。\n\n１") == "A"  # full-width, as the prompt writes it
    assert parse("両者とも2023年の情報に触れている。\n2\n") == "B"
    assert parse("評価: どちらとも言えないため3") == "tie"
    for bad in ("", "アシスタント1が良い。\n結論は以上です。", "スコア\n10"):
        with pytest.raises(VerdictError):
            parse(bad)


def test_japanese_rating_format():
    parse = single_parser("[[評価]]")
    assert parse("回答は正確で、例も適切です。\n評価：[[8]]") == 8.0
    assert parse("引用された回答に「[[2]]」とあるが、最終的な評価：[[6]]") == 6.0
    with pytest.raises(VerdictError):
        parse("評価できません")


def _plan(downloaded, name, mode, models):
    bench = load_bench(name, downloaded)
    prompts = load_prompt_set(None, bench.config.judge_prompts, bench.language, bench.path, bench.config.prompt_names)
    return bench, plan_matches(bench, mode, models, bench.load_answers(models), prompts)


def test_japanese_mt_bench_plans_turn_one_with_its_prompts(downloaded):
    bench, plan = _plan(downloaded, "japanese_mt_bench", "single", ["gpt-4", "jslma-7b-ja-orca-11k-50ep"])
    assert len(plan.matches) == 2 * 60 and {m.turn for m in plan.matches} == {1}  # its prompts grade turn 1 only
    names = {m.question.category: m.prompt.name for m in plan.matches}
    assert names["reasoning"] == "single-math-v1" and names["writing"] == "single-v1"
    reasoning = next(m for m in plan.matches if m.question.category == "reasoning")
    assert reasoning.reference and reasoning.reference[0] in reasoning.games()[0][-1]["content"]
    assert all(m.prompt.output_format == "[[評価]]" for m in plan.matches)


def test_rakuda_pairwise_with_its_last_line_prompt(downloaded):
    bench, plan = _plan(downloaded, "rakuda", "pairwise-all", ["claude-2", "gpt-4-20230713"])
    assert len(plan.matches) == 40 and {m.prompt.name for m in plan.matches} == {"pair-ja"}
    match = plan.matches[0]
    g1, g2 = match.games()
    assert match.answers[0].turns[0] in g1[-1]["content"] and "アシスタント1の回答の開始" in g1[-1]["content"]
    record = pair_record(match, "judge", "rakuda", GenResult(text="理由……\n１"), GenResult(text="理由……\n2"),
                         (g1[-1]["content"], g2[-1]["content"]))
    assert record.question_id == bench.questions[0].question_id
    # g1 shows claude-2 first and picks assistant 1; g2 shows it second and picks assistant 2: both claude-2
    assert (record.g1_winner, record.g2_winner) == ("model_1", "model_1") and record.error is None


def test_jp_bench_published_judgments_reproduce_the_published_win_rates(downloaded, capsys):
    assert show_result.main(["--data-dir", str(downloaded), "--bench-name", "jp_bench", "--mode", "pairwise-all",
                             "--format", "json"]) == 0
    tables = json.loads(capsys.readouterr().out)
    per_pair = next(t for t in tables if t["title"].startswith("pairwise: per pair"))
    rows = {(r["model_1"], r["model_2"]): (r["win"], r["tie"], r["loss"]) for r in per_pair["rows"]}
    # the numbers in the data's provenance (a pair is a tie when the two orders disagree)
    assert rows[("rinna-3.6b-sft-v2", "rinna-3.6b-ppo")] == pytest.approx((23.75, 40.0, 36.25))
    assert rows[("rinna-3.6b", "rinna-3.6b-ppo")] == pytest.approx((6.25, 28.75, 65.0))
    assert rows[("rinna-3.6b", "rinna-3.6b-sft-v2")] == pytest.approx((10.0, 30.0, 60.0))


@pytest.mark.model
def test_three_steps_on_downloaded_jp_bench(downloaded, default_model_path, capsys):
    data = str(downloaded)
    assert gen_model_answer.main(["--data-dir", data, "--bench-name", "jp_bench", "--model-path", "default",
                                  "--model-id", "smol", "--question-end", "1", "--max-new-token", "8"]) == 0
    mine = read_jsonl(downloaded / "jp_bench" / "model_answer" / "smol.jsonl")
    assert [r["question_id"] for r in mine] == [1]
    out = downloaded / "jp_bench" / "model_judgment" / "local_pair.jsonl"
    # a generated and a downloaded answer file; 1 question x 1 pair x both orders = 2 forward passes of
    # ~950 tokens each (Japanese takes many tokens in SmolLM2's vocabulary)
    assert gen_judgment.main(["--data-dir", data, "--bench-name", "jp_bench", "--judge-model", "default",
                              "--judge-method", "distribution", "--mode", "pairwise-all", "--first-n", "1",
                              "--batch-size", "2", "--model-list", "smol", "rinna-3.6b-ppo",
                              "--output-file", str(out)]) == 0
    records = read_jsonl(out)
    assert [(r["question_id"], r["model_1"], r["model_2"]) for r in records] == [(1, "smol", "rinna-3.6b-ppo")]
    for r in records:
        assert "error" not in r and r["judge"][1] == "pair"  # jp_bench's later prompt name, from its bench.json
        assert r["g1_winner"] in ("model_1", "model_2", "tie") and r["g2_winner"] in ("model_1", "model_2", "tie")
        assert "[ユーザーの質問]" in r["g1_user_prompt"]
        assert abs(sum(r["g1_distribution"].values()) - 1) < 1e-6
    capsys.readouterr()
    assert show_result.main(["--input-file", str(out), "--mode", "pairwise-all", "--format", "json"]) == 0
    per_model = json.loads(capsys.readouterr().out)[0]
    assert {row["model"] for row in per_model["rows"]} == {"smol", "rinna-3.6b-ppo"}
    smol = next(row for row in per_model["rows"] if row["model"] == "smol")
    assert smol["win"] + smol["loss"] + smol["tie"] == 1  # the two orders make one combined verdict


def test_jp_bench_earlier_prompt_file_works_beside_its_renamed_prompts(downloaded):
    bench = load_bench("jp_bench", downloaded)
    models = ["rinna-3.6b", "rinna-3.6b-ppo"]
    for judge_file, general, math in ((None, "pair", "pair-math"),
                                      (bench.path / "judge_prompts_jp2.jsonl", "pair-v2", "pair-math-v1")):
        prompts = load_prompt_set(judge_file, bench.config.judge_prompts, bench.language, bench.path,
                                  bench.config.prompt_names)
        plan = plan_matches(bench, "pairwise-all", models, bench.load_answers(models), prompts)
        names = {m.question.category: m.prompt.name for m in plan.matches}
        assert names["generic"] == general and names["math"] == math and names["coding"] == math
