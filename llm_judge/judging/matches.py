"""Matches: what one judgment looks at, and the judge calls ("games") it takes.

A single match grades one model's answer on one turn (one game). A pairwise match compares two models on
one turn in both orders (two games: g1 shows model_1 as A, g2 shows model_2 as A), as FastChat does.
Turn 2 of a two-turn question is judged with the multi-turn prompt, for every bench, not only mt_bench.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Iterable

from ..bench import Bench, Criteria, Scale
from ..errors import ConfigError
from ..records import Answer, JudgeName, PairKey, Question, QuestionId, SingleKey, pair_key, single_key
from .prompts import JudgePrompt, PromptSet
from .verdicts import native_scale

log = logging.getLogger(__name__)

MODES = ("single", "pairwise-baseline", "pairwise-all")


@dataclass
class Match:
    question: Question
    turn: int  # 1-based, as in FastChat's judgment files
    models: tuple[str, ...]  # (model,) or (model_1, model_2)
    answers: tuple[Answer, ...]
    prompt: JudgePrompt
    reference: list[str] | None = None
    criteria: Criteria | None = None  # the question's own, when the prompt shows them

    @property
    def pairwise(self) -> bool:
        return len(self.models) == 2

    @property
    def scale(self) -> Scale | None:
        """The range of a single match's score: the question's own with criteria, else the prompt format's."""
        if self.pairwise:
            return None
        return self.criteria.scale if self.criteria else native_scale(self.prompt.output_format)

    def key(self, judge_model: str) -> SingleKey | PairKey:
        """The key of the record judging this match writes (the same functions key the store)."""
        judge = JudgeName(judge_model, self.prompt.name)
        if self.pairwise:
            return pair_key(judge, self.question.question_id, self.models[0], self.models[1], self.turn)
        return single_key(judge, self.question.question_id, self.models[0], self.turn)

    def _values(self, answers: tuple[Answer, ...]) -> dict[str, str]:
        q, t = self.question, self.turn
        values: dict[str, str] = {}
        if t == 1:
            values["question"] = q.turns[0]
        else:
            values["question_1"], values["question_2"] = q.turns[0], q.turns[1]
        names = ["answer"] if len(answers) == 1 else ["answer_a", "answer_b"]
        for name, ans in zip(names, answers):
            if t == 1:
                values[name] = ans.turns[0]
            else:
                values[f"{name}_1"], values[f"{name}_2"] = ans.turns[0], ans.turns[1]
        if self.reference:
            for i, ref in enumerate(self.reference[:2], 1):
                values[f"ref_answer_{i}"] = ref
        if self.criteria:
            values["criteria"] = self.criteria.text
            values["scale_min"], values["scale_max"] = (str(v) for v in self.criteria.scale)
        return values

    def games(self) -> list[list[dict[str, str]]]:
        """The chat messages of each judge call: one for single, two (both orders) for pairwise."""
        if not self.pairwise:
            return [self.prompt.messages(self._values(self.answers))]
        a1, a2 = self.answers
        return [self.prompt.messages(self._values((a1, a2))), self.prompt.messages(self._values((a2, a1)))]


@dataclass
class MatchPlan:
    matches: list[Match] = field(default_factory=list)
    skipped_missing_turn: int = 0  # an answer has fewer turns than its question
    skipped_missing_answer: int = 0
    no_reference: int = 0  # needed a reference, had none: judged with the general prompt
    criteria_unused: int = 0  # matches of questions with criteria that the prompts had no place for


def _turns_to_judge(question: Question, answers: Iterable[Answer], limit: int = 2) -> list[int]:
    n = min([len(question.turns)] + [len(a.turns) for a in answers])
    return list(range(1, min(n, limit) + 1))


def plan_matches(bench: Bench, mode: str, models: list[str], answers: dict[str, dict[QuestionId, Answer]],
                 prompts: PromptSet, baseline: str | None = None, first_n: int | None = None,
                 references: dict[QuestionId, list[str]] | None = None) -> MatchPlan:
    """Every match a run needs, in a stable order: question, then turn, then model or pair."""
    if mode not in MODES:
        raise ConfigError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    pairwise = mode != "single"
    if mode == "single":
        groups = [(m,) for m in models]
    elif mode == "pairwise-baseline":
        if not baseline:
            raise ConfigError("--mode pairwise-baseline needs --baseline-model")
        groups = [(m, baseline) for m in models if m != baseline]
    else:
        if len(models) < 2:
            raise ConfigError("--mode pairwise-all needs at least two models")
        groups = list(itertools.combinations(models, 2))
    references = references if references is not None else bench.reference_answers()
    questions = bench.questions[:first_n] if first_n else bench.questions
    limit = min(2, bench.config.judge_turns)  # FastChat's prompts cover two turns at most
    multi = limit > 1 and any(len(q.turns) > 1 for q in questions)
    need_ref = any(bench.needs_reference(q) for q in questions)
    prompts.check(pairwise, need_ref, multi)
    plan = MatchPlan()
    for q in questions:
        ref = references.get(q.question_id) if bench.needs_reference(q) else None
        if bench.needs_reference(q) and ref is None:
            plan.no_reference += 1
        for group in groups:
            group_answers = [answers[m].get(q.question_id) for m in group]
            if any(a is None for a in group_answers):
                plan.skipped_missing_answer += 1
                continue
            turns = _turns_to_judge(q, group_answers, limit)
            plan.skipped_missing_turn += min(len(q.turns), limit) - len(turns)
            for turn in turns:
                prompt, criteria = _prompt(prompts, pairwise, ref is not None, turn > 1, bench.criteria_of(q))
                plan.criteria_unused += bench.criteria_of(q) is not None and criteria is None
                plan.matches.append(Match(q, turn, tuple(group), tuple(group_answers), prompt, ref, criteria))
    plan.matches.sort(key=lambda m: (bench.questions.index(m.question), m.turn))
    if plan.criteria_unused:
        log.warning("%d judgments of questions with their own criteria use the general prompt: %s has no "
                    "criteria prompt for %s judging", plan.criteria_unused, prompts.source, mode)
    return plan


def _prompt(prompts: PromptSet, pairwise: bool, reference: bool, multi_turn: bool,
            criteria: Criteria | None) -> tuple[JudgePrompt, Criteria | None]:
    """The criteria prompt for a single match of a question with criteria, when the set has one; else the role's."""
    if criteria is not None and not pairwise:
        prompt = prompts.criteria_prompt(reference, multi_turn)
        if prompt is not None:
            return prompt, criteria
    return prompts.get(pairwise, reference, multi_turn), None
