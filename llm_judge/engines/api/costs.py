"""What an API run will cost, before it starts: calls, input tokens, and dollars from a price table.

Input tokens are counted with tiktoken for OpenAI models whose tokenizer tiktoken knows (gpt-4,
gpt-4o, o1, ...). tiktoken downloads its vocabulary files on first use; offline, the same files are
taken from the ``bpe-openai`` package, which bundles them, and put where tiktoken looks for its cache
(tiktoken checks their published SHA-256). For Anthropic and unknown models, or when no vocabulary can
be had, tokens are approximated (stated in the output): one per 4 characters, one per CJK character.

Prices are USD per million tokens, list prices as the providers published them when this was written;
they change, so ``--price-table FILE`` (JSON: ``{"model-prefix": {"input": 2.5, "output": 10}}``)
overrides or adds entries. A model takes the entry of the longest key that its name starts with. Batch
prices (``--batch``) are a second table; a file's entry gives them as ``batch_input`` / ``batch_output``.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import logging
import os
import random
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ...errors import InputError

log = logging.getLogger(__name__)

# model name prefix -> (USD per 1M input tokens, USD per 1M output tokens)
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-4": (30.0, 60.0),
    "gpt-4-32k": (60.0, 120.0),
    "gpt-4-turbo": (10.0, 30.0),
    "gpt-4-1106": (10.0, 30.0),
    "gpt-4-0125": (10.0, 30.0),
    "gpt-4o": (2.50, 10.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.40),
    "o1": (15.0, 60.0),
    "o1-mini": (1.10, 4.40),
    "o3": (2.0, 8.0),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-sonnet": (3.0, 15.0),
    "claude-3-opus": (15.0, 75.0),
    "claude-3-5-haiku": (0.80, 4.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-haiku-4": (1.0, 5.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-opus-4-5": (5.0, 25.0),
    # Gemini (paid tier, prompts up to 200k tokens; output includes thinking)
    "gemini-1.5-flash": (0.075, 0.30),
    "gemini-1.5-pro": (1.25, 5.0),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.0-flash-lite": (0.075, 0.30),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-pro": (1.25, 10.0),
    "gemini-3-pro": (2.0, 12.0),
}
# Claude on Bedrock is named by model id (anthropic.claude-...) or inference profile (us.anthropic.claude-...),
# on Vertex AI as claude-...@date: both are priced as Anthropic's own (on-demand, global endpoints).
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.", re.IGNORECASE)

# The same through the batch APIs (``--batch``: OpenAI's Batch API, Anthropic's Message Batches), USD per 1M
# tokens. Both providers publish half the list price for every model; a key missing here has no known batch price.
BATCH_PRICES: dict[str, tuple[float, float]] = {
    "gpt-3.5-turbo": (0.25, 0.75), "gpt-4": (15, 30), "gpt-4-32k": (30, 60), "gpt-4-turbo": (5, 15),
    "gpt-4-1106": (5, 15), "gpt-4-0125": (5, 15), "gpt-4o": (1.25, 5), "gpt-4o-mini": (0.075, 0.3),
    "gpt-4.1": (1, 4), "gpt-4.1-mini": (0.2, 0.8), "gpt-4.1-nano": (0.05, 0.2), "gpt-5": (0.625, 5),
    "gpt-5-mini": (0.125, 1), "gpt-5-nano": (0.025, 0.2), "o1": (7.5, 30), "o1-mini": (0.55, 2.2),
    "o3": (1, 4), "o3-mini": (0.55, 2.2), "o4-mini": (0.55, 2.2), "claude-3-haiku": (0.125, 0.625),
    "claude-3-sonnet": (1.5, 7.5), "claude-3-opus": (7.5, 37.5), "claude-3-5-haiku": (0.4, 2),
    "claude-3-5-sonnet": (1.5, 7.5), "claude-3-7-sonnet": (1.5, 7.5), "claude-haiku-4": (0.5, 2.5),
    "claude-sonnet-4": (1.5, 7.5), "claude-opus-4": (7.5, 37.5), "claude-opus-4-5": (2.5, 12.5),
}

SAMPLE = 400  # distinct texts tokenized exactly before the rest is scaled by length
ASSUMED_OUTPUT_TOKENS = 250  # a typical judgment: a few sentences of explanation and a verdict
_TOKENS_PER_MESSAGE = 3  # OpenAI's chat format adds about 3 tokens per message and 3 to prime the reply
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_VOCAB_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


@dataclass(frozen=True)
class Price:
    key: str
    input: float  # USD per 1M tokens
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


class PriceTable:
    def __init__(self, prices: dict[str, tuple[float, float]] | None = None,
                 batch_prices: dict[str, tuple[float, float]] | None = None):
        self.prices = dict(DEFAULT_PRICES if prices is None else prices)
        self.batch_prices = dict(BATCH_PRICES if prices is None and batch_prices is None else batch_prices or {})

    @classmethod
    def load(cls, path: str | Path | None) -> "PriceTable":
        """The built-in table, with the entries of the JSON file at ``path`` (if any) on top."""
        table = cls()
        if path is None:
            return table
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(path, "price table not found") from None
        except ValueError as exc:
            raise InputError(path, f"invalid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise InputError(path, 'expected an object such as {"gpt-4o": {"input": 2.5, "output": 10}}')
        for model, entry in data.items():
            if not isinstance(entry, dict):
                raise InputError(path, "expected {\"input\": USD per 1M tokens, \"output\": ...}", field=model)
            try:
                table.prices[model] = (_usd(entry, "input"), _usd(entry, "output"))
                # a new list price makes the built-in batch price stale: only the file's own counts then
                table.batch_prices.pop(model, None)
                if "batch_input" in entry or "batch_output" in entry:
                    table.batch_prices[model] = (_usd(entry, "batch_input"), _usd(entry, "batch_output"))
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(path, f"{exc}", field=model) from None
        return table

    def lookup(self, model: str, batch: bool = False) -> Price | None:
        """The price of ``model`` (``batch``: through the batch APIs); None when the table has none."""
        names = {model.lower(), _BEDROCK_PREFIX.sub("", model.lower())}
        keys = [k for k in self.prices if any(name.startswith(k.lower()) for name in names)]
        if not keys:
            return None
        key = max(keys, key=len)
        if batch:
            return Price(f"{key} batch", *self.batch_prices[key]) if key in self.batch_prices else None
        return Price(key, *self.prices[key])


def _usd(entry: dict, name: str) -> float:
    if name not in entry:
        raise KeyError(f"missing '{name}' (USD per 1M tokens)")
    value = entry[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"'{name}' must be a number >= 0, not {value!r}")
    return float(value)


# -- token counting ------------------------------------------------------------------------------
def approximate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


APPROXIMATION = "approximation: 1 token per 4 characters, 1 per CJK character"


def _seed_vocabulary(name: str, cache: Path) -> None:
    """Put the vocabulary file bundled by the bpe-openai package where tiktoken's cache looks for it."""
    target = cache / hashlib.sha1(_VOCAB_URL.format(name).encode()).hexdigest()
    if target.exists():
        return
    spec = importlib.util.find_spec("bpe_openai")  # finds the package without importing it (slow import)
    if spec is None or not spec.origin:
        return
    bundled = Path(spec.origin).parent / "data" / f"{name}.tiktoken.gz"
    if not bundled.exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(gzip.decompress(bundled.read_bytes()))
    os.replace(tmp, target)


