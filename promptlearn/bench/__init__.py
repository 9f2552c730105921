"""Benchmarks against the peers: promptlearn, its ablations, and DSPy's GEPA and MIPROv2 on the same splits."""

from promptlearn.bench.arms import ARMS, Arm
from promptlearn.bench.presets import PRESETS, BenchPreset, get_preset
from promptlearn.bench.runner import run_bench
from promptlearn.bench.task import ArmResult, BenchTask

__all__ = ["ARMS", "PRESETS", "Arm", "ArmResult", "BenchPreset", "BenchTask", "get_preset", "run_bench"]
