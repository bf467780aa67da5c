"""The results browser, opened in headless Chromium and used as a person would: pick, click, read."""
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from cdp import Chromium, find_chromium
from conftest import REPO
from llm_judge.cli import browser
from llm_judge.jsonl import read_jsonl
RINNA = ["rinna-3.6b", "rinna-3.6b-ppo", "rinna-3.6b-sft-v2"]
SFT, PPO = "rinna-3.6b-sft-v2", "rinna-3.6b-ppo"
TRICKY = "</script><b>not bold</b> {answer_a} [[A]]"


@pytest.fixture
def site(published_data, tmp_path: Path) -> dict:
    """A data dir with jp_bench's questions, three rinna models' answers and GPT-4's pairwise judgments
    (all linked from the download cache), a few single judgments, and the demo bench with an answer full of markup."""
    src = published_data("jp_bench")
    jp = tmp_path / "data" / "jp_bench"
    for sub in ("model_answer", "model_judgment", "reference_answer"):
        (jp / sub).mkdir(parents=True)
    (jp / "question.jsonl").symlink_to(src / "question.jsonl")
    (jp / "reference_answer" / "gpt-4.jsonl").symlink_to(src / "reference_answer" / "gpt-4.jsonl")
    for m in RINNA:
        (jp / "model_answer" / f"{m}.jsonl").symlink_to(src / "model_answer" / f"{m}.jsonl")
    pairs = src / "model_judgment" / "fastchat_era_2023-08" / "gpt-4_pair.jsonl"
    (jp / "model_judgment" / "gpt-4_pair.jsonl").symlink_to(pairs)
    singles = [{"question_id": 62, "model": SFT, "judge": ["gpt-4", "single-v1"], "score": 8, "turn": 1,
                "judgment": "よく書けている。Rating: [[8]]"},
               {"question_id": 62, "model": PPO, "judge": ["gpt-4", "single-v1"], "score": None, "turn": 1,
                "judgment": "", "error": "rate limited"}]
    (jp / "model_judgment" / "gpt-4_single.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in singles), encoding="utf-8")
    demo = tmp_path / "data" / "demo_bench"
    (demo / "model_answer").mkdir(parents=True)
    for name in ("question.jsonl", "bench.json"):
        shutil.copy(REPO / "data" / "demo_bench" / name, demo / name)
    (demo / "model_answer" / "markup.jsonl").write_text(json.dumps(
        {"question_id": 1, "model_id": "markup", "choices": [{"index": 0, "turns": [TRICKY]}]}) + "\n", encoding="utf-8")
    out = tmp_path / "site"
    assert browser.main(["--data-dir", str(tmp_path / "data"), "--out", str(out)]) == 0
    questions = {q["question_id"]: q for q in read_jsonl(src / "question.jsonl")}
    answers = {m: {a["question_id"]: a["choices"][0]["turns"][0] for a in read_jsonl(src / "model_answer" / f"{m}.jsonl")}
               for m in RINNA}
    judgments = read_jsonl(pairs)
    return {"page": out / "index.html", "questions": questions, "answers": answers, "judgments": judgments}


@pytest.fixture
def chromium(tmp_path: Path):
    exe = find_chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; .ci/setup installs Debian's chromium package")
        pytest.skip("needs chromium (apt-get install chromium)")
    browser_ = Chromium(exe, tmp_path / "profile")
    yield browser_
    browser_.close()


def text(chromium: Chromium, selector: str) -> str:
    """What a person sees in the element: innerText leaves out hidden parts and closed <details>."""
    return chromium.js(f"document.querySelector({json.dumps(selector)}).innerText")


def first_words(s: str, n: int = 25) -> str:
    return s.strip().splitlines()[0][:n]


def test_page_is_self_contained(site):
    html = site["page"].read_text(encoding="utf-8")
    assert not re.search(r"""\s(src|href)\s*=""", html)  # no script, style or font fetched from anywhere
    assert "<!--@" not in html
    assert TRICKY not in html  # the answer's "</script>" cannot end the data block


def test_pick_question_and_read_answers_and_verdicts(site, chromium, tmp_path):
    chromium.open(site["page"].as_uri())
    assert chromium.errors() == []
    assert chromium.js("document.title") == "llm_judge results browser"
    benches = chromium.js("[...document.querySelectorAll('#bench option')].map(o => o.textContent)")
    assert benches == ["demo_bench (20 questions)", "jp_bench (80 questions)"]
    chromium.choose("#bench", "1")

    # filter by category: only the seven coding questions remain to pick from
    chromium.choose("#category", "coding")
    options = chromium.js("[...document.querySelectorAll('#question option')].map(o => o.value)")
    assert options == [str(q) for q in range(61, 68)]
    chromium.choose("#question", "61")

    assert site["questions"][61]["turns"][0][:30] in text(chromium, "#question-panel")
    # by default the first judged pair is shown side by side, in file order
    cards = chromium.js("[...document.querySelectorAll('#answers article')].map(a => a.dataset.model)")
    assert cards == [SFT, PPO]
    for i, m in enumerate(cards):
        shown = chromium.js(f"document.querySelectorAll('#answers article')[{i}].innerText")
        assert first_words(site["answers"][m][61]) in shown

    record = next(r for r in site["judgments"] if r["question_id"] == 61 and (r["model_1"], r["model_2"]) == (SFT, PPO))
    pairwise = text(chromium, "#pairwise")
    assert "Pairwise judgments (1)" in pairwise
    assert "Game 1: A = rinna-3.6b-sft-v2, B = rinna-3.6b-ppo" in pairwise
    assert "Game 2: A = rinna-3.6b-ppo, B = rinna-3.6b-sft-v2" in pairwise
    for g in ("g1", "g2"):
        assert first_words(record[f"{g}_judgment"], 40) in pairwise
    games = chromium.js("[...document.querySelectorAll('#pairwise .game .verdict')].map(v => v.textContent)")
    expected = []
    for g, first in (("g1", "model_1"), ("g2", "model_2")):
        w = record[f"{g}_winner"]
        expected.append("tie" if w == "tie" else f"{record[w]} wins ({'A' if w == first else 'B'})")
    assert games == expected
    agree = record["g1_winner"] == record["g2_winner"] != "tie"
    assert ("(both orders agree)" in pairwise) == agree

    # a real click on a model's box adds its answers and its games with the others
    chromium.click("#models input[value='rinna-3.6b']")
    cards = chromium.js("[...document.querySelectorAll('#answers article')].map(a => a.dataset.model)")
    assert cards == RINNA
    assert "Pairwise judgments (3)" in text(chromium, "#pairwise")

    # next question, by a click on the button: 62 has one scored and one failed single judgment
    chromium.click("#next")
    assert chromium.js("document.querySelector('#question').value") == "62"
    assert site["questions"][62]["turns"][0][:30] in text(chromium, "#question-panel")
    single = text(chromium, "#single")
    assert "Single-answer judgments (2)" in single
    assert re.search(r"rinna-3\.6b-sft-v2\s+1\s+8", single)
    assert "failed" in single and "rate limited" in single
    assert "score turn 1: 8" in chromium.js(f"document.querySelector('#answers article[data-model=\"{SFT}\"]').innerText")
    assert chromium.js("location.hash").startswith("#bench=jp_bench&q=62&models=")
    chromium.screenshot(tmp_path / "browser.png")
    assert (tmp_path / "browser.png").read_bytes()[:4] == b"\x89PNG"
    assert chromium.errors() == []


def test_markup_in_answers_is_shown_as_text(site, chromium):
    chromium.open(site["page"].as_uri() + "#bench=demo_bench&q=1&models=markup")
    card = text(chromium, "#answers article")
    assert TRICKY in card
    assert chromium.js("document.querySelectorAll('#answers b').length") == 0
    assert "No pairwise judgment" in text(chromium, "#pairwise")
    assert chromium.errors() == []


def test_serve_answers_over_loopback(site, tmp_path):
    import subprocess
    import sys
    import urllib.request

    data_dir = site["page"].parent.parent / "data"
    proc = subprocess.Popen([sys.executable, "-m", "llm_judge", "browser", "--data-dir", str(data_dir),
                             "--out", str(tmp_path / "served"), "--serve", "--port", "0"],
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        for line in proc.stderr:
            found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
            if found:
                break
        else:
            pytest.fail("the server did not say where it listens")
        with urllib.request.urlopen(found.group(1) + "index.html", timeout=10) as reply:
            page = reply.read().decode("utf-8")
        assert page == (tmp_path / "served" / "index.html").read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
