"""A Hugging Face transformers backend behind the LM seam: `hf/<folder-or-hub-id>[+lora:<adapter-dir>][#tag]`.

It exists so that a base model, the same model under another prompt, and the same model with a LoRA adapter are
all answered by one inference stack (same weights, same chat template, same greedy decoding): the only way to
compare prompt learning with weight updates without the backend being a hidden variable.

- Greedy decoding when the request's temperature is 0 (every evaluation), sampling with its seed otherwise.
  The model's own generation config (a repetition penalty, say) is ignored, so every model decodes alike.
- `#tag` is ignored when loading. Callers put a hash of the adapter's weights there, because the store caches
  replies by model string: a retrained adapter at the same path must not get the old adapter's answers.
- `json_schema` is not enforced (there is no grammar); use this backend for task models, not judges.
- `tools` go to the chat template; the reply's `<tool_call>` blocks become the calls (promptlearn.toolcalls).
- `HFLM.prefetch(requests)` answers many requests in padded batches ahead of time and keeps the replies until
  `complete` asks for them: batching is several times faster on a CPU than one request at a time.
- One model is held in memory at a time (the last one used), so evaluate arms grouped by model.

torch, transformers and peft are imported inside functions only.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptlearn.errors import ModelError
from promptlearn.lm.base import Completion, LMRequest, Usage
from promptlearn.toolcalls import from_tagged_text

PREFIX = "hf/"
LORA = "+lora:"


def is_hf(model: str) -> bool:
    return model.startswith(PREFIX)


@dataclass(frozen=True)
class HFSpec:
    base: str  # a local folder or a hub id
    adapter: str | None = None


def parse(model: str) -> HFSpec:
    """`hf/<base>[+lora:<adapter>][#tag]` -> its base and adapter (the tag only keys the cache)."""
    if not is_hf(model):
        raise ModelError(f"'{model}' is not an hf/ model string (hf/<folder-or-id>[+lora:<adapter-dir>])")
    body = model[len(PREFIX):].split("#", 1)[0]
    base, _, adapter = body.partition(LORA)
    if not base:
        raise ModelError(f"'{model}': name a model folder or hub id after hf/")
    return HFSpec(base, adapter or None)


def adapter_tag(adapter_dir: str | Path) -> str:
    """12 hex digits of the adapter's weights file, so a retrained adapter gets a new model string."""
    folder = Path(adapter_dir)
    weights = [p for p in (folder / "adapter_model.safetensors", folder / "adapter_model.bin") if p.is_file()]
    if not weights:
        raise ModelError(f"{folder} holds no LoRA adapter weights (adapter_model.safetensors)")
    digest = hashlib.sha256()
    with weights[0].open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def model_string(base: str | Path, adapter: str | Path | None = None) -> str:
    """The model string for a base folder (made absolute) with an optional adapter (tagged by its weights)."""
    where = Path(base).expanduser()
    name = str(where.resolve()) if where.exists() else str(base)
    if adapter is None:
        return f"{PREFIX}{name}"
    return f"{PREFIX}{name}{LORA}{Path(adapter).expanduser().resolve()}#{adapter_tag(adapter)}"


def apply_threads() -> None:
    """torch's CPU threads from `PROMPTLEARN_THREADS`, as for llama.cpp. On a busy machine 1 thread can be several
    times faster than one per core, because torch's threads spin-wait for each other."""
    value = os.environ.get("PROMPTLEARN_THREADS", "")
    if value.isdigit() and int(value) > 0:
        import torch

        torch.set_num_threads(int(value))


