"""Load a trainable model: an embedded GGUF model (dequantized once into a plain HF folder) or a local HF folder.

transformers loads a GGUF file dequantized, but a GGUF-loaded model keeps its quantizer and refuses to train or
save. So the first load clears the quantizer, saves a plain folder in the cache, and every later load (training
included) reads that folder. torch, transformers and peft are imported inside functions only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from typing import Any

from promptlearn.errors import ConfigError, ModelError
from promptlearn.lm import models

RL_PACKAGES = ("torch", "transformers", "trl", "peft")
INSTALL_HINT = "pip install 'promptlearn[rl]'"
ADAPTER_INFO = "promptlearn_adapter.json"


def require_rl() -> None:
    """Fail with the install command when the optional RL packages are missing."""
    missing = [name for name in RL_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"RL training needs {', '.join(missing)}; install them with: {INSTALL_HINT}")


def hf_cache_dir() -> Path:
    """Where converted models live: `$PROMPTLEARN_HF_CACHE`, else `hf/` beside the pulled GGUF files."""
    override = os.environ.get("PROMPTLEARN_HF_CACHE")
    return Path(override).expanduser() if override else models.models_dir() / "hf"


def plain_folder(model: str) -> Path:
    """The HF folder to train from: `model` itself when it is a folder, else the converted embedded model."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path} is not a Hugging Face model folder (no config.json)")
        return path
    name = model.removeprefix("local/")
    spec = models.spec(name)
    folder = hf_cache_dir() / f"{spec.name}-{spec.sha256[:12]}"
    if not (folder / "config.json").is_file():
        convert_gguf(models.verified_path(name), folder)
    return folder


def convert_gguf(gguf: Path, folder: Path) -> Path:
    """Dequantize `gguf` into a plain folder (written beside it under a temporary name, then moved in place)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    clear_quantizer(model)
    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def clear_quantizer(model: Any) -> None:
    """Make a GGUF-loaded (already dequantized) model an ordinary one, so it can be saved and trained."""
    model.hf_quantizer = None
    for attr in ("is_quantized", "quantization_method"):
        if attr in vars(model):
            delattr(model, attr)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def pick_device() -> tuple[str, bool]:
    """("cuda", bf16 supported) when a GPU is there, else ("cpu", False)."""
    import torch

    if torch.cuda.is_available():
        return "cuda", bool(torch.cuda.is_bf16_supported())
    return "cpu", False


def load_model(model: str, device: str = "cpu", bf16: bool = False) -> tuple[Any, Any]:
    """(causal LM, tokenizer) from an embedded model name or a local HF folder, ready to train."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from promptlearn.lm.hf import apply_threads

    apply_threads()
    folder = plain_folder(model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if bf16 else torch.float32
    lm: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    return lm.to(device), tokenizer


def write_adapter_info(adapter_dir: Path, base_model: str) -> None:
    """Record which plain folder the adapter was trained on, so `load_adapter` needs only the adapter path."""
    info = {"base_model": base_model, "base_folder": str(plain_folder(base_model).resolve())}
    (adapter_dir / ADAPTER_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def load_adapter(adapter_dir: str | Path, base_model: str | None = None, merge: bool = False) -> tuple[Any, Any]:
    """(model with the LoRA adapter applied, tokenizer); `merge=True` folds the adapter into the weights."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ModelError(f"{adapter_dir} holds no LoRA adapter (no adapter_config.json)")
    if base_model is None:
        info_file = adapter_dir / ADAPTER_INFO
        if not info_file.is_file():
            raise ModelError(f"{adapter_dir}: no {ADAPTER_INFO}; pass base_model= (the model it was trained on)")
        base_model = json.loads(info_file.read_text(encoding="utf-8"))["base_model"]
    base, _ = load_model(base_model)
    model = PeftModel.from_pretrained(base, adapter_dir)
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    return (model.merge_and_unload() if merge else model), tokenizer
