"""Score-distribution judging on an in-process model: the probability of every verdict label at once.

Each label is scored as the text the judge would write: ``prefill + label + suffix`` is tokenized together
with the prompt, so tokens merge the way the model writes them ("[RESULT] 4" ends in " ", "4" for one
tokenizer and " 4" for another), and a two-token label such as "10" followed by "]]" competes fairly with
"1" followed by "]]". The candidates of one request differ only in their last few tokens; those tails form
a token trie placed after the prompt, and a 4-D attention mask lets each trie node see the prompt and its
own ancestors only. So a request costs one forward pass over its prompt plus a few trie tokens, however
many labels it has. Requests whose prompts open alike (the judge's instructions) also share one KV cache
of that opening, computed once per group. The lm head runs only on the prompt's last position and the trie.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

# Requests whose first GROUP_KEY tokens agree (the same judge instructions) share one prefix group.
GROUP_KEY = 16
# Most positions whose logits one forward pass may keep (each costs a vocabulary-sized row of floats).
LOGIT_BUDGET = 2048
# Most padding a forward pass may carry, as a share of its real prompt tokens.
MAX_PADDING = 0.15


@dataclass
class ScoreItem:
    """One request, tokenized: the prompt part every candidate shares, and a trie of candidate tails."""

    base: list[int]  # tokens shared by every candidate (the prompt, minus any token a label merges into)
    nodes: list[tuple[int, int]] = field(default_factory=list)  # (token, parent node or -1 for the base)
    paths: list[list[int]] = field(default_factory=list)  # per candidate, its trie nodes from root to leaf
    # Nodes with children, in trie order: only they are fed to the model, since a node's probability is
    # read from its parent's logits (a leaf such as the "]]" closing each label never needs a position).
    inner: list[int] = field(default_factory=list)

    def depth(self, node: int) -> int:
        d = 0
        while node != -1:
            node = self.nodes[node][1]
            d += 1
        return d


def common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix of token sequences."""
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for i in range(n):
        t = first[i]
        if any(s[i] != t for s in seqs):
            return i
    return n


def build_item(candidate_ids: Sequence[Sequence[int]]) -> ScoreItem:
    """Trie of the candidates' full token sequences (prompt + candidate), below their common prefix."""
    cut = common_prefix(candidate_ids)
    if cut == 0:
        raise ValueError("the prompt tokenized to nothing")
    if any(len(c) == cut for c in candidate_ids):
        raise ValueError("a score label is a prefix of another; give the labels a suffix such as ']]'")
    # Keep at least one prompt token outside the trie: its logits predict each candidate's first token.
    item = ScoreItem(base=list(candidate_ids[0][:cut]))
    children: dict[tuple[int, int], int] = {}
    for ids in candidate_ids:
        parent, path = -1, []
        for tok in ids[cut:]:
            node = children.get((parent, tok))
            if node is None:
                node = len(item.nodes)
                item.nodes.append((tok, parent))
                children[(parent, tok)] = node
            path.append(node)
            parent = node
        item.paths.append(path)
    # A label whose tokens start another's ("1" and "10" with no suffix) would get the probability of
    # every text starting with it. Families are checked for this when they load.
    parents = {parent for _, parent in item.nodes}
    if any(path[-1] in parents for path in item.paths):
        raise ValueError("a score label is a prefix of another; give the labels a suffix such as ']]'")
    item.inner = [n for n in range(len(item.nodes)) if n in parents]
    return item


