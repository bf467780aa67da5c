"""The library's front door: the pipeline's steps as functions, for notebooks, scripts and training loops.

    import llm_judge
    llm_judge.answer("demo_bench", "mock:echo")                      # step 1: answers, FastChat's files
    run = llm_judge.judge("demo_bench", "mock:judge", mode="pairwise-all")   # step 2: judgments
    res = llm_judge.results("demo_bench", "mock:judge", mode="pairwise-all")  # step 3: tables
    res.tables[0].to_dataframe()

Each takes a bench (its name, a path, or a :class:`~llm_judge.bench.Bench`), models and judges (a name as the
commands take it, or an :class:`~llm_judge.engines.config.EngineConfig`), and the commands' options as keyword
arguments with the commands' defaults; each returns a typed summary. Nothing is printed unless asked:
``verbose=True`` prints what the command would, ``on_event`` receives every :class:`~llm_judge.progress.Event`.
The commands (llm_judge/cli/) are these functions behind flags.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, Union

from .answering.bench_run import AnswerRun, answer_bench
from .answering.run import AnswerSettings
from .bench import Bench, check_file_name, load_bench, parse_model_list
from .engines.config import EngineConfig, HFOptions, VLLMOptions
from .errors import ConfigError
from .judging.bench_run import JudgeOptions, JudgeSummary, JudgingSummary, judge_bench
from .metaeval.evaluate import JudgeEvaluation, RunOptions
from .keywords import from_keywords
from .locks import LockOptions
from .progress import Event, OnEvent, reporter
from .results.options import ResultOptions
from .results.report import BenchResult
from .results.show import Readers, Results, show
from .results.tables import Table

__all__ = ["answer", "judge", "results", "evaluate_judge", "engine", "AnswerRun", "JudgingSummary", "JudgeSummary", "Results",
           "JudgeEvaluation", "RunOptions", "Event"]

BenchLike = Union[str, Path, Bench]
ModelLike = Union[str, EngineConfig]

JUDGE_BATCH_SIZE = 8  # a local judge's prompts per batch (gen_judgment's --batch-size default)


def answer(bench: BenchLike = "demo_bench", model: ModelLike = "default", *, model_id: str | None = None,
           engine: str | None = None, data_dir: str | Path | None = None, answer_file: str | Path | None = None,
           question_begin: int | None = None, question_end: int | None = None, batch: Any = None,
           wait: bool = False, share: bool = False, verbose: bool = False, on_event: OnEvent | None = None,
           **settings: Any) -> AnswerRun:
    """Answer a bench's questions with ``model`` into ``model_answer/<model_id>.jsonl`` (gen_model_answer).

    ``model``: a local folder, hub id, API model name, ``default`` or ``mock:...``, or an EngineConfig (its
    ``name`` is the model id). ``settings``: :class:`~llm_judge.answering.run.AnswerSettings`' fields
    (max_new_tokens=1024, num_choices=1, temperature, top_p, repetition_penalty, seed, system_prompt).
    ``batch``: :class:`~llm_judge.engines.api.batch_options.BatchOptions` to use an API's batch interface.
    Questions answered already are skipped; failed answers are retried on the next call. Another run writing
    the same answer file: refused, or waited for (``wait``), or shared with (``share``, both given it).
    An AlpacaEval or Arena-Hard folder gets the answers in its own layout too.
    """
    config = _config(model, engine, check_file_name(model_id, "model_id") if model_id else None,
                     seed=settings.get("seed"))
    from .leaderboards.answers import answer_bench as leaderboard_bench

    found = None if isinstance(bench, Bench) else leaderboard_bench(str(bench), data_dir)
    return answer_bench(found or _bench(bench, data_dir), config, from_keywords(AnswerSettings, settings),
                        reporter(verbose, on_event), question_begin=question_begin, question_end=question_end,
                        answer_file=answer_file, batch=batch, lock=LockOptions(wait=wait, share=share))


def judge(bench: BenchLike = "demo_bench", judges: ModelLike | Sequence[ModelLike] = "gpt-4", mode: str = "single",
          *, judge_family: Any = None, judge_ids: Sequence[str] | None = None, judge_engine: str | None = None,
          data_dir: str | Path | None = None, verbose: bool = False, on_event: OnEvent | None = None,
          **options: Any) -> JudgingSummary:
    """Judge a bench's answers (gen_judgment); several judges are a panel, each writing its own file.

    ``mode``: single, pairwise-baseline or pairwise-all. ``judges``: a judge as gen_judgment's --judge-model
    takes it (gpt-4, claude-..., openai:NAME, a path, ``default``, ``mock:judge``) or an EngineConfig, or a
    list of them; ``judge_ids`` names string judges (default: from the name). ``judge_family``: a family name,
    file or :class:`~llm_judge.judging.families.JudgeFamily`. ``options``:
    :class:`~llm_judge.judging.bench_run.JudgeOptions`' fields (model_list, baseline_model, first_n,
    judge_method, dry_run, price_table, wandb, ...). Judgments already present are skipped.
    """
    from .judging.families import JudgeFamily, load_family

    opts = from_keywords(JudgeOptions, dict(options, mode=mode))
    family = judge_family if isinstance(judge_family, JudgeFamily) else load_family(judge_family)
    configs = _judge_configs(judges, judge_ids, judge_engine)
    return judge_bench(_bench(bench, data_dir), configs, family, opts, reporter(verbose, on_event))


def results(bench: BenchLike | Sequence[BenchLike] = "demo_bench", judges: str | Sequence[str] = "gpt-4",
            mode: str = "single", *, data_dir: str | Path | None = None, input_file: str | Path | None = None,
            verbose: bool = False, on_event: OnEvent | None = None, **options: Any) -> Results:
    """Scores (single) or win rates (pairwise) from the judgments, as tables (show_result).

    ``bench``: one bench or several (shown side by side, with a table across them). ``judges``: whose file to
    read, as given to :func:`llm_judge.judge` (several: a panel, see ``panel``); ``input_file``: a judgment file or
    folder instead. ``options``: :class:`~llm_judge.results.show.ResultOptions`' fields (judge_model_id,
    judge_family, panel, verdict_rule, baseline_model, model_list, ratings, bootstrap, seed, length_control,
    style_control, failed_games, plot, wandb, ...). ``.tables`` are Table objects with ``to_dataframe()``;
    ``.render(fmt)`` is what show_result prints.
    """
    benches = [bench] if isinstance(bench, (str, Path, Bench)) else list(bench)
    names = [str(b.path) if isinstance(b, Bench) else str(b) for b in benches]
    opts = from_keywords(ResultOptions, dict(options, bench_name=names, judge_model=_names(judges), mode=mode,
                                             data_dir=data_dir, input_file=input_file))
    return show(opts, reporter(verbose, on_event), Readers(_leaderboard_bench, _leaderboard_file))


def _leaderboard_bench(name: str, opts: ResultOptions, models: list[str] | None) -> BenchResult | None:
    """An AlpacaEval or Arena-Hard bench folder's result, by its own protocol (llm_judge/leaderboards/)."""
    from . import leaderboards
    from .judging.judge_id import judge_ids

    if not leaderboards.bench_kind(name, opts.data_dir):
        return None
    return leaderboards.bench_result(name, opts.data_dir, judge_ids(opts.judge_model, opts.judge_model_id),
                                     opts.style_control, opts.strong_weight, opts.seed, models)


