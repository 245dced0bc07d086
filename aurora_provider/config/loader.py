"""Loading ``.aurora`` files: execute them as Aurora did, then pick a job by its key.

A ``.aurora`` file is Python run in a fresh namespace that already holds pystachio's names and
the DSL (schema and helpers). ``include('path')`` runs another file into the same namespace,
resolved relative to the file that includes it. The file's ``jobs = [...]`` lists its jobs.

Every failure becomes a one-line :class:`ConfigError` naming the file and line.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystachio
from pystachio import Empty, Ref

from . import py2, schema
from .binding import STANDARD_BINDINGS, check_submittable, parse_bindings
from .binding_helpers import BindingHelpers, apply_binding_helpers
from .errors import (
    ConfigError,
    ConfigExecutionError,
    ConfigSyntaxError,
    IncludeError,
    JobKeyError,
)
from .keys import JobKey
from .wire import job_from_dict

Job = schema.Job
Bindings = Mapping[str, str] | Sequence[str] | None


def _dsl_names() -> dict[str, Any]:
    """The names every ``.aurora`` file starts with: pystachio's, the schema's, the helpers'."""
    names: dict[str, Any] = {name: getattr(pystachio, name) for name in _public(pystachio)}
    names.update({name: getattr(schema, name) for name in _public(schema)})
    try:
        from . import helpers
    except ImportError:  # helpers are optional while the language is being built
        return names
    names.update({name: getattr(helpers, name) for name in _public(helpers)})
    return names


def _public(module: Any) -> Iterable[str]:
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return list(exported)
    return [n for n in vars(module) if not n.startswith("_") and n[0].isupper()]


