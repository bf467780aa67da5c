"""--batch-size auto: rows sized by free memory (llm_judge/engines/batch_rows.py)."""
from types import SimpleNamespace

import pytest

from llm_judge.cli.engine_flags import _batch_size
from llm_judge.engines.batch_rows import MAX_ROWS, auto_rows, free_memory, row_bytes

# SmolLM2-135M's shape: 30 layers, 9 query heads over 3 KV heads of 64, a 49,152-token vocabulary.
SMOL = SimpleNamespace(num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3, hidden_size=576,
                       vocab_size=49152)


def test_row_bytes_is_the_kv_cache_and_the_last_logits():
    # keys and values: 2 x 30 layers x 3 heads x 64 dims x 1,000 positions x 2 bytes (bf16); logits: 4 bytes each
    assert row_bytes(SMOL, 2, 1000) == 2 * 30 * 3 * 64 * 1000 * 2 + 4 * 49152


def test_rows_fill_a_quarter_of_the_free_memory_within_bounds():
    per_row = row_bytes(SMOL, 2, 1000)
    assert auto_rows(SMOL, 2, 1000, "cpu", free=4 * per_row * 10) == 10
    assert auto_rows(SMOL, 2, 1000, "cpu", free=10**15) == MAX_ROWS
    assert auto_rows(SMOL, 2, 1000, "cpu", free=1) == 1
    assert auto_rows(SMOL, 4, 1000, "cpu", free=4 * per_row * 10) < 10  # float32 rows take twice the room


def test_this_machine_reports_its_free_memory():
    free = free_memory("cpu")
    assert free is not None and free > 0


def test_flag_takes_auto_or_a_positive_number():
    assert _batch_size("auto") is None and _batch_size("12") == 12
    with pytest.raises(Exception):
        _batch_size("0")
