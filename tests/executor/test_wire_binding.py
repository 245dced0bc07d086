"""The JSON binder (``executor.core.wire_binding``) agrees with the configuration language.

For every example job and a set of jobs built to exercise ports, health checks, lifecycle,
announcement, process kinds, constraints and templates, binding the job's executor data
from its JSON gives the same ``TaskSpec`` as binding it with pystachio, and the same
refusals; the binder's copy of the schema is the schema; and a runner started from executor
data never imports pystachio.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.config import load, schema
from aurora_provider.config.schema import (
    Announcer,
    Constraint,
    HealthCheckConfig,
    HealthCheckerConfig,
    HttpHealthChecker,
    HttpLifecycleConfig,
    Job,
    LifecycleConfig,
    Logger,
    Process,
    Resources,
    RotatePolicy,
    Service,
    ShellHealthChecker,
    Task,
)
from aurora_provider.config.wire import job_to_wire
from executor.core.wire_binding import NeedsConfigLanguage, spec_from_wire
from executor.core.wire_schema import ABSENT, STRUCTS
from executor.errors import ExecutorError, InvalidTask
from executor.runner_main import spec_from_executor_data, spec_with_config_language

pytestmark = pytest.mark.process  # one test starts a runner; the rest is pure code

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_BINDINGS = ["devel_version=2.4.0-dev", "version=1"]
RES = Resources(cpu=0.1, ram=1 << 20, disk=1 << 20)


def example_jobs() -> list[tuple[str, Any]]:
    jobs = []
    for path in sorted((REPO / "dags_examples").glob("*.aurora")):
        config = load(path, bindings=EXAMPLE_BINDINGS)
        jobs += [(f"{path.name}:{key}", config.pick(key)) for key in config.job_keys()]
    return jobs


def built_jobs() -> list[tuple[str, Any]]:
    web = Process(name="web", cmdline="serve --port {{thermos.ports[http]}} --shard "
                  "{{mesos.instance}} --host {{mesos.hostname}} --id {{thermos.task_id}} "
                  "--user {{thermos.user}} --literal {{&thermos.ports[http]}}",
                  logger=Logger(mode="rotate", rotate=RotatePolicy(log_size=1000, backups=3)))
    setup = Process(name="setup", cmdline="mkdir -p data", max_failures=3, min_duration=0)
    tail = Process(name="tail", cmdline="tail -F log", ephemeral=True, daemon=True)
    final = Process(name="final", cmdline="echo bye {{mesos.instance}}", final=True)
    task = Task(processes=[setup, web, tail, final], resources=RES, max_concurrency=2,
                constraints=[Constraint(order=["setup", "web"])], finalization_wait=12)

    def job(**kw: Any) -> Any:
        kw.setdefault("task", task)
        return Job(cluster="c", role="r", environment="devel", name="web", **kw)

    shell = HealthCheckerConfig(shell=ShellHealthChecker(shell_command="check {{mesos.instance}}"))
    http = HealthCheckerConfig(http=HttpHealthChecker(endpoint="/ok", expected_response_code=200))
    user_task = task(processes=[Process(name="p", cmdline="echo {{thermos.ports[alias]}}")])
    return [
        ("plain", job()),
        ("service", Service(cluster="c", role="r", environment="prod", task=task)),
        ("http health and lifecycle", job(
            health_check_config=HealthCheckConfig(health_checker=http, interval_secs=2,
                                                  max_consecutive_failures=3),
            lifecycle=LifecycleConfig(http=HttpLifecycleConfig(graceful_shutdown_wait_secs=9)))),
        ("shell health", job(health_check_config=HealthCheckConfig(health_checker=shell))),
        ("no lifecycle", job(lifecycle=LifecycleConfig())),
        ("lifecycle on another port", job(lifecycle=LifecycleConfig(
            http=HttpLifecycleConfig(port="admin")))),
        ("announce", job(announce=Announcer())),
        ("announce with aliases", job(announce=Announcer(
            primary_port="http", portmap={"aurora": "http", "alias": "http", "static": "8080"},
            zk_path="/my/set"), task=user_task)),
        ("a port through an alias", job(announce=Announcer(portmap={"alias": "http"}),
                                        task=user_task)),
        ("instance in an integer field", job(task=task(max_failures="{{mesos.instance}}"))),
    ]


def ports_for(job: Any) -> dict[str, int]:
    needed = job_to_wire(job)["task"]["requested_ports"]
    return {name: 31000 + i for i, name in enumerate([*needed, "health", "admin"])}


def executor_data(job: Any) -> str:
    return str(job_to_wire(job)["task"]["executor_config"]["data"])


def outcome(bind: Any) -> tuple[str, str]:
    """A spec as its JSON, or a refusal as its kind and message."""
    try:
        return "spec", bind().to_json()
    except InvalidTask as e:
        return "InvalidTask", str(e)
    except ExecutorError as e:
        return "ExecutorError", str(e)


def both(tmp_path: Path, data: str, ports: dict[str, int], instance: int = 0,
         hostname: str | None = "agent-1") -> tuple[tuple[str, str], tuple[str, str]]:  # fmt: skip
    """What the language's path and the runner's path (the JSON binder) make of ``data``."""
    path = tmp_path / "job.json"
    path.write_text(data)
    args = ("me-devel-web-0-1234", instance, ports, hostname)
    language = outcome(lambda: spec_with_config_language(path, data, *args))
    wire = outcome(lambda: spec_from_executor_data(path, *args))
    return language, wire


JOBS = example_jobs() + built_jobs()


@pytest.mark.parametrize(("name", "job"), JOBS, ids=[n for n, _ in JOBS])
@pytest.mark.parametrize("instance", [0, 3])
def test_the_json_binder_builds_the_languages_spec(tmp_path: Path, name: str, job: Any,
                                                   instance: int) -> None:  # fmt: skip
    data = executor_data(job)
    language, wire = both(tmp_path, data, ports_for(job), instance)
    assert language[0] == "spec", language
    assert wire == language
    # ... by itself, without the language to fall back on.
    ports = ports_for(job)
    spec = spec_from_wire(data, task_id="me-devel-web-0-1234", instance=instance, ports=ports,
                          hostname="agent-1")  # fmt: skip
    assert spec.to_json() == language[1]


MINIMAL: dict[str, Any] = {
    "cluster": "c", "role": "r", "environment": "e",
    "task": {"processes": [{"name": "p", "cmdline": "echo {{mesos.instance}} {{thermos.user}}"}]},
}  # fmt: skip


@pytest.mark.parametrize("extra", [
    {},
    {"announce": {}},
    {"announce": {"primary_port": "health"}},
    {"health_check_config": {"health_checker": {}}},
    {"health_check_config": {"interval_secs": 3, "timeout_secs": "2"}},
    {"lifecycle": {}},
    {"lifecycle": {"http": {"graceful_shutdown_wait_secs": 1}}},
    {"name": "custom", "instances": 2},
], ids=lambda extra: json.dumps(extra))  # fmt: skip
def test_defaults_are_the_schemas_when_the_json_gives_only_some_fields(
        tmp_path: Path, extra: dict[str, Any]) -> None:  # fmt: skip
    data = json.dumps({**MINIMAL, **extra})
    language, wire = both(tmp_path, data, {"http": 8000, "health": 8001})
    assert language[0] == "spec", language
    assert wire == language


def test_without_a_hostname_both_take_this_machines(tmp_path: Path) -> None:
    data = json.dumps({**MINIMAL, "task": {"processes": [
        {"name": "p", "cmdline": "echo {{mesos.hostname}}"}]}})
    language, wire = both(tmp_path, data, {}, hostname=None)
    assert language[0] == "spec" and wire == language


REFUSED = [
    ("a port not assigned", {"task": {"processes": [
        {"name": "p", "cmdline": "serve {{thermos.ports[http]}} {{thermos.ports[admin]}}"}]}}),
    ("the primary port not assigned", {"announce": {"primary_port": "web"}}),
    ("an alias cycle", {"announce": {"portmap": {"a": "b", "b": "a"}}}),
    ("an unknown attribute", {"colour": "blue"}),
    ("an unknown nested attribute", {"task": {"processes": [{"name": "p", "cmdline": "x",
                                                            "colour": "blue"}]}}),
    ("a bad enum", {"task": {"processes": [{"name": "p", "cmdline": "x",
                                            "logger": {"destination": "printer"}}]}}),
    ("a struct that is not an object", {"health_check_config": 5}),
    ("a variable that is never bound", {"task": {"processes": [
        {"name": "p", "cmdline": "echo {{release}}"}]}}),
    ("an unknown mesos variable", {"task": {"processes": [
        {"name": "p", "cmdline": "echo {{mesos.role}}"}]}}),
]


@pytest.mark.parametrize(("name", "change"), REFUSED, ids=[n for n, _ in REFUSED])
def test_the_same_jobs_are_refused(tmp_path: Path, name: str, change: dict[str, Any]) -> None:
    language, wire = both(tmp_path, json.dumps({**MINIMAL, **change}), {"admin": 9000})
    assert language[0] != "spec", language
    if language[0] == "InvalidTask":  # a binding error: the very same message
        assert wire == language
    else:  # data that is not a job: both say so, each in its own words
        assert wire[0] == "InvalidTask" and ExecutorError.__name__ == language[0]
        prefix = f"{tmp_path / 'job.json'}: executor data is not a job: "
        assert wire[1].startswith(prefix) and language[1].startswith(prefix)


def test_data_that_is_not_json_is_refused(tmp_path: Path) -> None:
    language, wire = both(tmp_path, "{nope", {})
    assert language[0] == "ExecutorError" and wire[0] == "InvalidTask"
    assert "executor data is not a job" in language[1] and "executor data is not a job" in wire[1]


def test_references_only_the_language_can_resolve_go_to_it(tmp_path: Path) -> None:
    # Hand-written JSON may refer to the job's own fields: pystachio's scoping decides.
    data = json.dumps({**MINIMAL, "task": {"processes": [
        {"name": "p", "cmdline": "echo {{role}} {{environment}} {{mesos.instance}}"}]}})
    with pytest.raises(NeedsConfigLanguage, match="role"):
        spec_from_wire(data, task_id="t", instance=0, ports={}, hostname="h")
    language, wire = both(tmp_path, data, {})
    assert language[0] == "spec" and wire == language
    assert "echo r e 0" in wire[1]


@pytest.mark.parametrize(("change", "message"), [
    ({"task": {"name": "t", "processes": [{"cmdline": "x"}]}}, r"processes\[0\]\.name is required"),
    ({"task": {"processes": [{"name": "p", "cmdline": "x", "max_failures": "many"}]}},
     "max_failures: 'many' is not a int"),
    ({"task": {"processes": [{"name": "p", "cmdline": "{{ spaced }}"}]}},
     "is not a valid template reference"),
])  # fmt: skip
def test_what_the_language_crashes_on_is_one_clear_refusal(change: dict[str, Any],
                                                           message: str) -> None:  # fmt: skip
    with pytest.raises(InvalidTask, match=message):
        spec_from_wire(json.dumps({**MINIMAL, **change}), task_id="t", instance=0, ports={},
                       hostname="h")  # fmt: skip


# ------------------------------------------------------------------ the schema's copy
def kind_of(klazz: Any) -> Any:
    from pystachio.basic import Boolean, EnumContainer, Float, Integer, String
    from pystachio.choice import ChoiceContainer
    from pystachio.composite import Structural
    from pystachio.container import ListContainer, MapContainer

    if issubclass(klazz, EnumContainer):
        return ("enum", tuple(klazz.VALUES))
    if issubclass(klazz, Structural):
        return ("struct", klazz.__name__)
    if issubclass(klazz, ListContainer):
        return ("list", kind_of(klazz.TYPE))
    if issubclass(klazz, MapContainer):
        assert klazz.KEYTYPE is String
        return ("map", kind_of(klazz.VALUETYPE))
    if issubclass(klazz, ChoiceContainer):
        return "any"
    return {String: "str", Integer: "int", Float: "float", Boolean: "bool"}[klazz]


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def structs_in(kind: Any) -> set[str]:
    if isinstance(kind, tuple) and kind[0] == "struct":
        return {kind[1]}
    if isinstance(kind, tuple) and kind[0] in ("list", "map"):
        return structs_in(kind[1])
    return set()


def test_the_binders_schema_is_the_languages() -> None:
    from executor.core.wire_binding import _fill  # the defaults as the binder applies them

    referenced = {"MesosJob"}
    for name in sorted(STRUCTS):
        klazz = getattr(schema, name)
        assert set(STRUCTS[name]) == set(klazz.TYPEMAP), name
        for field, sig in klazz.TYPEMAP.items():
            kind, default = STRUCTS[name][field]
            assert kind == kind_of(sig.klazz), f"{name}.{field}"
            referenced |= structs_in(kind)
            if sig.empty:
                assert default is ABSENT, f"{name}.{field}"
            else:
                filled = plain(_fill(default, kind, "x"))
                assert filled == plain(sig.default.get()), f"{name}.{field}"
    assert referenced == set(STRUCTS)
    templated = {f"{n}.{f}" for n, fields in STRUCTS.items() for f, (_, d) in fields.items()
                 if "{{" in json.dumps(d if d is not ABSENT else None)}  # fmt: skip
    # The binder resolves exactly these template defaults itself.
    assert templated == {"MesosJob.name", "Task.name", "Announcer.portmap"}


# ------------------------------------------------------------------ start-up
RUN_FROM_DATA = """
import sys
from executor import runner_main
code = runner_main.main(sys.argv[1:])
heavy = [m for m in sys.modules if m.split('.')[0] == 'pystachio'
         or m.startswith('aurora_provider.config')]
print(code, ','.join(sorted(heavy)))
"""


def test_a_runner_started_from_executor_data_never_imports_pystachio(tmp_path: Path) -> None:
    job = Job(cluster="c", role="r", environment="devel", name="hello",
              task=Task(processes=[Process(name="p", cmdline="echo {{mesos.instance}}",
                                           min_duration=0)], resources=RES))  # fmt: skip
    data = tmp_path / "job.json"
    data.write_text(executor_data(job))
    out = subprocess.run(
        [sys.executable, "-c", RUN_FROM_DATA, "--executor-data", str(data), "--task-id", "t1",
         "--instance", "4", "--checkpoint-root", str(tmp_path / "ck"), "--sandbox",
         str(tmp_path / "sb"), "--quiet"],
        capture_output=True, text=True, check=True, timeout=120, cwd=REPO,
    ).stdout  # fmt: skip
    assert out.split("\n")[-2] == "0 "
    assert (tmp_path / "sb" / ".logs" / "p" / "0" / "stdout").read_text() == "4\n"
