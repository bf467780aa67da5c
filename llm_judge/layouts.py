"""ku-nlp/ja-vicuna-qa-benchmark's judgment layout: one file per model pair (or model) in a folder per judge.

    model_judgment/pairwise/<judge>/pairwise:<model_1>_<model_2>.jsonl
        model_1, model_2, question_id, question, answer_1, answer_2, g1_judgment, g2_judgment,
        g1_winner, g2_winner, judge_model, judge_prompt, tstamp
    model_judgment/single/<judge>/single:<model>.jsonl
        model, question_id, question, answer, judgment, score, judge_model, judge_prompt, tstamp

Its records have no ``judge`` list and no ``turn``: :mod:`llm_judge.records` reads ``judge_model`` and
``judge_prompt`` as the judge and turn 1, and keeps the texts as extra fields. Reading takes a file, a judge
folder, the ``pairwise/`` (``single/``) folder or ``model_judgment/`` itself. :class:`LayoutStore` writes
the layout for gen_judgment with the guarantees of :class:`~llm_judge.jsonl.JsonlStore`, one store per file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Hashable, Mapping, Sequence

from .errors import InputError
from .jsonl import JsonlStore
from .locks import LockOptions
from .records import Judgment, PairJudgment, PairKey, SingleKey, json_key, judgment_from_json
from .records import read_judgments as read_file

PAIR_FIELDS = ("model_1", "model_2", "question_id", "question", "answer_1", "answer_2", "g1_judgment",
               "g2_judgment", "g1_winner", "g2_winner", "judge_model", "judge_prompt", "tstamp")
SINGLE_FIELDS = ("model", "question_id", "question", "answer", "judgment", "score", "judge_model", "judge_prompt",
                 "tstamp")
# Ours, written after theirs when set: what their form has no place for (a later turn, a failure, the
# verdict probabilities of --judge-method distribution).
OUR_FIELDS = ("turn", "g1_distribution", "g1_verdict_probs", "g2_distribution", "g2_verdict_probs", "win_probs",
              "score_distribution", "expected_score", "error")


def kind_folder(pairwise: bool) -> str:
    return "pairwise" if pairwise else "single"


def judge_folder(judgment_dir: Path, judge_folder_name: str, pairwise: bool) -> Path:
    """``model_judgment/pairwise/<judge>`` (or ``single/<judge>``): where one judge's files of one kind live."""
    return judgment_dir / kind_folder(pairwise) / judge_folder_name


def file_name(models: Sequence[str]) -> str:
    """``pairwise:<model_1>_<model_2>.jsonl`` or ``single:<model>.jsonl``, as ja-vicuna-qa-benchmark names them."""
    return f"{kind_folder(len(models) == 2)}:{'_'.join(models)}.jsonl"


def judgment_files(folder: Path, pairwise: bool) -> list[Path]:
    """The layout's files of one kind under ``folder``: a judge folder's own, else its judge folders', else
    those of its ``pairwise/`` (``single/``) folder (``folder`` is then ``model_judgment/``)."""
    pattern = f"{kind_folder(pairwise)}:*.jsonl"
    for glob in (pattern, f"*/{pattern}", f"{kind_folder(pairwise)}/*/{pattern}"):
        found = sorted(p for p in folder.glob(glob) if p.is_file())
        if found:
            return found
    return []


def read_judgments(path: Path | str) -> list[Judgment]:
    """Every judgment of a file (either layout), or of every layout file under a folder (pairwise, then single)."""
    path = Path(path)
    if not path.is_dir():
        return read_file(path)
    files = judgment_files(path, True) + judgment_files(path, False)
    if not files:
        raise InputError(path, "holds no judgment files (pairwise:<model_1>_<model_2>.jsonl or single:<model>.jsonl, "
                               "directly or in a judge folder)")
    return [record for file in files for record in read_file(file)]


def to_layout_json(record: Judgment, question: str, answers: Sequence[str]) -> dict[str, Any]:
    """``record`` in the layout's field names and order, with the texts it was judged on, then ours that are set.

    A failed record keeps its null verdict and its ``error`` (never their "error" winner or -1 score), so a
    rerun retries it as it does in FastChat's layout.
    """
    values = record.to_json()
    values.update(judge_model=record.judge.model if record.judge else "",
                  judge_prompt=record.judge.prompt if record.judge else "", question=question)
    if isinstance(record, PairJudgment):
        values.update(answer_1=answers[0], answer_2=answers[1])
        names = PAIR_FIELDS
    else:
        values["answer"] = answers[0]
        names = SINGLE_FIELDS
    out = {name: values.get(name) for name in names}
    out.update((name, values[name]) for name in OUR_FIELDS if values.get(name) is not None)
    if out.get("turn") == 1:
        del out["turn"]  # their records are turn 1 and say nothing
    return out


# question text and answer texts of each key judged, from the matches that gen_judgment plans
Texts = Mapping[Hashable, tuple[str, Sequence[str]]]


class LayoutStore:
    """The judge folder of one judge and kind, written as gen_judgment's store: ``key in store``,
    ``claim(keys)`` and ``append(record)`` route each key to its pair's (model's) file, each a JsonlStore
    with its own lock (resumable, one record per key, failed records retried). ``texts`` gives each key's
    question and answers."""

    def __init__(self, folder: Path, pairwise: bool, texts: Texts, lock: LockOptions | None = LockOptions()):
        self.folder = folder
        self.pairwise = pairwise
        self.texts = texts
        self.lock = lock
        self._stores: dict[str, JsonlStore] = {}

    def _store(self, key: SingleKey | PairKey) -> JsonlStore:
        name = file_name(key[2:4] if self.pairwise else key[2:3])  # the key's model(s)
        if name not in self._stores:
            self._stores[name] = JsonlStore(self.folder / name, lambda obj: json_key(obj, self.pairwise), self.lock)
        return self._stores[name]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._store(key)  # type: ignore[arg-type]

    def _by_file(self, keys: Sequence[Hashable]) -> dict[str, list[Hashable]]:
        groups: dict[str, list[Hashable]] = {}
        for key in keys:
            store = self._store(key)  # type: ignore[arg-type]
            groups.setdefault(str(store.path), []).append(key)
        return groups

    def claim(self, keys: Sequence[Hashable], limit: int | None = None) -> list[Hashable]:
        """Each file's share of ``keys`` that this process is to do, up to ``limit`` in all (JsonlStore.claim)."""
        mine: list[Hashable] = []
        for path, group in self._by_file(keys).items():
            if limit is not None and len(mine) >= limit:
                break
            mine += self._stores[Path(path).name].claim(group, None if limit is None else limit - len(mine))
        return mine

    def waiting(self, keys: Sequence[Hashable]) -> int:
        return sum(self._stores[Path(path).name].waiting(group) for path, group in self._by_file(keys).items())

    def append(self, record: dict[str, Any]) -> None:
        typed = judgment_from_json(record, self.folder, None)
        question, answers = self.texts[typed.key]
        self._store(typed.key).append(to_layout_json(typed, question, answers))

    def close(self) -> None:
        for store in self._stores.values():
            store.close()

    def __enter__(self) -> "LayoutStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
