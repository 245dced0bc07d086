"""Aurora's rules for a job, checked before it is shown, submitted or run.

``validate_job`` raises ``ValidationError`` on the first rule broken, with one line:
``<source>: job <key>: <field path>: <what is wrong>; <what to do>``. The rules are what
Aurora's client (``client/config.py``, ``client/api/updater_util.py``, ``config/thrift.py``),
Thermos (``ThermosTaskValidator``, the task planner) and scheduler (``ConfigurationManager``)
refused, plus a few stricter ones listed in docs/config.md. Unbound variables are the
loader's check (``binding.check_submittable``); the task plan rules live in ``plan.py``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from croniter import croniter
from pystachio import Empty, MustacheParser, Ref

from aurora_provider.config.binding import announcer_portmap, check_submittable, port_references
from aurora_provider.config.errors import ConfigError, ValidationError
from aurora_provider.config.keys import key_part_problem
from aurora_provider.config.plan import PlanError, check_plan
from aurora_provider.config.schema import (
    Container,
    CountSlaPolicy,
    HealthCheckConfig,
    MesosContext,
    PercentageSlaPolicy,
    VariableBatchUpdateStrategy,
)
from aurora_provider.config.typecheck import first_type_problem
from aurora_provider.config.wire import (
    is_custom_executor,
    job_from_custom_wire,
    job_from_wire,
    job_to_wire,
)

__all__ = ["MAX_CPU", "MAX_INSTANCES", "MAX_MB", "MAX_NUMBER", "validate_job", "validate_wire"]

ENVIRONMENT_RE = re.compile(r"^(prod|devel|test|staging\d*)$")
CRON_COLLISION_POLICIES = ("KILL_EXISTING", "CANCEL_NEW")
MIN_PULSE_INTERVAL_SECS = 60
MIB = 1024 * 1024
# Magnitudes no job means: a bound keeps sums and products finite and storable.
MAX_CPU = 1_000_000.0  # cores per instance
MAX_MB = 1024**3  # 1 PiB per instance, in MB
MAX_INSTANCES = 1_000_000  # the scheduler's own limit (--max-instances) is lower
# Every other number of a job fits a 64-bit integer column, and stays exact in a JSON reader
# that parses numbers as doubles (clients and OpenAPI tools read the bounds so): above 2**53
# neighbouring integers compare equal there, so a bound near 2**63 would admit numbers past
# it.
MAX_NUMBER = 2**53 - 1
# Aurora type-checked a job with a made-up instance before any instance existed.
_PLACEHOLDER_CONTEXT = MesosContext(instance=31337, hostname="")


class _Rules:
    """Raises one ValidationError line naming the file, the job and the field."""

    def __init__(self, job: Any, source: str) -> None:
        # Runtime variables ({{mesos.instance}}...) get placeholders so fields type-check.
        self.job = job.bind(mesos=_PLACEHOLDER_CONTEXT)
        self.source = source
        self.label = "/".join(_text(getattr(job, part)()) for part in
                              ("cluster", "role", "environment", "name"))

    def fail(self, path: str, problem: str) -> ValidationError:
        return ValidationError(f"{self.source}: job {self.label}: {path}: {problem}")


def _text(value: Any) -> str:
    return "?" if value is Empty else str(value.get())


def _get(value: Any) -> Any:
    return None if value is Empty else value.get()


def validate_job(job: Any, *, source: str) -> None:
    """Check ``job`` (a bound ``Job``) against Aurora's rules; raise ``ValidationError``.

    :param job: the job as picked from its file, with ``--bind`` bindings applied.
    :param source: where the job comes from (a file path), named in the message.
    """
    try:
        rules = _Rules(job, source)
        for check in _CHECKS:
            check(rules)
    except MustacheParser.Uninterpolatable as e:
        # e.g. Profile(version='{{version}}'): inside a struct its own fields are variables.
        raise ValidationError(f"{source}: a template variable cannot be resolved ({e}); a "
                              "struct field whose value names the field itself refers to "
                              "itself: rename the variable") from e


def _check_numbers(rules: _Rules) -> None:
    """No NaN, no infinity, nothing beyond 64 bits, anywhere (a wire form may hold them)."""
    found = _first_bad_number(json.loads(rules.job.json_dumps()), "")
    if found is not None:
        raise rules.fail(*found)


def _first_bad_number(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return path, f"{value} is not a finite number"
        return (path, f"{value:g} is out of range (at most {MAX_NUMBER})") \
            if abs(value) > MAX_NUMBER else None
    items: Any = ()
    if isinstance(value, Mapping):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    for sub_path, sub in items:
        found = _first_bad_number(sub, sub_path)
        if found is not None:
            return found
    return None


def _check_required(rules: _Rules) -> None:
    job = rules.job
    for field in ("cluster", "role", "environment", "task"):
        if getattr(job, f"has_{field}")() is False:
            raise rules.fail(field, f"is required; set {field}= in the Job")
    # Before any accessor: accessors interpolate, which raises on a mistyped field.
    problem = first_type_problem(job)
    if problem is not None:
        path, message = problem
        raise rules.fail(path, message)
    task = job.task()
    if task.processes() is Empty or not task.processes().get():
        raise rules.fail("task.processes", "a task needs at least one Process")
    if task.resources() is Empty:
        raise rules.fail("task.resources", "is required; set resources=Resources(cpu=, ram=, "
                         "disk=) in the Task")


def _check_key(rules: _Rules) -> None:
    job = rules.job
    for field in ("cluster", "role", "environment", "name"):
        value = str(getattr(job, field)().get())
        if "{{" in value:
            raise rules.fail(field, f"{value!r} uses a variable that is not bound; bind it "
                             "with --bind NAME=VALUE or in the file")
        problem = key_part_problem(value)
        if problem is not None:
            raise rules.fail(field, f"{value!r} {problem}")
    environment = str(job.environment().get())
    if not ENVIRONMENT_RE.match(environment):
        raise rules.fail("environment", f"{environment!r} is not allowed; use prod, devel, "
                         "test or staging<N>")
    if job.instances().get() <= 0:
        raise rules.fail("instances", f"{job.instances().get()} must be at least 1")
    if job.instances().get() > MAX_INSTANCES:
        raise rules.fail("instances", f"{job.instances().get()} is more than {MAX_INSTANCES}")


def _check_schedule(rules: _Rules) -> None:
    job = rules.job
    schedule = _get(job.cron_schedule())
    if schedule is not None and job.service().get():
        raise rules.fail("cron_schedule", "a service cannot run on a cron schedule; drop "
                         "cron_schedule or use Job instead of Service")
    if schedule is not None and not _templated(schedule) and (
            len(schedule.split()) != 5 or not croniter.is_valid(schedule)):
        raise rules.fail("cron_schedule", f"{schedule!r} is not a cron expression; use five "
                         "fields: minute hour day-of-month month day-of-week")
    policy = str(job.cron_collision_policy().get())
    if policy not in CRON_COLLISION_POLICIES and not _templated(policy):
        raise rules.fail("cron_collision_policy", f"{policy!r} is not a policy; use "
                         f"{' or '.join(CRON_COLLISION_POLICIES)}")
    if job.max_task_failures().get() < -1 or job.max_task_failures().get() == 0:
        raise rules.fail("max_task_failures", f"{job.max_task_failures().get()} is not allowed;"
                         " use a count of at least 1, or -1 for unlimited")


def _check_resources(rules: _Rules) -> None:
    resources = rules.job.task().resources()
    cpu = resources.cpu().get()
    if not math.isfinite(cpu) or cpu <= 0:  # NaN compares as neither
        raise rules.fail("task.resources.cpu", f"{cpu} must be greater than 0")
    if cpu > MAX_CPU:
        raise rules.fail("task.resources.cpu", f"{cpu:g} is more than {MAX_CPU:g} cores")
    for field in ("ram", "disk"):
        amount = getattr(resources, field)().get()
        if amount < MIB:
            raise rules.fail(f"task.resources.{field}", f"{amount} bytes must be at least 1 MB;"
                             f" write e.g. {field}=512*MB")
        if amount > MAX_MB * MIB:
            raise rules.fail(f"task.resources.{field}", f"{amount} bytes is more than "
                             f"{MAX_MB} MB")
    if resources.gpu().get() < 0:
        raise rules.fail("task.resources.gpu", f"{resources.gpu().get()} must not be negative")


def _check_task(rules: _Rules) -> None:
    task = rules.job.task()
    for field in ("max_failures", "max_concurrency", "finalization_wait"):
        if getattr(task, field)().get() < 0:
            raise rules.fail(f"task.{field}", f"{getattr(task, field)().get()} must not be "
                             "negative")
    for index, process in enumerate(task.processes()):
        for field in ("max_failures", "min_duration"):
            if getattr(process, field)().get() < 0:
                raise rules.fail(f"task.processes[{index}].{field}",
                                 f"{getattr(process, field)().get()} must not be negative")
    try:
        check_plan(task)
    except PlanError as e:
        raise rules.fail(e.path, e.problem) from e


def _check_update_config(rules: _Rules) -> None:
    job = rules.job
    update = job.update_config()
    instances = job.instances().get()
    for field in ("batch_size",):
        if getattr(update, field)().get() < 1:
            raise rules.fail(f"update_config.{field}", f"{getattr(update, field)().get()} must"
                             " be at least 1")
    for field in ("watch_secs", "max_per_shard_failures", "max_total_failures"):
        if getattr(update, field)().get() < 0:
            raise rules.fail(f"update_config.{field}", f"{getattr(update, field)().get()} must"
                             " not be negative")
    max_total = update.max_total_failures().get()
    if max_total >= instances:
        raise rules.fail("update_config.max_total_failures", f"{max_total} must be less than "
                         f"the job's {instances} instance(s); use at most {instances - 1}")
    if _is_dedicated(job):
        threshold = math.floor(instances * 0.02)
        if max_total < threshold:
            raise rules.fail("update_config.max_total_failures", f"{max_total} is too low for a"
                             f" dedicated job of {instances} instances; use at least {threshold}"
                             " (2%)")
    pulse = _get(update.pulse_interval_secs())
    if pulse is not None and pulse < MIN_PULSE_INTERVAL_SECS:
        raise rules.fail("update_config.pulse_interval_secs", f"{pulse} must be at least "
                         f"{MIN_PULSE_INTERVAL_SECS} seconds")
    strategy = update.update_strategy()
    if strategy is Empty:
        return
    if update.wait_for_batch_completion().get():
        raise rules.fail("update_config.wait_for_batch_completion", "cannot be combined with "
                         "update_strategy; use BatchUpdateStrategy instead")
    if update.batch_size().get() > 1:
        raise rules.fail("update_config.batch_size", "cannot be combined with update_strategy; "
                         "set the batch size inside the strategy instead")
    chosen = strategy.unwrap()
    if isinstance(chosen, VariableBatchUpdateStrategy):
        sizes = chosen.batch_sizes().get()
        if not sizes:
            raise rules.fail("update_config.update_strategy.batch_sizes", "is empty; give at "
                             "least one batch size")
        for index, size in enumerate(sizes):
            if size < 1:
                raise rules.fail(f"update_config.update_strategy.batch_sizes[{index}]",
                                 f"{size} must be at least 1")
    elif chosen.batch_size().get() < 1:
        raise rules.fail("update_config.update_strategy.batch_size",
                         f"{chosen.batch_size().get()} must be at least 1")


def _check_health(rules: _Rules) -> None:
    job = rules.job
    health = job.health_check_config()
    for field in ("initial_interval_secs", "interval_secs", "max_consecutive_failures",
                  "min_consecutive_successes", "timeout_secs"):
        if getattr(health, field)().get() < 0:
            raise rules.fail(f"health_check_config.{field}", f"{getattr(health, field)().get()}"
                             " must not be negative")
    checker = health.health_checker()
    if checker.has_http() and checker.has_shell():
        raise rules.fail("health_check_config.health_checker", "sets both http and shell; "
                         "choose one")
    ports = task_port_names(job)
    asked_for_http = checker.has_http() and health != HealthCheckConfig()
    if asked_for_http and "health" not in ports:
        raise rules.fail("health_check_config", "HTTP health checks need a port named "
                         "'health'; listen on {{thermos.ports[health]}} in a process, or use "
                         "ShellHealthChecker")
    lifecycle = job.lifecycle()
    if lifecycle is not Empty and lifecycle.has_http():
        port = str(lifecycle.http().port().get())
        if port != "health" and port not in ports and not _templated(port):
            raise rules.fail("lifecycle.http.port", f"{port!r} is not a port of this task; "
                             f"listen on {{{{thermos.ports[{port}]}}}} in a process")


def _check_announcer(rules: _Rules) -> None:
    job = rules.job
    if not job.has_announce():
        return
    for name, target in job.announce().portmap().get().items():
        try:
            int(target)
        except ValueError:
            continue
        if not _is_dedicated(job):
            raise rules.fail(f"announce.portmap[{name}]", f"static port {target} needs a "
                             "dedicated job; add constraints={'dedicated': '<role>/<group>'} "
                             "or use a named port")


def _check_constraints(rules: _Rules) -> None:
    job = rules.job
    if not job.has_constraints():
        return
    role = str(job.role().get())
    for name, value in job.constraints().get().items():
        path = f"constraints[{name}]"
        if _templated(value):
            continue
        if value.startswith("limit:"):
            limit = value[len("limit:"):]
            if not limit.isdigit() or int(limit) < 1:
                raise rules.fail(path, f"{value!r} needs a positive whole limit, e.g. 'limit:1'")
            if name == "dedicated":
                raise rules.fail(path, "a dedicated constraint must be a value, e.g. "
                                 f"'{role}/<group>'")
            continue
        values = value[1:] if value.startswith("!") else value
        if not all(values.split(",")):
            raise rules.fail(path, f"{value!r} has an empty value; write 'a,b' or '!a'")
        if name == "dedicated":
            if value.startswith("!") or "," in values:
                raise rules.fail(path, "a dedicated constraint takes exactly one value, "
                                 f"'{role}/<group>'")
            owner = values.split("/")[0]
            if owner not in (role, "*"):
                raise rules.fail(path, f"hosts dedicated to {owner!r} are not for role {role!r};"
                                 f" use '{role}/<group>' or '*/<group>'")


def _check_sla_leaves_room(rules: _Rules, policy: Any) -> None:
    """As Aurora's scheduler: a count or percentage policy must let at least one instance
    be killed, or no update or drain could ever proceed."""
    instances = rules.job.instances().get()
    if isinstance(policy, CountSlaPolicy) and instances - policy.count().get() < 1:
        raise rules.fail("sla_policy.count", f"{policy.count().get()} would let no instance be "
                         f"killed; it must be less than the job's {instances} instances")
    if isinstance(policy, PercentageSlaPolicy):
        percentage = policy.percentage().get()
        if instances - instances * percentage / 100 < 1:
            most = (instances - 1) / instances * 100
            raise rules.fail("sla_policy.percentage", f"{percentage:g} would let no instance "
                             f"of the job's {instances} be killed; it must be at most {most:g}")


def _check_policies(rules: _Rules) -> None:
    job = rules.job
    if job.has_partition_policy() and job.partition_policy().delay_secs().get() < 0:
        raise rules.fail("partition_policy.delay_secs", "must not be negative")
    if job.has_sla_policy():
        policy = job.sla_policy().unwrap()
        if isinstance(policy, CountSlaPolicy) and policy.count().get() < 1:
            raise rules.fail("sla_policy.count", "must be at least 1")
        if isinstance(policy, PercentageSlaPolicy) and not 0 < policy.percentage().get() <= 100:
            raise rules.fail("sla_policy.percentage", "must be above 0 and at most 100")
        if isinstance(policy, CountSlaPolicy | PercentageSlaPolicy) and (
                policy.duration_secs().get() < 1):
            raise rules.fail("sla_policy.duration_secs", "must be at least 1")
        _check_sla_leaves_room(rules, policy)
    container = job.container()
    if container is not Empty:
        chosen = container.unwrap()
        if isinstance(chosen, Container) and not chosen.has_docker():
            raise rules.fail("container", "Container() sets no container; use "
                             "container=Docker(image=...) or container=Mesos(image=...)")


_CHECKS = (
    _check_required,
    _check_numbers,
    _check_key,
    _check_schedule,
    _check_resources,
    _check_task,
    _check_update_config,
    _check_health,
    _check_announcer,
    _check_constraints,
    _check_policies,
)


def _templated(text: str) -> bool:
    """A value still holding a variable: the unbound-variable check names it instead."""
    return "{{" in text


def _is_dedicated(job: Any) -> bool:
    return bool(job.has_constraints() and "dedicated" in job.constraints().get())


def task_port_names(job: Any) -> set[str]:
    """Port names the job refers to as ``{{thermos.ports[NAME]}}``, plus announcer names."""
    return port_references(job) | set(announcer_portmap(job))


def validate_wire(wire: Mapping[str, Any], *, source: str = "job") -> None:
    """Check a job in wire form (``job_to_wire``) as the API takes it; raise ``ValidationError``.

    The job its executor data holds must pass every rule a ``.aurora`` job passes (the same
    checks, the same lines), and what the scheduler reads from the form (key, instances,
    resources, ports, constraints, update settings...) must say what that job says, so the
    scheduler and the executor never run two different jobs.

    A custom executor's data is its own and opaque: the job's rules then apply to the form's
    other fields, rebuilt as a job (``job_from_custom_wire``), named by their wire paths.

    :param wire: the form as JSON types, holding only the fields its sender set.
    :param source: the form's place in the request, named in the message (``job``).
    """
    custom = is_custom_executor(wire)
    data = source if custom else f"{source}.task.executor_config.data"
    try:
        job = job_from_custom_wire(wire) if custom else job_from_wire(wire)
        validate_job(job, source=data)
        check_submittable(job, source=data)
        derived = job_to_wire(job)
    except ValidationError:
        raise
    except ConfigError as e:
        raise ValidationError(f"{data}: {e}") from e
    except (RecursionError, ValueError, TypeError, AttributeError, Ref.InvalidRefError,
            MustacheParser.Uninterpolatable) as e:
        raise ValidationError(f"{data}: not a job ({type(e).__name__}: {e})") from e
    found = _first_difference(wire, derived, source)
    if found is not None:
        path, sent, meant = found
        raise ValidationError(f"{path}: {sent!r} differs from the job in {data} ({meant!r}); "
                              "send the form job_to_wire() gives")
    if custom and not isinstance(wire["task"]["executor_config"].get("data"), str):
        raise ValidationError(f"{source}.task.executor_config.data: must be a string (the "
                              "custom executor's data)")


def _first_difference(sent: Any, meant: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first value ``sent`` sets that ``meant`` has otherwise (a field ``meant`` lacks is
    None there; the executor data is the job itself)."""
    if isinstance(sent, Mapping) and isinstance(meant, Mapping):
        for field, value in sent.items():
            if f"{path}.{field}".endswith("task.executor_config.data"):
                continue
            found = _first_difference(value, meant.get(field), f"{path}.{field}")
            if found is not None:
                return found
        return None
    if isinstance(sent, list) and isinstance(meant, list) and len(sent) == len(meant):
        for index, (a, b) in enumerate(zip(sent, meant, strict=True)):
            found = _first_difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if isinstance(sent, int | float) and isinstance(meant, int | float) and \
            not isinstance(sent, bool) and not isinstance(meant, bool):
        return None if math.isclose(sent, meant, rel_tol=1e-9) else (path, sent, meant)
    return None if sent == meant else (path, sent, meant)