class _Engine:
    """A loaded model and tokenizer for one (base, adapter)."""

    def __init__(self, spec: HFSpec):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        apply_threads()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(spec.adapter or spec.base)
            model: Any = AutoModelForCausalLM.from_pretrained(spec.base, dtype=dtype)
        except OSError as exc:
            raise ModelError(f"cannot load hf model {spec.base}: {exc}") from None
        if spec.adapter is not None:
            from peft import PeftModel

            if not (Path(spec.adapter) / "adapter_config.json").is_file():
                raise ModelError(f"{spec.adapter} holds no LoRA adapter (no adapter_config.json)")
            model = PeftModel.from_pretrained(model, spec.adapter)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # decoder-only batches pad on the left so every reply starts together
        self.model = model.to(self.device).eval()

    def generate(self, requests: Sequence[LMRequest]) -> list[Completion]:
        """One padded batch; all requests share max_tokens and temperature (the caller groups them so)."""
        import torch
        from transformers import GenerationConfig

        start = time.perf_counter()
        first = requests[0]
        texts = [self.tokenizer.apply_chat_template(r.message_dicts(), add_generation_prompt=True, tokenize=False,
                                                    tools=list(r.tools) if r.tools is not None else None)
                 for r in requests]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sample = first.temperature > 0
        config = GenerationConfig(max_new_tokens=first.max_tokens, do_sample=sample,
                                  temperature=first.temperature if sample else None, top_p=None, top_k=None,
                                  repetition_penalty=1.0, pad_token_id=self.tokenizer.pad_token_id,
                                  eos_token_id=self.tokenizer.eos_token_id)
        if sample:
            torch.manual_seed(first.seed)
        with torch.inference_mode():
            out = self.model.generate(**enc, generation_config=config)
        new = out[:, enc["input_ids"].shape[1]:]
        elapsed = (time.perf_counter() - start) / len(requests)
        replies = []
        for i, request in enumerate(requests):
            tokens = [t for t in new[i].tolist() if t != self.tokenizer.pad_token_id]
            text = _cut(str(self.tokenizer.decode(tokens, skip_special_tokens=True)), request.stop)
            if request.tools is not None:  # the chat template's <tool_call> blocks, as promptlearn.toolcalls writes
                text = from_tagged_text(text).as_text()
            prompt_tokens = int(enc["attention_mask"][i].sum())
            replies.append(Completion(text=text, usage=Usage(prompt_tokens, len(tokens)), latency_s=elapsed))
        return replies


def _cut(text: str, stops: Iterable[str]) -> str:
    """The reply up to its first stop string (generation itself stops only at the end-of-sequence token)."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:cut].strip()


_engine: tuple[HFSpec, _Engine] | None = None
_engine_lock = threading.Lock()


def engine(spec: HFSpec) -> _Engine:
    """The loaded model for `spec`; loading another one first frees the current one (one in memory at a time)."""
    global _engine
    if _engine is None or _engine[0] != spec:
        _engine = None
        _engine = (spec, _Engine(spec))
    return _engine[1]


def release() -> None:
    """Free the loaded model (e.g. before training needs the memory)."""
    global _engine
    with _engine_lock:
        _engine = None


class HFLM:
    """`LM` for `hf/` model strings. `prefetch` batches; `complete` answers one (or from what was prefetched)."""

    def __init__(self, batch_size: int = 8):
        self.batch_size = max(1, batch_size)
        self._ready: dict[str, Completion] = {}
        self._lock = threading.Lock()

    def prefetch(self, requests: Iterable[LMRequest]) -> int:
        """Answer `requests` in batches (grouped by model and decoding settings, sorted by length); returns how
        many were generated. The replies wait for `complete`, which hands each out once."""
        todo: dict[tuple[str, int, float], list[LMRequest]] = {}
        for r in requests:
            if r.key not in self._ready:
                todo.setdefault((r.model, r.max_tokens, r.temperature), []).append(r)
        done = 0
        for group in todo.values():
            group.sort(key=lambda r: sum(len(c) for _role, c in r.messages))
            for i in range(0, len(group), self.batch_size):
                batch = group[i: i + self.batch_size]
                for request, reply in zip(batch, self._generate(batch), strict=True):
                    self._ready[request.key] = reply
                done += len(batch)
        return done

    def complete(self, request: LMRequest) -> Completion:
        with self._lock:
            ready = self._ready.pop(request.key, None)
        return ready if ready is not None else self._generate([request])[0]

    def _generate(self, batch: Sequence[LMRequest]) -> list[Completion]:
        with _engine_lock:
            the_engine = engine(parse(batch[0].model))
            try:
                return the_engine.generate(batch)
            except (RuntimeError, ValueError) as exc:  # e.g. a prompt past the context: these requests fail alone
                return [Completion(text="", error=f"{type(exc).__name__}: {exc}"[:300]) for _ in batch]