def _leaderboard_file(opts: ResultOptions) -> list[Table] | None:
    """The leaderboard of AlpacaEval's annotations.json files or Arena-Hard's judgments, else None."""
    from . import leaderboards

    path = Path(opts.input_file or "")
    if not leaderboards.is_leaderboard_file(path):
        return None
    return leaderboards.file_tables(path, opts.style_control, opts.strong_weight, opts.seed,
                                    parse_model_list(opts.model_list), opts.bootstrap if opts.ratings else None)


def _names(values: str | Sequence[str] | None) -> list[str] | None:
    return [values] if isinstance(values, str) else None if values is None else list(values)


def evaluate_judge(labelled_set: str | Path, judge: ModelLike | None = None, *, judge_model_id: str | None = None,
                   judge_engine: str | None = None, run: RunOptions | None = None, verbose: bool = False,
                   on_event: OnEvent | None = None, **options: Any) -> JudgeEvaluation | None:
    """How well judges agree with a labelled pairwise set's human labels (eval_judge score / run).

    ``labelled_set``: a set in its published format (PandaLM, LLMBar, Auto-J, MT-bench human judgments,
    JudgeLM, ours). ``judge``: a judge to run over the pairs in both orders (resumably, into ``run``'s
    output; :class:`~llm_judge.metaeval.evaluate.RunOptions`), scored beside any stored predictions.
    ``options``: :class:`~llm_judge.metaeval.evaluate.SetOptions`' fields (subset, ids, first_n, pred,
    against, group_by, invalid_as, interannotator, panel, ...). ``.tables`` hold the metrics; None for a
    dry run (``run=RunOptions(dry_run=True)``).
    """
    from .metaeval.evaluate import SetOptions, evaluate

    opts = from_keywords(SetOptions, options)
    config = None
    if judge is not None:
        from .judging.judge_id import judge_id_for

        name = judge_id_for(judge, judge_model_id) if isinstance(judge, str) else judge_model_id
        config = _config(judge, judge_engine, name, judge=True)
    return evaluate(labelled_set, opts, reporter(verbose, on_event), config, run or RunOptions())


