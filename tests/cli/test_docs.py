"""The docs stay true: every command line in README.md and docs/*.md parses with that command's real argparse
parser (nothing is run), and every relative link points to a file, or a heading, that exists."""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from llm_judge.__main__ import COMMANDS

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Names a doc may use bare, as console scripts; whether setup.py really installs one is checked.
SCRIPT_NAMES = {"gen_model_answer", "gen_judgment", "show_result", "eval_judge", "make_traindata", "llm_judge"}
SEPARATORS = {"|", "||", "&&", ";", "&"}
FENCE = re.compile(r"^\s*(```|~~~)")
# Where a command starts: the line's start or after a shell separator, then an optional prompt and VAR=value.
COMMAND_START = re.compile(r"(?:^|[;&|])\s*(?:\$\s+)?(?:[A-Za-z_]\w*=\S*\s+)*(?:\S*python3?\s+-m\s+llm_judge\b|(?:"
                           + "|".join(sorted(SCRIPT_NAMES)) + r")(?:\s|$))")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class Command:
    where: str          # README.md:25, for the failure message
    invoked: str        # how the doc calls it: "python -m llm_judge.show_result", "gen_judgment", ...
    module: str         # llm_judge.cli.<command>
    argv: tuple[str, ...]


def code_blocks(text: str) -> Iterator[tuple[int, str]]:
    """(line number, logical line) of every fenced code block line, backslash continuations joined."""
    inside, pending, start = False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside, pending = not inside, ""
            continue
        if not inside:
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""


