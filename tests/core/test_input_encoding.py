"""Files that are not UTF-8 give the one-line ``file:line: ...`` error, not a UnicodeDecodeError."""
from __future__ import annotations

from pathlib import Path

import pytest

from llm_judge import cli
from llm_judge.bench import load_bench
from llm_judge.cli import show_result
from llm_judge.errors import InputError
from llm_judge.jsonl import read_json_object, read_jsonl


def latin1_question(bench: Path) -> None:
    """Line 3 of question.jsonl saved as Latin-1 (what a Windows editor may do): é is the single byte 0xe9."""
    lines = (bench / "question.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = '{"question_id": 3, "category": "writing", "turns": ["Un caf\u00e9, s\'il vous pla\u00eet."]}\n'
    (bench / "question.jsonl").write_bytes("".join(lines[:2]).encode() + lines[2].encode("latin-1")
                                           + "".join(lines[3:]).encode())


def test_jsonl_not_utf8_names_line_and_column(data_dir):
    bench = data_dir / "demo_bench"
    latin1_question(bench)
    with pytest.raises(InputError) as err:
        read_jsonl(bench / "question.jsonl")
    assert str(err.value) == (f"{bench / 'question.jsonl'}:3: not UTF-8 text (byte 0xe9 at column 60); "
                              "save the file as UTF-8")
    with pytest.raises(InputError, match=r"question.jsonl:3: not UTF-8"):
        load_bench("demo_bench", data_dir)


def test_bench_json_not_utf8(data_dir):
    config = data_dir / "demo_bench" / "bench.json"
    config.write_bytes(b'{\n  "language": "en",\n  "description": "caf\xe9"\n}\n')
    with pytest.raises(InputError, match=r"bench.json:3: not UTF-8 text \(byte 0xe9 at column 22\)"):
        read_json_object(config)
    with pytest.raises(InputError, match=r"bench.json:3: not UTF-8"):
        load_bench("demo_bench", data_dir)


def test_cli_reports_one_line_exit_2(tmp_path, capsys):
    judgments = tmp_path / "gpt-4_single.jsonl"
    judgments.write_bytes(b'{"question_id": 1, "model": "a", "score": 8, "turn": 1}\n'
                          b'{"question_id": 2, "model": "\x93a\x94", "score": 6, "turn": 1}\n')
    assert cli.run(show_result.main, ["--input-file", str(judgments)]) == 2
    assert capsys.readouterr().err == (f"error: {judgments}:2: not UTF-8 text (byte 0x93 at column 30); "
                                       "save the file as UTF-8\n")
