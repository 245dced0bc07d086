"""The executor's errors: one root, one line each."""

from __future__ import annotations


class ExecutorError(Exception):
    """Root of every error the executor raises on purpose; ``str(e)`` is one line."""


class InvalidTask(ExecutorError):
    """The task cannot be run as configured (bad process order, unknown port...)."""


class StateTransitionError(ExecutorError):
    """A state machine was asked for a transition its table does not allow."""


class CheckpointError(ExecutorError):
    """A checkpoint stream cannot be read or written."""


class CorruptCheckpoint(CheckpointError):
    """A complete record of a checkpoint stream fails its checksum or cannot be applied."""


class TaskLocked(ExecutorError):
    """Another runner holds the task's lock."""
