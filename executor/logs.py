"""Compatibility only, until the scheduler's local backend imports ``executor.api``."""

from __future__ import annotations

from .api import run_log_dir

__all__ = ["run_log_dir"]
