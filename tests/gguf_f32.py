"""A GGUF file whose quantized tensors are stored de-quantized in float32, everything else (metadata, tokenizer,
chat template) copied as it is: the weights transformers computes with when it loads the original file.

llama.cpp multiplies a quantized weight with activations quantized to 8 bits (its Q4_1 dot product takes Q8_1
inputs); with float32 weights it multiplies in float32, as transformers does. Running both engines on this file
separates what the engines do from what the quantized arithmetic does.
"""
from __future__ import annotations

from pathlib import Path


def dequantized_copy(src: Path, dst: Path) -> Path:
    """Write ``src`` with every tensor in float32 to ``dst`` (written beside it, then renamed); return ``dst``."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(src)
    part = dst.with_name(dst.name + ".part")
    writer = gguf.GGUFWriter(part, reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # the writer writes these itself
        if field.name == gguf.Keys.General.FILE_TYPE:
            writer.add_key_value(field.name, int(gguf.LlamaFileType.ALL_F32), gguf.GGUFValueType.UINT32)
            continue
        kind = field.types[0]
        writer.add_key_value(field.name, field.contents(), kind,
                             sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    part.replace(dst)
    return dst