class _Executor:
    """Runs one configuration file (and what it includes) into one namespace."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = _dsl_names()
        self.namespace["include"] = self._include
        self.files: list[Path] = []
        self._stack: list[Path] = []  # files being executed, to refuse include cycles

    def run(self, path: Path, source: str | None = None) -> None:
        if source is None:
            try:
                source = path.read_text()
            except OSError as e:
                raise ConfigError(f"{path}: cannot read the configuration: {e.strerror}") from e
        self.files.append(path)
        self._stack.append(path.resolve())
        try:
            self._execute(path, source)
        finally:
            self._stack.pop()

    def _execute(self, path: Path, source: str) -> None:
        # Lines are kept by the translation, so errors below still name the user's file:line.
        translated = py2.python3_source(source, str(path))
        if translated is not None:
            print(py2.note(str(path)), file=sys.stderr)
            source = translated
        code = py2.compile_config(source, str(path))
        try:
            exec(code, self.namespace)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigExecutionError(f"{self._where(e)}: {_describe(e)}") from e

    def _include(self, relative: str) -> None:
        caller = sys._getframe(1)
        includer = Path(caller.f_code.co_filename)
        # Shown as the user wrote it (relative to the includer), not as an absolute path.
        target = Path(os.path.normpath(includer.parent / relative))
        where = f"{includer}:{caller.f_lineno}: include({relative!r})"
        if not target.is_file():
            raise IncludeError(f"{where}: no such file {target}")
        if target.resolve() in self._stack:
            chain = " -> ".join(str(p) for p in [*self._stack, target.resolve()])
            raise IncludeError(f"{where}: include cycle: {chain}")
        self.run(target)

    def _where(self, error: BaseException) -> str:
        """``file:line`` of the innermost frame that belongs to a configuration file."""
        known = {str(f) for f in self.files}
        where = str(self.files[0]) if self.files else "<config>"
        for frame in traceback.extract_tb(error.__traceback__):
            if frame.filename in known:
                where = f"{frame.filename}:{frame.lineno}"
        return where


def _describe(error: BaseException) -> str:
    message = str(error)
    if isinstance(error, AttributeError) and message.startswith("Unknown schema attribute"):
        field_name = message.rsplit(" ", 1)[-1]
        return f"unknown field {field_name!r}: check its spelling against docs/config.md"
    if isinstance(error, NameError):
        return f"{message}: define it, or include() the file that does"
    return f"{type(error).__name__}: {message}"


@dataclass
class AuroraConfig:
    """The jobs of one configuration, with the bindings given on the command line and the
    binding helpers (``binding_helpers``) that bind what remains when a job is picked."""

    source: str
    jobs: list[Any]
    bindings: list[dict[Any, str]] = field(default_factory=list)
    helpers: BindingHelpers = field(default_factory=dict)

    def bound_jobs(self) -> list[Any]:
        return [_bind_standard(job, self.bindings) for job in self.jobs]

    def job_keys(self) -> list[JobKey]:
        return [JobKey(*_key_parts(job, self.source)) for job in self.bound_jobs()]

    def pick(self, key: JobKey | str, *, validate: bool = True) -> Any:
        """The job named by ``key``, bound and (unless asked not to) validated."""
        wanted = JobKey.parse(key) if isinstance(key, str) else key
        jobs = self.bound_jobs()
        matches = [job for job in jobs if _key_parts(job, self.source) == _astuple(wanted)]
        if not matches:
            known = ", ".join(str(JobKey(*_key_parts(j, self.source))) for j in jobs) or "none"
            raise JobKeyError(f"{self.source}: no job {wanted} (the jobs defined are: {known})")
        if len(matches) > 1:
            raise JobKeyError(
                f"{self.source}: {len(matches)} jobs match {wanted}; give each job a distinct "
                "name, role, environment or cluster"
            )
        job = matches[0]
        if validate:
            from .validation import validate_job

            # First: a malformed job is named by the validation's line, not by a helper's
            # attempt to read its refs.
            validate_job(job, source=self.source)
        # Only the picked job: the helpers may ask a remote service, for this job's cluster.
        job = apply_binding_helpers(job, self.helpers, cluster=wanted.cluster,
                                    source=self.source)
        if validate:
            check_submittable(job, source=self.source)
        return job


def _astuple(key: JobKey) -> tuple[str, str, str, str]:
    return (key.cluster, key.role, key.environment, key.name)


def _key_parts(job: Any, source: str) -> tuple[str, str, str, str]:
    def part(value: Any) -> str:
        return "{MISSING}" if value is Empty else str(value)

    try:
        return (part(job.cluster()), part(job.role()), part(job.environment()), part(job.name()))
    except pystachio.MustacheParser.Uninterpolatable as e:
        # e.g. name='{{name}}': inside a struct, its own fields are variables.
        raise ConfigError(f"{source}: a job key refers to itself ({e}); rename the variable") from e


def _bind_standard(job: Any, bindings: list[dict[Any, str]]) -> Any:
    bound = job.bind(*bindings) if bindings else job
    return bound.bind(STANDARD_BINDINGS)


def _jobs_of(namespace: Mapping[str, Any], source: str) -> list[Any]:
    jobs = namespace.get("jobs")
    if jobs is None:
        raise ConfigError(f"{source}: defines no jobs: assign a list of Job(...) to 'jobs'")
    if not isinstance(jobs, list | tuple):
        raise ConfigError(f"{source}: 'jobs' must be a list of Job(...), not {type(jobs).__name__}")
    for index, job in enumerate(jobs):
        if not isinstance(job, Job):
            raise ConfigError(
                f"{source}: jobs[{index}] is a {type(job).__name__}, not a Job (or Service)"
            )
    return list(jobs)


def load(path: str | Path, *, bindings: Bindings = None,
         helpers: BindingHelpers | None = None) -> AuroraConfig:
    """Execute a ``.aurora`` file and return its jobs."""
    given = Path(path)
    if not given.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    executor = _Executor()
    executor.run(given)
    jobs = _jobs_of(executor.namespace, str(path))
    return AuroraConfig(str(path), jobs, parse_bindings(bindings), dict(helpers or {}))


def load_source(source: str, *, name: str, bindings: Bindings = None,
                helpers: BindingHelpers | None = None) -> AuroraConfig:
    """Execute ``.aurora`` text held in memory; ``name`` is the file its errors name, and
    its ``include()`` paths are relative to ``name``'s folder."""
    executor = _Executor()
    executor.run(Path(name), source)
    jobs = _jobs_of(executor.namespace, name)
    return AuroraConfig(name, jobs, parse_bindings(bindings), dict(helpers or {}))


def load_json(source: str | Path, *, bindings: Bindings = None,
              helpers: BindingHelpers | None = None) -> AuroraConfig:
    """Read jobs in JSON (``{"jobs": [...]}`` or one job), as Aurora's ``--read-json``."""
    text, name = _json_text(source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigSyntaxError(f"{name}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from e
    entries = data.get("jobs") if isinstance(data, dict) and "jobs" in data else [data]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{name}: expected a job object or {{\"jobs\": [job, ...]}}")
    jobs = []
    for index, entry in enumerate(entries):
        try:
            jobs.append(job_from_dict(entry))
        except Exception as e:
            raise ConfigExecutionError(f"{name}: jobs[{index}]: {_describe(e)}") from e
    return AuroraConfig(name, jobs, parse_bindings(bindings), dict(helpers or {}))


def _json_text(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path) or not source.lstrip().startswith(("{", "[")):
        path = Path(source)
        try:
            return path.read_text(), str(source)
        except OSError as e:
            raise ConfigError(f"{source}: cannot read the JSON configuration: {e.strerror}") from e
    return source, "<json>"


__all__ = ["AuroraConfig", "Ref", "load", "load_json", "load_source"]
