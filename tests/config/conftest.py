"""Fixtures for the configuration-language tests: the example files and the `aurora` CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from aurora_provider.cli.aurora import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "dags_examples"
MALFORMED = Path(__file__).resolve().parent / "malformed"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def aurora(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``aurora ARGS...`` in this process; return its exit code, stdout and stderr."""

    def run(*args: str | Path) -> Run:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