def _tiktoken_encoding(name: str, timeout: float = 20.0):
    """tiktoken's encoding ``name`` from its cache, the bundled copy, or a download; None if none works."""
    import tiktoken

    from ..weights import cache_dir

    user_cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    cache = Path(user_cache) if user_cache else cache_dir() / "tiktoken"
    try:
        _seed_vocabulary(name, cache)
    except OSError as exc:
        log.debug("could not seed tiktoken's cache: %s", exc)
    found: list = []

    def load() -> None:
        old = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
        try:
            found.append(tiktoken.get_encoding(name))
        except Exception as exc:  # no network, bad cache file: fall back to the approximation
            log.debug("tiktoken %s unavailable: %s", name, exc)
        finally:
            if old is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = old

    # A download on a network that swallows packets could hang; the estimate is not worth waiting for.
    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout)
    return found[0] if found else None


def token_counter(provider: str, model: str) -> tuple[Callable[[str], int], str]:
    """A function counting the tokens of a text for ``model``, and how it counts (shown to the user)."""
    if provider in ("openai", "azure"):  # an Azure deployment named after its model gets that model's tokenizer
        try:
            import tiktoken

            name = tiktoken.encoding_name_for_model(model)
        except (ImportError, KeyError):
            return approximate_tokens, f"{APPROXIMATION} (tiktoken knows no tokenizer for {model!r})"
        enc = _tiktoken_encoding(name)
        if enc is not None:
            return (lambda text: len(enc.encode(text, disallowed_special=()))), f"tiktoken {name}"
        return approximate_tokens, f"{APPROXIMATION} (tiktoken's {name} vocabulary is not available offline)"
    return approximate_tokens, f"{APPROXIMATION} ({provider} publishes no offline tokenizer)"