def console_scripts() -> set[str]:
    """The console scripts setup.py installs (read from its text: running setup.py is not an option here)."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    entries = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return {e.split("=", 1)[0].strip() for e in entries if re.fullmatch(r"\s*\w+\s*=\s*[\w.]+:\w+\s*", e)}


def _segments(line: str) -> Iterator[list[str]]:
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lex.whitespace_split = True
    segment: list[str] = []
    for token in lex:
        if token in SEPARATORS:
            yield segment
            segment = []
        else:
            segment.append(token)
    yield segment


def _command(tokens: list[str], where: str) -> Command | None:
    while tokens and (tokens[0] == "$" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tokens[0])):  # prompt, VAR=
        tokens = tokens[1:]
    if len(tokens) >= 3 and Path(tokens[0]).name.startswith("python") and tokens[1] == "-m" \
            and (tokens[2] == "llm_judge" or tokens[2].startswith("llm_judge.")):
        invoked, rest = " ".join(tokens[:3]), tokens[3:]
        if tokens[2] != "llm_judge":
            return Command(where, invoked, tokens[2], tuple(rest))  # the shim module itself, checked to exist
    elif tokens and tokens[0] in SCRIPT_NAMES:
        invoked, rest = tokens[0], tokens[1:]
        if tokens[0] != "llm_judge":
            return Command(where, invoked, f"llm_judge.cli.{tokens[0]}", tuple(rest))
    else:
        return None
    # python -m llm_judge X ... (or the llm_judge script) dispatches to llm_judge.cli.X
    name = rest[0].replace("-", "_") if rest else ""
    return Command(where, f"{invoked} {name}".strip(), f"llm_judge.cli.{name}", tuple(rest[1:]))


def commands_in(text: str, doc_name: str) -> list[Command]:
    found = []
    for number, line in code_blocks(text):
        if not COMMAND_START.search(line):  # prose in a block (output, a file tree) is not shell: leave it alone
            continue
        for tokens in _segments(line):
            command = _command(tokens, f"{doc_name}:{number}")
            if command:
                found.append(command)
    return found


class _Parsed(Exception):
    """Raised in place of running a command once its flags have parsed."""


def _parse_through_main(module, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # A command without build_parser (demo) builds its parser inside main: stop main right after parsing.
    parse = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        parse(self, args, namespace)
        raise _Parsed

    with monkeypatch.context() as patch, pytest.raises(_Parsed):
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
        module.main(argv)


def parse_error(command: Command, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """None when the command line parses with its command's parser, else why not."""
    top = command.invoked.split()
    if top[0] in SCRIPT_NAMES and top[0] not in console_scripts():
        return (f"{command.where}: `{top[0]}` is not a console script setup.py installs; "
                f"write `python -m llm_judge {top[0]}`")
    if len(top) == 3 and top[2].startswith("llm_judge.") and importlib.util.find_spec(top[2]) is None:
        return f"{command.where}: there is no module {top[2]} (write `python -m llm_judge {top[2].split('.', 1)[1]}`)"
    name = command.module.rsplit(".", 1)[1]
    if command.module.startswith("llm_judge.cli.") and name not in COMMANDS:
        return f"{command.where}: `{command.invoked}` is no command of python -m llm_judge ({', '.join(COMMANDS)})"
    module = importlib.import_module(command.module)
    try:
        if hasattr(module, "build_parser"):
            module.build_parser().parse_args(list(command.argv))
        else:
            _parse_through_main(module, list(command.argv), monkeypatch)
    except SystemExit as exc:
        if exc.code:
            message = capsys.readouterr().err.strip().splitlines()[-1:]
            return f"{command.where}: `{command.invoked} {' '.join(command.argv)}`: {' '.join(message)}"
    return None


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    inside = False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside and (m := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def links_in(text: str, doc_name: str) -> list[tuple[str, str]]:
    """(where, target) of every link outside code blocks and inline code."""
    found, inside = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            prose = re.sub(r"`[^`]*`", "", line)
            found += [(f"{doc_name}:{number}", m.group(1)) for m in LINK.finditer(prose)]
    return found


def link_error(doc: Path, target: str) -> str | None:
    if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ... are not checked offline
        return None
    path_part, _, anchor = target.partition("#")
    path = (doc.parent / path_part).resolve() if path_part else doc
    if not path.exists():
        return f"{target}: no file {path}"
    if anchor and path.suffix == ".md" and anchor not in anchors(path.read_text(encoding="utf-8")):
        return f"{target}: no heading #{anchor} in {path.name}"
    return None


def _all_commands() -> list[Command]:
    return [c for doc in DOCS for c in commands_in(doc.read_text(encoding="utf-8"), doc.relative_to(REPO).as_posix())]


def _all_links() -> list[tuple[Path, str, str]]:
    return [(doc, where, target) for doc in DOCS
            for where, target in links_in(doc.read_text(encoding="utf-8"), doc.relative_to(REPO).as_posix())]


COMMAND_LINES = _all_commands()
LINKS = _all_links()


@pytest.mark.parametrize("command", COMMAND_LINES, ids=[c.where for c in COMMAND_LINES])
def test_command_line_parses(command: Command, capsys, monkeypatch):
    assert parse_error(command, capsys, monkeypatch) is None


@pytest.mark.parametrize("doc, where, target", LINKS, ids=[f"{w}:{t}" for _, w, t in LINKS])
def test_relative_link_resolves(doc: Path, where: str, target: str):
    assert link_error(doc, target) is None, where


def test_docs_show_every_command():
    # Guards the extraction itself: if it found nothing, every parametrized test above would pass vacuously.
    shown = {c.module.rsplit(".", 1)[1] for c in COMMAND_LINES}
    assert set(COMMANDS) <= shown, f"no example of {sorted(set(COMMANDS) - shown)} in the docs"
    assert len(DOCS) >= 8 and len(LINKS) >= 10


def test_checker_refuses_misspelt_flags_unknown_commands_and_dead_links(tmp_path, capsys, monkeypatch):
    doc = tmp_path / "page.md"
    doc.write_text("# Page\n\nSee [the steps](#page) and [gone](#no-such-heading), [file](missing.md).\n\n"
                   "```bash\n"
                   "python -m llm_judge.gen_model_answer --modle-path default   # misspelt\n"
                   "python -m llm_judge gen_judgment --judge-model default \\\n    --mode singel\n"
                   "python -m llm_judge.browser --out site/\n"
                   "make_traindata --out-dir out\n"
                   "PYTHONPATH=. python -m llm_judge show_result --mode single && echo done\n"
                   "```\n", encoding="utf-8")
    commands = commands_in(doc.read_text(encoding="utf-8"), "page.md")
    assert [c.where for c in commands] == ["page.md:6", "page.md:7", "page.md:9", "page.md:10", "page.md:11"]
    errors = [parse_error(c, capsys, monkeypatch) for c in commands]
    assert "--modle-path" in errors[0]
    assert "singel" in errors[1]
    assert "no module llm_judge.browser" in errors[2]
    assert "not a console script" in errors[3]
    assert errors[4] is None
    assert [link_error(doc, t) is None for _, t in links_in(doc.read_text(encoding="utf-8"), "page.md")] == \
        [True, False, False]
