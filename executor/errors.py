"""The executor's errors: one root (under the project's ``AuroraError``), one line each.

A state change that a state machine refuses raises the machines' own ``IllegalTransition``
(``aurora_provider.states``); a checkpoint record that cannot be read or applied for any
other reason raises ``InvalidRecord``.
"""

from __future__ import annotations

from aurora_provider.errors import AuroraError


class ExecutorError(AuroraError):
    """Root of every error the executor raises on purpose; ``str(e)`` is one line."""


class InvalidTask(ExecutorError):
    """The task cannot be run as configured (bad process order, unknown port...)."""


class CheckpointError(ExecutorError):
    """A checkpoint stream cannot be read or written."""


class CorruptCheckpoint(CheckpointError):
    """A complete record of a checkpoint stream fails its checksum or cannot be applied."""


class InvalidRecord(CheckpointError):
    """A record that is malformed or does not follow from the recorded state (a second
    header, a run out of sequence...)."""


class TaskLocked(ExecutorError):
    """Another runner holds the task's lock."""


class OutsideSandbox(ExecutorError):
    """A path that leads outside the sandbox (a symlink out, ``..``) or to no regular file."""