def count_prompt_tokens(conversations: Iterable[list[dict[str, str]]], count: Callable[[str], int],
                        sample: int | None = SAMPLE) -> tuple[int, str]:
    """Input tokens of chat requests, and a note on how they were counted.

    Texts that repeat (system prompts) are counted once. Past ``sample`` distinct texts (None: never), a fixed random
    sample of them is tokenized and the rest scaled by length: within about 1% for a bench, and it keeps
    the preview from delaying a large run by seconds.
    """
    uses: dict[str, int] = {}
    total = 0
    for messages in conversations:
        total += _TOKENS_PER_MESSAGE * (len(messages) + 1)
        for m in messages:
            uses[m["content"]] = uses.get(m["content"], 0) + 1
    if sample is None or len(uses) <= sample:
        return total + sum(count(text) * n for text, n in uses.items()), ""
    # Texts used more than once (system prompts) are counted exactly; the others are sampled.
    once = sorted(text for text, n in uses.items() if n == 1)
    total += sum(count(text) * n for text, n in uses.items() if n > 1)
    picked = random.Random(0).sample(once, min(sample, len(once)))
    per_char = sum(count(t) for t in picked) / max(1, sum(len(t) for t in picked))
    return (total + round(per_char * sum(len(t) for t in once)),
            f" on a sample of {len(picked)} of {len(uses):,} distinct texts, scaled by length")


# -- the estimate shown before a run -------------------------------------------------------------
@dataclass
class CostEstimate:
    model: str
    calls: int
    input_tokens: int
    method: str
    max_output_per_call: int
    price: Price | None
    output_per_call: int = ASSUMED_OUTPUT_TOKENS
    live_price: Price | None = None  # with --batch: the list price, shown beside the batch price

    @property
    def output_tokens(self) -> int:
        return self.calls * min(self.output_per_call, self.max_output_per_call)

    def cost(self) -> float | None:
        return self.price.cost(self.input_tokens, self.output_tokens) if self.price else None

    def max_cost(self) -> float | None:
        return self.price.cost(self.input_tokens, self.calls * self.max_output_per_call) if self.price else None

    def lines(self) -> list[str]:
        out = [f"estimate: {self.calls} calls, {self.input_tokens:,} input tokens ({self.method}), "
               f"~{self.output_tokens:,} output tokens (assumed {min(self.output_per_call, self.max_output_per_call)} "
               f"per call)"]
        live = ""
        if self.live_price is not None:  # a batch run: what the same calls cost live
            live = f"; live: ~${self.live_price.cost(self.input_tokens, self.output_tokens):,.2f}"
        if self.price is None:
            what = "batch price" if self.live_price is not None else "price"
            out.append(f"estimate: cost unknown: no {what} for {self.model!r}{live}; give one with --price-table FILE")
        else:
            out.append(f"estimate: ~${self.cost():,.2f} at {self.price.key} prices (${self.price.input:g} in / "
                       f"${self.price.output:g} out per 1M tokens{live}); at most ${self.max_cost():,.2f} if every "
                       f"call used all {self.max_output_per_call} output tokens")
        return out


def estimate(provider: str, model: str, conversations: list[list[dict[str, str]]], max_output_per_call: int,
             prices: PriceTable, batch: bool = False) -> CostEstimate:
    """The estimate of a run; ``batch``: at the batch price, with the live price beside it."""
    count, method = token_counter(provider, model)
    # the approximation is cheap enough to apply to every text
    tokens, how = count_prompt_tokens(conversations, count, None if count is approximate_tokens else SAMPLE)
    return CostEstimate(model=model, calls=len(conversations), input_tokens=tokens, method=method + how,
                        max_output_per_call=max_output_per_call, price=prices.lookup(model, batch),
                        live_price=prices.lookup(model) if batch else None)
