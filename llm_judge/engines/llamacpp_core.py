"""llama.cpp through llama-cpp-python's public low-level bindings: a GGUF model, its tokenizer, and contexts
in which several sequences are decoded together (one KV sequence per row, one ``llama_decode`` per step).

Only the C API's functions and structures as llama-cpp-python exposes them are used (``llama_cpp.llama_*``);
its high-level ``Llama`` class holds one sequence per context and allocates per-context logits buffers
we do not need.
"""
from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, Sequence

from ..errors import ConfigError, MissingDependency
from .pool import local_cores

log = logging.getLogger(__name__)
_LEVELS = {3: logging.WARNING, 4: logging.ERROR}  # ggml's log levels (ggml.h); the rest (info, debug) go to DEBUG


def llama_cpp() -> Any:
    try:
        import llama_cpp as module
    except ImportError:
        raise MissingDependency("llama-cpp-python", "llamacpp") from None
    _route_logs(module)
    return module


_callback: Any = None  # kept alive for as long as llama.cpp may call it


def _route_logs(module: Any) -> None:
    """llama.cpp's log lines (a hundred per model load) go to Python logging instead of stderr."""
    global _callback
    if _callback is not None:
        return

    def forward(level: int, text: bytes, _user: Any) -> None:
        lvl = _LEVELS.get(level, logging.DEBUG)
        if log.isEnabledFor(lvl):
            log.log(lvl, "%s", text.decode("utf-8", "replace").rstrip())

    _callback = module.llama_log_callback(forward)
    module.llama_log_set(_callback, ctypes.c_void_p(0))


@dataclass
class Entry:
    """One token of a batch: its id, position, the KV sequences it belongs to, whether its logits are wanted."""

    token: int
    pos: int
    seqs: tuple[int, ...]
    logits: bool = False


