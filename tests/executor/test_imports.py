"""The executor stays light: no Airflow, no scheduler, no kazoo/httpx unless a task needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

CHECK = """
import sys, pkgutil, importlib, executor
for info in pkgutil.walk_packages(executor.__path__, 'executor.'):
    importlib.import_module(info.name)
bad = [m for m in sys.modules if m.split('.')[0] == 'airflow' or
       m.startswith('aurora_provider.framework')]
print(','.join(sorted(bad)))
"""

RUN = """
import sys
from pathlib import Path
from executor.core.runner import Runner
from executor.core.spec import ProcessSpec, TaskSpec
spec = TaskSpec(name='t', processes=(ProcessSpec(name='a', cmdline='true'),))
Runner(spec, Path(sys.argv[1]), 't', sandbox=Path(sys.argv[2]), quiet=True).run()
heavy = ('kazoo', 'httpx', 'pydantic', 'fastapi', 'pystachio', 'psutil')
# Of the project, only the error root and the state machines (dependency-free).
light = ('aurora_provider', 'aurora_provider.errors', 'aurora_provider.states')
print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy or (
    m.startswith('aurora_provider') and m not in light
    and not m.startswith('aurora_provider.states.')))))
"""


def test_importing_the_executor_imports_neither_airflow_nor_the_scheduler() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == ""


def test_a_plain_task_runs_without_heavy_imports(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path / "ck"), str(tmp_path / "sb")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert out.strip() == ""
