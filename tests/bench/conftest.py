from __future__ import annotations

from pathlib import Path

import pytest

from promptlearn.bench import BenchTask
from tests.bench.fakes import make_task


@pytest.fixture
def task(tmp_path: Path) -> BenchTask:
    return make_task(tmp_path)
