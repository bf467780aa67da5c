"""The judge's id and its judgment file, worked out one way for gen_judgment (writing) and show_result (reading).

The id is what records name as the judge and what the file is called: ``--judge-model-id`` when given,
else the model name without its provider prefix, cut to its last path part (``default`` ->
smollm2-135m-instruct, ``openai:gpt-4o`` -> gpt-4o, ``/models/my-judge/`` -> my-judge), as FastChat does.
"""
from __future__ import annotations

from pathlib import Path

from ..bench import check_file_name
from ..engines.registry import default_name, split_provider
from ..errors import ConfigError
from ..layouts import judge_folder
from .families import DEFAULT_FAMILY, JudgeFamily


def judge_id_for(judge_model: str | None, judge_model_id: str | None = None) -> str:
    """The judge id for ``--judge-model`` (and ``--judge-model-id``); a path-like id is a ConfigError."""
    if judge_model_id:
        return check_file_name(judge_model_id, "--judge-model-id")
    # The engine flag never changes the name: it only decides a prefix-less name's provider.
    return check_file_name(default_name(*split_provider(judge_model)), "--judge-model (as a judge id)")


def judgment_path(judgment_dir: Path, judge_id: str, family: JudgeFamily, pairwise: bool) -> Path:
    """Where a judge's judgments of one kind live: FastChat's name for our family, the family's in it otherwise."""
    return judgment_dir / family.output_name(judge_id, pairwise)


def judgment_folder(judgment_dir: Path, judge_id: str, family: JudgeFamily, pairwise: bool) -> Path:
    """The same judge's folder in ja-vicuna-qa-benchmark's layout: ``pairwise/<judge>`` (``single/<judge>``),
    the family in the folder name as in the file name, for other families than ours."""
    name = judge_id if family.name == DEFAULT_FAMILY else f"{judge_id}_{family.name}"
    return judge_folder(judgment_dir, name, pairwise)


def judgment_files(folder: Path, pairwise: bool) -> list[Path]:
    """The judgment files of one kind directly in ``folder``: every ``*_pair.jsonl``, else ``*_single.jsonl``.

    By name, as gen_judgment writes them (any judge, any family); other files and subfolders are left alone.
    """
    return sorted(p for p in folder.glob(f"*_{'pair' if pairwise else 'single'}.jsonl") if p.is_file())


def judge_ids(judge_models: list[str], judge_model_ids: list[str] | None = None) -> list[str]:
    """The ids of several judges (a panel): one ``--judge-model-id`` per ``--judge-model`` when given, and no
    two judges with the same id (their judgments would go to one file)."""
    if judge_model_ids and len(judge_model_ids) != len(judge_models):
        raise ConfigError(f"--judge-model-id: {len(judge_model_ids)} ids for {len(judge_models)} judges; give one "
                          "id per --judge-model, in the same order")
    ids = [judge_id_for(m, judge_model_ids[i] if judge_model_ids else None) for i, m in enumerate(judge_models)]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ConfigError(f"two judges have the id {twice[0]!r}; give each its own with --judge-model-id")
    return ids