def group_by_prefix(items: Sequence[ScoreItem], key_len: int = GROUP_KEY) -> list[list[int]]:
    """Indices of items grouped by their opening tokens; groups of one are pooled so they still batch."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(tuple(item.base[:key_len]), []).append(i)
    out = [g for g in groups.values() if len(g) > 1]
    lone = [g[0] for g in groups.values() if len(g) == 1]
    if lone:
        out.append(lone)
    return out


def shared_prefix_len(items: Sequence[ScoreItem]) -> int:
    """Tokens all items share, leaving every item at least one token of its own."""
    n = common_prefix([it.base for it in items])
    return max(0, min(n, min(len(it.base) for it in items) - 1))


def chunks(order: Sequence[int], items: Sequence[ScoreItem], batch_size: int, prefix_len: int = 0,
           budget: int = LOGIT_BUDGET, max_padding: float = MAX_PADDING) -> Iterator[list[int]]:
    """Consecutive runs of ``order`` (longest prompt first) for one forward pass each.

    A run holds at most batch_size items and ``budget`` kept-logit positions, and stops before padding
    would exceed ``max_padding`` of its real tokens: on a CPU a padded token costs as much as a real one,
    and a bigger batch buys little, so similar lengths go together and outliers start a new run.
    """
    run: list[int] = []
    width = real = longest = 0
    for i in order:
        w = len(items[i].inner) + 1
        own = len(items[i].base) - prefix_len
        if run and (len(run) >= batch_size or (len(run) + 1) * max(width, w) > budget
                    or (len(run) + 1) * max(longest, own) > (1 + max_padding) * (real + own)):
            yield run
            run, width, real, longest = [], 0, 0, 0
        run.append(i)
        width, real, longest = max(width, w), real + own, max(longest, own)
    if run:
        yield run


def pack(items: Sequence[ScoreItem], prefix_len: int, pad_id: int, torch: Any, device: Any,
         dtype: Any) -> tuple[Any, Any, Any, int]:
    """input_ids, position_ids and an additive 4-D mask for one forward pass after a shared prefix.

    Row layout: [left padding][the item's own prompt tokens][inner trie nodes][right padding]. Own
    prompt tokens end at the same column V in every row, so the kept logits are the last T + 1 columns
    (the prompt's last token, then the inner nodes). The mask covers the cached prefix columns too.
    """
    own = [it.base[prefix_len:] for it in items]
    V = max(len(o) for o in own)
    T = max(len(it.inner) for it in items)
    q = V + T
    B = len(items)
    ids = torch.full((B, q), pad_id, dtype=torch.long)
    pos = torch.zeros((B, q), dtype=torch.long)
    allowed = torch.zeros((B, q, prefix_len + q), dtype=torch.bool)
    allowed[:, :, :prefix_len] = True
    cols = torch.arange(q)
    for r, (item, toks) in enumerate(zip(items, own)):
        start = V - len(toks)
        ids[r, start:V] = torch.tensor(toks, dtype=torch.long)
        pos[r, start:V] = torch.arange(prefix_len, prefix_len + len(toks))
        real = (cols >= start) & (cols < V)
        # own prompt tokens: causal among themselves
        allowed[r, start:V, prefix_len:] = real & (cols[None, :] <= cols[start:V, None])
        column = {n: V + k for k, n in enumerate(item.inner)}
        for n, col in column.items():
            ids[r, col] = item.nodes[n][0]
            pos[r, col] = prefix_len + len(toks) + item.depth(n) - 1
            allowed[r, col, prefix_len:] = real
            a = n
            while a != -1:  # the node itself and its ancestors (all inner nodes)
                allowed[r, col, prefix_len + column[a]] = True
                a = item.nodes[a][1]
    # Padding rows attend to themselves only, so no softmax row is empty (an empty row gives NaN).
    diag = torch.arange(q)
    allowed[:, diag, prefix_len + diag] = True
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    return ids.to(device), pos.to(device), mask[:, None].to(device), T


def candidate_logprobs(items: Sequence[ScoreItem], logits: Any, torch: Any) -> list[list[float]]:
    """Per item, the log-probability of each candidate tail, from logits kept for columns V-1 .. V+T-1."""
    lse = torch.logsumexp(logits.float(), dim=-1)  # (B, T+1)
    out = []
    for r, item in enumerate(items):
        if not item.nodes:
            out.append([])
            continue
        kept = {n: k + 1 for k, n in enumerate(item.inner)}  # kept row 0: the prompt's last token
        rows = torch.tensor([0 if parent == -1 else kept[parent] for _, parent in item.nodes], device=logits.device)
        toks = torch.tensor([tok for tok, _ in item.nodes], device=logits.device)
        node_lp = (logits[r, rows, toks].float() - lse[r, rows]).tolist()
        out.append([sum(node_lp[n] for n in path) for path in item.paths])
    return out


def normalise(logprobs: Sequence[float]) -> list[float]:
    top = max(logprobs)
    weights = [math.exp(v - top) for v in logprobs]
    z = sum(weights)
    return [w / z for w in weights]


def score_items(model: Any, items: Sequence[ScoreItem], batch_size: int, pad_id: int,
                torch: Any) -> Iterator[tuple[int, list[float]]]:
    """(index, log-probability of each candidate) for every item, chunk by chunk as each completes."""
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    for group in group_by_prefix(items):
        members = [items[i] for i in group]
        plen = shared_prefix_len(members)
        prefix = None
        if plen:
            with torch.inference_mode():
                out = model(input_ids=torch.tensor([members[0].base[:plen]], device=device), use_cache=True,
                            **_keep_kwargs(model, 1))
            prefix = _cache_tensors(out.past_key_values)
        order = sorted(group, key=lambda i: -len(items[i].base))  # similar lengths together: little padding
        for run in chunks(order, items, batch_size, plen):
            batch = [items[i] for i in run]
            ids, pos, mask, T = pack(batch, plen, pad_id, torch, device, dtype)
            kwargs = _keep_kwargs(model, T + 1)
            if prefix is not None:
                kwargs["past_key_values"] = _expand_cache(prefix, len(batch))
            with torch.inference_mode():
                logits = model(input_ids=ids, position_ids=pos, attention_mask=mask, use_cache=prefix is not None,
                               **kwargs).logits[:, -(T + 1):]
            yield from zip(run, candidate_logprobs(batch, logits, torch))


def _keep_kwargs(model: Any, n: int) -> dict[str, int]:
    # transformers >= 4.49 computes the lm head only on the last n positions: most of the work saved
    # for a short trie. Older versions (num_logits_to_keep, or nothing) compute all logits.
    name = _keep_name(type(model))
    return {name: n} if name else {}


@functools.lru_cache(maxsize=None)
def _keep_name(model_class: type) -> str | None:
    """The forward argument that limits the lm head to the last positions; looked up once per class."""
    import inspect

    params = inspect.signature(model_class.forward).parameters
    return next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)


def _cache_tensors(cache: Any) -> list[tuple[Any, Any]]:
    if hasattr(cache, "layers"):  # transformers 5
        return [(layer.keys, layer.values) for layer in cache.layers]
    if hasattr(cache, "key_cache"):  # transformers 4.x DynamicCache
        return list(zip(cache.key_cache, cache.value_cache))
    return [(k, v) for k, v in cache]  # legacy tuple of tuples


def _expand_cache(prefix: list[tuple[Any, Any]], batch: int) -> Any:
    from transformers import DynamicCache

    cache = DynamicCache()
    for layer, (k, v) in enumerate(prefix):
        cache.update(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1), layer)
    return cache
