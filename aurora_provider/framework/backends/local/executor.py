"""The executor as the local backend sees it: the part of ``executor.api`` it uses.

Kept behind a Protocol so the backend's dependency on the executor stays this narrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from executor import api


class RunnerView(Protocol):
    """A task as its checkpoint tells it."""

    @property
    def state(self) -> str: ...  # ACTIVE, CLEANING, FINALIZING, SUCCESS, FAILED, KILLED, LOST

    @property
    def health(self) -> str: ...  # starting, healthy, unhealthy, none

    @property
    def runner_pid(self) -> int | None: ...

    @property
    def runner_alive(self) -> bool: ...

    @property
    def message(self) -> str | None: ...

    @property
    def sandbox(self) -> str | None: ...

    @property
    def log_dir(self) -> str | None: ...

    @property
    def processes(self) -> Mapping[str, api.ProcessView]: ...


class ExecutorApi(Protocol):
    def task_ids(self) -> list[str]: ...

    def task(self, task_id: str) -> RunnerView | None: ...

    def runner_argv(self, *, executor_data: str, task_id: str, instance: int, hostname: str,
                    ports: Mapping[str, int], sandbox: str, checkpoint_root: str,
                    setuid: str | None = None, announcer_ensemble: str | None = None,
                    announcer_zk_path_prefix: str | None = None,
                    container: Mapping[str, Any] | None = None,
                    container_runtime: str | None = None) -> list[str]: ...

    def kill_task(self, task_id: str) -> None: ...

    def container_image(self, container: Mapping[str, Any]) -> str: ...

    def container_removal_argv(self, runtime: str, task_id: str) -> list[str]: ...


class _RealExecutor:
    """``executor.api`` bound to one checkpoint root."""

    def __init__(self, checkpoint_root: Path) -> None:
        self._root = checkpoint_root
        self._reader = api.CheckpointReader(checkpoint_root)

    def task_ids(self) -> list[str]:
        return self._reader.task_ids()

    def task(self, task_id: str) -> RunnerView | None:
        return self._reader.task(task_id)

    def runner_argv(self, *, executor_data: str, task_id: str, instance: int, hostname: str,
                    ports: Mapping[str, int], sandbox: str, checkpoint_root: str,
                    setuid: str | None = None, announcer_ensemble: str | None = None,
                    announcer_zk_path_prefix: str | None = None,
                    container: Mapping[str, Any] | None = None,
                    container_runtime: str | None = None) -> list[str]:
        # prebind: the scheduler has the configuration language loaded already, so binding
        # here spares each runner 40-60 ms of importing it (the executor benchmark).
        return api.runner_argv(
            executor_data=executor_data, task_id=task_id, instance=instance, hostname=hostname,
            ports=dict(ports), sandbox=sandbox, checkpoint_root=checkpoint_root, prebind=True,
            setuid=setuid, announcer_ensemble=announcer_ensemble,
            announcer_zk_path_prefix=announcer_zk_path_prefix, container=container,
            container_runtime=container_runtime)

    def kill_task(self, task_id: str) -> None:
        # Signal and return: the runner tears the task down and its checkpoint, polled by
        # the backend, reports the end; waiting here would serialize a killall.
        api.kill_task(self._root, task_id, wait=False)


    def container_image(self, container: Mapping[str, Any]) -> str:
        return api.container_image(container)

    def container_removal_argv(self, runtime: str, task_id: str) -> list[str]:
        return api.container_removal_argv(runtime, task_id)


def load_executor(checkpoint_root: Path) -> ExecutorApi:
    return _RealExecutor(checkpoint_root)