def engine(model: str, provider: str | None = None, name: str | None = None, *, workers: int | None = None,
           **options: Any) -> EngineConfig:
    """An EngineConfig for ``model`` (as the commands take it) with engine settings as keywords: the fields of
    :class:`~llm_judge.engines.config.HFOptions` (dtype, batch_size, revision, lora_path, ...),
    :class:`~llm_judge.engines.config.VLLMOptions` (tensor_parallel_size, max_model_len, ...) and
    :class:`~llm_judge.engines.config.APIOptions` (parallel, api_base, api_key_env, max_retries, ...);
    ``provider``: the engine when the name should not decide it (the commands' --engine); ``name``: the id in
    file names; ``workers``: copies of a local model working at once through Ray.

        llm_judge.judge("mt_bench", llm_judge.engine("openai:Qwen2.5-72B-Instruct", api_base=URL, parallel=64))
    """
    import dataclasses

    from .engines.config import APIOptions, PoolOptions
    from .engines.registry import resolve

    groups: dict[str, dict[str, Any]] = {"hf": {}, "vllm": {}, "api": {}}
    owners = {f.name: group for group, cls in (("hf", HFOptions), ("vllm", VLLMOptions), ("api", APIOptions))
              for f in dataclasses.fields(cls)}
    for key, value in options.items():
        if key not in owners:
            raise TypeError(f"unknown engine option {key!r} (options: {', '.join(owners)}, workers)")
        groups[owners[key]][key] = value
    pool = PoolOptions(workers=workers) if workers and workers > 1 else None
    return resolve(model, provider, name, hf=HFOptions(**groups["hf"]), vllm=VLLMOptions(**groups["vllm"]),
                   api=APIOptions(**groups["api"]), pool=pool)


def _judge_configs(judges: ModelLike | Sequence[ModelLike], ids: Sequence[str] | None,
                   engine: str | None) -> list[EngineConfig]:
    """One EngineConfig per judge, named by its judge id (no two alike)."""
    from .judging.judge_id import judge_ids as ids_for

    given = [judges] if isinstance(judges, (str, EngineConfig)) else list(judges)
    if all(isinstance(j, str) for j in given):
        names = ids_for(given, list(ids) if ids else None)
        return [_config(j, engine, name, judge=True) for j, name in zip(given, names)]
    if ids:
        raise ConfigError("judge_ids names judges given by name; an EngineConfig's judge id is its name")
    configs = [_config(j, engine, None, judge=True) for j in given]
    names = [c.name for c in configs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"two judges have the id {twice[0]!r}; give each its own name")
    return configs


def _config(model: ModelLike, provider: str | None, name: str | None, judge: bool = False,
            seed: int | None = None) -> EngineConfig:
    """``model`` as an EngineConfig: a name gets the commands' default engine settings (``seed`` seeds vLLM's
    sampling, as gen_model_answer's --seed does)."""
    if isinstance(model, EngineConfig):
        return model.replace(name=name) if name else model
    return engine(model, provider, name, batch_size=JUDGE_BATCH_SIZE if judge else None, seed=seed or 0)


def _bench(bench: BenchLike, data_dir: str | Path | None) -> Bench:
    return bench if isinstance(bench, Bench) else load_bench(str(bench), data_dir)
