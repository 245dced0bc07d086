"""Compatibility only, until the scheduler's local backend imports ``executor.api``."""

from __future__ import annotations

from .api import TaskPaths

__all__ = ["TaskPaths"]
