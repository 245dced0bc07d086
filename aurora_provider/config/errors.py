"""The configuration language's errors: one root, one line each.

Every message names where the problem is (``file:line`` or ``file:line:col`` for Python
errors, or the field path inside a job) and what to do about it, so a CLI can print
``str(error)`` and nothing else.
"""

from __future__ import annotations

from aurora_provider.errors import AuroraError


class ConfigError(AuroraError):
    """Root of every error raised while loading, binding or validating a configuration."""


class ConfigSyntaxError(ConfigError):
    """The file is not valid Python."""


class ConfigExecutionError(ConfigError):
    """The file raised while it was executed (a NameError, a TypeError from a schema...)."""


class IncludeError(ConfigError):
    """An ``include()`` names a file that cannot be read."""


class JobKeyError(ConfigError):
    """A job key is malformed, or names no job (or several) in the file."""


class BindingError(ConfigError):
    """A ``--bind`` is malformed, or variables remain unbound where they may not."""


class ValidationError(ConfigError):
    """A job breaks one of Aurora's rules (required field, process order, resources...)."""


class WireFormatError(ConfigError):
    """A job configuration in wire (JSON) form cannot be read back."""
