"""llama.cpp engine, in-process: GGUF models as they are (the bundled default model included), on any CPU.

Answers: the rows of a batch are decoded together in one llama.cpp context, one KV sequence (and buffer)
per row, one ``llama_decode`` per step for every row still going. Each row picks its tokens from its own
logits with the transformers engine's rules (sampling.py: greedy below temperature 1e-4, else its own
seeded generator; the same repetition penalty), so an answer does not depend on the batch it lands in.

Distribution judging: scoring.py's label trie. The judge prompt's opening that a group of requests shares
is decoded once; each request continues from it in a sequence of its own, and each inner trie node in a
sequence copied from its parent's (a unified KV buffer, so copies share cells), so every label, two-token
labels included, is read from the logits the model gives at its place.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import ConfigError
from . import scoring
from .base import ChatModel, GenRequest, GenResult
from .chat_templates import render_template
from .config import EngineConfig, HFOptions
from .hf import clean_answer
from .llamacpp_core import GGUF, Context, Entry
from .weights import bundled_gguf, is_default

log = logging.getLogger(__name__)

SCORE_SEQS = 64  # KV sequences of a scoring context: the shared opening, each request, each inner trie node
SCORE_TOKENS = 4096  # most tokens of the requests' own prompt parts decoded per scoring chunk


def gguf_path(model_path: str | None) -> Path:
    """The GGUF file a ``--model-path`` names: the bundled model for None or a default alias, else the file."""
    if is_default(model_path):
        return bundled_gguf()
    path = Path(str(model_path)).expanduser()
    if path.suffix != ".gguf":
        raise ConfigError(f"the llamacpp engine reads GGUF files; {model_path} is not a .gguf file")
    if not path.is_file():
        raise ConfigError(f"GGUF file not found: {path}")
    return path


def check_options(opts: HFOptions) -> None:
    """Settings the transformers engine takes and this one cannot honour: refused before the model loads."""
    refused = [(opts.dtype != "auto", f"--dtype {opts.dtype}: a GGUF file runs in its own quantization"),
               (bool(opts.lora_path), "--lora-model: a PEFT adapter"),
               (bool(opts.tokenizer_path), "a tokenizer other than the model's"),
               (bool(opts.revision), "--revision")]
    for bad, what in refused:
        if bad:
            raise ConfigError(f"the llamacpp engine does not take {what}; use --engine hf (it converts the GGUF)")


class Row:
    """One answer being generated: its prompt, its new tokens, how it picks the next one, why it stopped."""

    def __init__(self, index: int, seq: int, request: GenRequest, prompt: list[int]):
        self.index, self.seq, self.req, self.prompt = index, seq, request, prompt
        self.new: list[int] = []
        self.finish: str | None = None
        self.sampler = None
        if not request.greedy:
            from .sampling import RowSampler, warpers

            self.sampler = RowSampler([request.seed], warpers(request.temperature, request.top_p))

    def pick(self, logits: Any) -> int:
        import numpy as np

        scores = logits
        if self.req.repetition_penalty != 1.0:  # transformers' rule, over the prompt and the new tokens
            scores = np.array(logits, dtype=np.float32)
            seen = np.unique(np.asarray(self.prompt + self.new, dtype=np.int64))
            hit = scores[seen]
            p = self.req.repetition_penalty
            scores[seen] = np.where(hit < 0, hit * p, hit / p)
        if self.sampler is None:
            return int(np.argmax(scores))
        import torch

        row = torch.from_numpy(np.array(scores, dtype=np.float32)[None])
        return int(self.sampler(torch.zeros((1, 1), dtype=torch.long), row).argmax(dim=-1))

    def push(self, token: int, gguf: GGUF) -> None:
        if gguf.is_eog(token):
            self.finish = "stop"
            return
        self.new.append(token)
        stop = self.req.stop
        if stop and any(s in gguf.detokenize(self.new[-(max(len(s) for s in stop) + 1):]) for s in stop):
            self.finish = "stop"  # kept in the text, as the transformers engine keeps it
        elif len(self.new) >= self.req.max_new_tokens:
            self.finish = "length"


class LlamaCppModel(ChatModel):
    engine = "llamacpp"

    def __init__(self, model_path: str | None, name: str, options: HFOptions | None = None):
        self.options = opts = options or HFOptions()
        check_options(opts)
        self.name = name
        self.model_path = model_path
        self.path = gguf_path(model_path)
        self.gguf = GGUF(self.path, opts.threads)
        self.template = opts.chat_template or self.gguf.chat_template()
        self.bos, self.eos = self.gguf.bos_eos()

    def describe(self) -> dict[str, Any]:
        import llama_cpp

        d = {"engine": self.engine, "model": self.name, "model_path": self.model_path or "default",
             "gguf": self.path.name, "batch_size": self.options.batch_size or "auto",
             "llama_cpp_python": getattr(llama_cpp, "__version__", "?")}
        if self.options.prompt_format:
            d["prompt_format"] = self.options.prompt_format
        return d

    def render(self, request: GenRequest) -> str:
        """The prompt text for a request: the chat template, then any assistant prefill."""
        if not self.template:
            raise ConfigError(f"{self.name}: the GGUF file has no chat template; give one with --with-prompt "
                              "or --conv-template")
        text = render_template(self.template, request.messages, bos_token=self.bos, eos_token=self.eos)
        return text + request.prefill

    # -- requests -----------------------------------------------------------------------------------

    def stream(self, requests: Sequence[GenRequest]) -> Iterator[tuple[int, GenResult]]:
        answers: list[tuple[int, list[int]]] = []
        scores: list[tuple[int, str, int]] = []
        for i, req in enumerate(requests):
            try:
                text = self.render(req)
            except ConfigError:
                raise
            except Exception as exc:  # a template that rejects these messages fails this request only
                yield i, GenResult(error=f"chat template failed: {exc}")
                continue
            ids = self.gguf.tokenize(text)
            if len(ids) + (0 if req.score_choices else 1) > self.gguf.n_ctx_train:
                yield i, GenResult(error=f"prompt of {len(ids)} tokens does not fit the model's context of "
                                         f"{self.gguf.n_ctx_train}", prompt_tokens=len(ids))
            elif req.score_choices:
                scores.append((i, text, len(ids)))
            else:
                answers.append((i, ids))
        if answers:
            yield from self._answer(requests, answers)
        if scores:
            yield from self._score(requests, scores)

    def _rows_per_batch(self, tokens: int) -> int:
        if self.options.batch_size:
            return self.options.batch_size
        from .batch_rows import auto_rows

        return auto_rows(self.gguf.shape(), 2, tokens, "cpu")  # float16 KV cache

    def _answer(self, requests: Sequence[GenRequest],
                answers: list[tuple[int, list[int]]]) -> Iterator[tuple[int, GenResult]]:
        answers.sort(key=lambda a: -len(a[1]))  # similar lengths together
        size = self._rows_per_batch(len(answers[0][1]) + max(requests[i].max_new_tokens for i, _ in answers))
        for start in range(0, len(answers), size):
            rows = [Row(i, k, requests[i], ids) for k, (i, ids) in enumerate(answers[start:start + size])]
            try:
                self._generate(rows)
            except Exception as exc:  # e.g. no memory for the KV cache: fail this batch, keep the run going
                log.exception("generation failed for a batch of %d", len(rows))
                for row in rows:
                    yield row.index, GenResult(error=f"generation failed: {type(exc).__name__}: {exc}")
                continue
            for row in rows:
                text = clean_answer(self.gguf.detokenize(row.new), self.options.newline,
                                    truncated=row.finish == "length")
                yield row.index, GenResult(text=text, prompt_tokens=len(row.prompt), completion_tokens=len(row.new),
                                           finish_reason=row.finish)

    def _generate(self, rows: list[Row]) -> None:
        """Decode ``rows`` together until each meets its end: the prompts, then one token per live row a step."""
        positions = min(self.gguf.n_ctx_train, max(len(r.prompt) + r.req.max_new_tokens for r in rows))
        with self.gguf.context(len(rows), positions, unified=False) as ctx:
            # Each prompt in llama_decode calls of its own: with a KV sequence per row, llama.cpp cuts a batch
            # that mixes sequences into slices holding as many tokens of each, so prompts of unequal lengths
            # fed together would be processed a few tokens at a time.
            for k, r in enumerate(rows):
                self._feed(ctx, rows, [Entry(tok, p, (k,), p == len(r.prompt) - 1) for p, tok in enumerate(r.prompt)],
                           positions)
            live = [r for r in rows if not r.finish]
            while live:
                entries = [Entry(r.new[-1], len(r.prompt) + len(r.new) - 1, (r.seq,), True) for r in live]
                self._feed(ctx, rows, entries, positions)
                live = [r for r in live if not r.finish]

    def _feed(self, ctx: Context, rows: list[Row], entries: list[Entry], positions: int) -> None:
        """Decode ``entries`` and give each row the token it picks from the logits it asked for."""
        for k, logits in ctx.decode(entries):
            row = rows[entries[k].seqs[0]]
            row.push(row.pick(logits), self.gguf)
            if not row.finish and len(row.prompt) + len(row.new) >= positions:
                row.finish = "length"  # the model's context is full

    # -- distribution judging ------------------------------------------------------------------------

    def _score(self, requests: Sequence[GenRequest],
               scores: list[tuple[int, str, int]]) -> Iterator[tuple[int, GenResult]]:
        items: list[scoring.ScoreItem] = []
        owners: list[tuple[int, int]] = []  # (request index, prompt tokens) per item
        for i, text, n_prompt in scores:
            req = requests[i]
            try:
                items.append(scoring.build_item([self.gguf.tokenize(text + label + req.score_suffix)
                                                 for label in req.score_choices or []]))
            except ValueError as exc:
                yield i, GenResult(error=f"cannot score these labels: {exc}")
                continue
            owners.append((i, n_prompt))
        for group in scoring.group_by_prefix(items):
            try:
                results = list(self._score_group([items[k] for k in group]))
            except Exception as exc:  # fail this group's requests, keep the run going
                log.exception("scoring failed for %d requests", len(group))
                for k in group:
                    yield owners[k][0], GenResult(error=f"scoring failed: {type(exc).__name__}: {exc}")
                continue
            for k, logprobs in zip(group, results):
                i, n_prompt = owners[k]
                req = requests[i]
                dist = dict(zip(req.score_choices or [], scoring.normalise(logprobs)))
                best = max(dist, key=dist.get)
                yield i, GenResult(text=req.prefill + best + req.score_suffix, distribution=dist,
                                   prompt_tokens=n_prompt, completion_tokens=0, finish_reason="score")

    def _score_group(self, items: list[scoring.ScoreItem]) -> Iterator[list[float]]:
        """Each item's candidate log-probabilities, in order; the items' shared opening decoded once."""
        plen = scoring.shared_prefix_len(items)
        longest = max(len(it.base) - plen + len(it.nodes) for it in items)
        # Sequence 0 holds the shared opening; an item takes one for its prompt and one per inner trie node
        # (a two-score label set such as JudgeLM's pairwise one can need more than SCORE_SEQS alone).
        seqs = max(SCORE_SEQS, 2 + max(len(it.inner) for it in items))
        with self.gguf.context(seqs, plen + max(SCORE_TOKENS, longest) + 256, unified=True) as ctx:
            list(ctx.decode([Entry(tok, p, (0,)) for p, tok in enumerate(items[0].base[:plen])]))
            for chunk in _score_chunks(items, plen, self.options.batch_size or 16, seqs):
                yield from _score_chunk(ctx, [items[k] for k in chunk], plen)


def _score_chunks(items: list[scoring.ScoreItem], plen: int, batch_size: int,
                  max_seqs: int = SCORE_SEQS) -> Iterator[list[int]]:
    """Consecutive runs of items that fit one scoring round: the sequences (``max_seqs``, sequence 0 the
    shared opening's) and tokens it may use."""
    run: list[int] = []
    seqs = tokens = 0
    for k, it in enumerate(items):
        s, t = 1 + len(it.inner), len(it.base) - plen + len(it.inner)
        if run and (len(run) >= batch_size or 1 + seqs + s > max_seqs or tokens + t > SCORE_TOKENS):
            yield run
            run, seqs, tokens = [], 0, 0
        run.append(k)
        seqs, tokens = seqs + s, tokens + t
    if run:
        yield run


def _logprobs(logits: Any, tokens: list[int]) -> list[float]:
    import numpy as np

    row = logits.astype(np.float64)
    top = row.max()
    lse = top + np.log(np.exp(row - top).sum())
    return [float(row[t] - lse) for t in tokens]


def _score_chunk(ctx: Context, items: list[scoring.ScoreItem], plen: int) -> Iterator[list[float]]:
    """Log-probabilities of the items' candidates: their own prompt tokens in one sequence each (copied from
    the shared opening's), then the trie's inner nodes depth by depth, each in a copy of its parent's."""
    node_lp: list[dict[int, float]] = [{} for _ in items]  # per item: trie node -> its log-probability
    children = [{} for _ in items]  # per item: parent node (-1: the prompt) -> its children
    for k, it in enumerate(items):
        for n, (_, parent) in enumerate(it.nodes):
            children[k].setdefault(parent, []).append(n)
    seq_of: dict[tuple[int, int], int] = {}  # (item, node or -1) -> KV sequence
    owner: dict[int, tuple[int, int]] = {}  # the other way
    entries: list[Entry] = []
    for k, it in enumerate(items):
        seq = seq_of[(k, -1)] = len(seq_of) + 1
        owner[seq] = (k, -1)
        if plen:
            ctx.copy(0, seq)
        entries += [Entry(tok, plen + j, (seq,), plen + j == len(it.base) - 1) for j, tok in enumerate(it.base[plen:])]
    depth = 0
    while entries:
        for j, logits in ctx.decode(entries):
            k, node = owner[entries[j].seqs[0]]
            kids = children[k].get(node, [])
            for n, lp in zip(kids, _logprobs(logits, [items[k].nodes[n][0] for n in kids])):
                node_lp[k][n] = lp
        depth += 1
        entries = []
        for k, it in enumerate(items):
            for n in it.inner:
                if it.depth(n) == depth:
                    seq = seq_of[(k, n)] = len(seq_of) + 1
                    owner[seq] = (k, n)
                    ctx.copy(seq_of[(k, it.nodes[n][1])], seq)
                    entries.append(Entry(it.nodes[n][0], len(it.base) + depth - 1, (seq,), True))
    for seq in seq_of.values():
        ctx.drop(seq)
    for k, it in enumerate(items):
        yield [sum(node_lp[k][n] for n in path) for path in it.paths]


def from_config(config: EngineConfig) -> LlamaCppModel:
    """The registry's factory for provider "llamacpp"."""
    return LlamaCppModel(config.model, config.name, config.hf)