class GGUF:
    """A GGUF model loaded once; contexts (KV caches) are made per batch of rows with :meth:`context`."""

    def __init__(self, path: str | Path, threads: int | None = None):
        self.lib = lib = llama_cpp()
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"GGUF file not found: {self.path}")
        lib.llama_backend_init()
        params = lib.llama_model_default_params()
        self.model = lib.llama_model_load_from_file(str(self.path).encode(), params)
        if not self.model:
            raise ConfigError(f"llama.cpp could not load {self.path} (see the log with --verbose)")
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        self.n_ctx_train = lib.llama_model_n_ctx_train(self.model)
        self.threads = threads or local_cores()

    # -- metadata and tokens -----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        size = 1 << 12
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self.lib.llama_model_meta_val_str(self.model, key.encode(), buf, size)
            if n < 0:
                return None
            if n < size:
                return buf.value.decode("utf-8", "replace")
            size = n + 1

    def chat_template(self) -> str | None:
        raw = self.lib.llama_model_chat_template(self.model, None)
        return raw.decode("utf-8") if raw else None

    def shape(self) -> SimpleNamespace:
        """The model's sizes under transformers' config names (batch_rows.row_bytes reads them)."""
        arch = self.meta("general.architecture") or "llama"

        def number(key: str) -> int | None:
            value = self.meta(f"{arch}.{key}")
            return int(value) if value and value.isdigit() else None

        heads = number("attention.head_count")
        return SimpleNamespace(num_hidden_layers=number("block_count"), num_attention_heads=heads,
                               num_key_value_heads=number("attention.head_count_kv") or heads,
                               head_dim=number("attention.key_length"), hidden_size=number("embedding_length"),
                               vocab_size=self.n_vocab)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` as a chat template writes it: special tokens parsed, no BOS added."""
        data = text.encode("utf-8")
        size = len(data) + 8
        while True:
            out = (self.lib.llama_token * size)()
            n = self.lib.llama_tokenize(self.vocab, data, len(data), out, size, False, True)
            if n >= 0:
                return list(out[:n])
            size = -n

    def token_text(self, token: int) -> str:
        """A special token's text (the BOS and EOS a chat template writes)."""
        buf = ctypes.create_string_buffer(256)
        n = self.lib.llama_token_to_piece(self.vocab, token, buf, 256, 0, True)
        return buf.raw[:max(n, 0)].decode("utf-8", "replace")

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of generated tokens, special tokens left out; a character cut by the end reads U+FFFD."""
        if not tokens:
            return ""
        ids = (self.lib.llama_token * len(tokens))(*tokens)
        size = 8 * len(tokens) + 16
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self.lib.llama_detokenize(self.vocab, ids, len(tokens), buf, size, False, False)
            if n >= 0:
                return buf.raw[:n].decode("utf-8", "replace")
            size = -n

    def is_eog(self, token: int) -> bool:
        return bool(self.lib.llama_vocab_is_eog(self.vocab, token))

    def bos_eos(self) -> tuple[str, str]:
        lib = self.lib
        return tuple(self.token_text(t) if t >= 0 else ""  # type: ignore[return-value]
                     for t in (lib.llama_vocab_bos(self.vocab), lib.llama_vocab_eos(self.vocab)))

    # -- contexts ------------------------------------------------------------------------------------

    def context(self, seqs: int, positions: int, *, unified: bool, batch: int = 2048) -> "Context":
        """A context for ``seqs`` sequences. ``unified``: one KV buffer of ``positions`` cells shared by all
        (sequences may share cells: a prompt prefix copied to several); else each sequence has its own
        buffer of ``positions`` cells, and a row's attention never sees another row's cells."""
        return Context(self, seqs, positions, unified, batch)

    def close(self) -> None:
        if self.model:
            self.lib.llama_model_free(self.model)
            self.model = None


class Context:
    """One llama.cpp context and a reusable batch: :meth:`decode` feeds entries and yields wanted logits."""

    def __init__(self, gguf: GGUF, seqs: int, positions: int, unified: bool, batch: int):
        lib = self.lib = gguf.lib
        self.gguf = gguf
        limit = lib.llama_max_parallel_sequences()
        if seqs > limit:
            raise ConfigError(f"llama.cpp decodes at most {limit} sequences together, not {seqs}")
        params = lib.llama_context_default_params()
        cells = -(-positions // 256) * 256  # whole pages of 256 cells (per sequence unless unified)
        params.n_ctx = cells if unified else cells * seqs
        params.n_batch = batch
        params.n_ubatch = min(batch, 512)
        params.n_seq_max = seqs
        params.kv_unified = unified
        params.n_threads = params.n_threads_batch = gguf.threads
        params.no_perf = True
        self.ctx = lib.llama_init_from_model(gguf.model, params)
        if not self.ctx:
            raise ConfigError(f"llama.cpp could not make a context of {params.n_ctx} positions for {seqs} sequences")
        self.memory = lib.llama_get_memory(self.ctx)
        self.size = lib.llama_n_batch(self.ctx)  # llama.cpp lowers n_batch to n_ctx
        self.batch = lib.llama_batch_init(self.size, 0, seqs)

    def decode(self, entries: Sequence[Entry]) -> Iterator[tuple[int, Any]]:
        """Decode ``entries`` in order, ``size`` at a time; yield (entry index, its logits as a numpy
        array) for each entry that wants them. A yielded array is valid until the next one is asked for."""
        import numpy as np

        lib, b = self.lib, self.batch
        n_vocab = self.gguf.n_vocab
        for start in range(0, len(entries), self.size):
            part = entries[start:start + self.size]
            for i, e in enumerate(part):
                b.token[i] = e.token
                b.pos[i] = e.pos
                b.n_seq_id[i] = len(e.seqs)
                for k, s in enumerate(e.seqs):
                    b.seq_id[i][k] = s
                b.logits[i] = e.logits
            b.n_tokens = len(part)
            code = lib.llama_decode(self.ctx, b)
            if code != 0:
                raise RuntimeError(f"llama_decode returned {code}" + (" (no room left in the KV cache)" if code == 1
                                                                     else ""))
            wanted = [i for i, e in enumerate(part) if e.logits]
            if wanted:
                rows = np.ctypeslib.as_array(lib.llama_get_logits(self.ctx), shape=(len(wanted), n_vocab))
                for k, i in enumerate(wanted):
                    yield start + i, rows[k]

    def copy(self, src: int, dst: int) -> None:
        """Sequence ``dst`` shares every cell of ``src`` (a unified context: no data is copied)."""
        self.lib.llama_memory_seq_cp(self.memory, src, dst, -1, -1)

    def drop(self, seq: int) -> None:
        self.lib.llama_memory_seq_rm(self.memory, seq, -1, -1)

    def close(self) -> None:
        if self.ctx:
            self.lib.llama_batch_free(self.batch)
            self.lib.llama_free(self.ctx)
            self.ctx = None

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
