"""Aurora's job rules (validate_job), on jobs built in Python.

The malformed-file corpus (test_malformed.py) covers each rule through the CLI; here each
rule is checked directly, with the cases it must accept next to the ones it refuses.
"""

from __future__ import annotations

from typing import Any

import pytest

from aurora_provider.config import ValidationError
from aurora_provider.config.helpers import MB, SimpleTask, order
from aurora_provider.config.schema import (
    Announcer,
    BatchUpdateStrategy,
    CountSlaPolicy,
    HealthCheckConfig,
    HealthCheckerConfig,
    HttpLifecycleConfig,
    Job,
    LifecycleConfig,
    PartitionPolicy,
    PercentageSlaPolicy,
    Process,
    QueueUpdateStrategy,
    Resources,
    Service,
    ShellHealthChecker,
    Task,
    UpdateConfig,
    VariableBatchUpdateStrategy,
)
from aurora_provider.config.validation import validate_job

pytestmark = pytest.mark.unit

RESOURCES = Resources(cpu=0.1, ram=16 * MB, disk=16 * MB)


def make_job(**fields: Any) -> Any:
    base: dict[str, Any] = {
        "cluster": "devcluster",
        "role": "www-data",
        "environment": "prod",
        "name": "app",
        "task": SimpleTask("app", "echo app"),
    }
    base.update(fields)
    return Job(**base)


def task_of(*processes: Any, constraints: Any = ()) -> Any:
    return Task(processes=list(processes), constraints=list(constraints), resources=RESOURCES)


def proc(name: str, **fields: Any) -> Any:
    return Process(name=name, cmdline=f"echo {name}", **fields)


def refuse(job: Any, *expected: str) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_job(job, source="app.aurora")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("app.aurora: ")
    for part in expected:
        assert part in message
    return message


def accept(job: Any) -> None:
    validate_job(job, source="app.aurora")


def test_a_plain_job_is_valid() -> None:
    accept(make_job())


def test_message_names_the_job_and_the_field() -> None:
    message = refuse(make_job(environment="qa"), "job devcluster/www-data/qa/app",
                     "environment: 'qa'")
    assert message.count(":") >= 3


@pytest.mark.parametrize("environment", ["prod", "devel", "test", "staging", "staging12"])
def test_allowed_environments(environment: str) -> None:
    accept(make_job(environment=environment))


@pytest.mark.parametrize("environment", ["production", "stagingX", "PROD", "dev"])
def test_other_environments_are_refused(environment: str) -> None:
    refuse(make_job(environment=environment), "environment", "use prod, devel, test")


@pytest.mark.parametrize("field", ["cluster", "role", "name"])
@pytest.mark.parametrize("value", ["has space", "slash/y", "caf\u00e9", "x" * 256])
def test_key_parts_must_be_identifiers(field: str, value: str) -> None:
    refuse(make_job(**{field: value}), f"{field}: ", "not a valid job key part")


def test_key_parts_accept_dots_dashes_underscores() -> None:
    accept(make_job(name="web-1.canary_b", role="svc.team-a"))


def test_unbound_key_part_says_so() -> None:
    refuse(make_job(role="{{who}}"), "role: '{{who}}' uses a variable that is not bound")


@pytest.mark.parametrize("field", ["cluster", "role", "environment", "task"])
def test_required_job_fields(field: str) -> None:
    fields = {"cluster": "devcluster", "role": "www-data", "environment": "prod", "name": "app",
              "task": SimpleTask("app", "x")}
    del fields[field]
    refuse(Job(**fields), f"{field}: is required")


def test_runtime_variables_may_stay_unbound() -> None:
    task = SimpleTask("app", "serve {{thermos.ports[http]}} {{mesos.instance}} "
                      "{{mesos.hostname}} {{thermos.task_id}}")
    accept(make_job(task=task(max_failures="{{mesos.instance}}")))


def test_resources() -> None:
    refuse(make_job(task=task_of(proc("a"))(resources=Resources(cpu=-1, ram=MB, disk=MB))),
           "task.resources.cpu: -1.0 must be greater than 0")
    refuse(make_job(task=task_of(proc("a"))(resources=Resources(cpu=1, ram=MB, disk=0))),
           "task.resources.disk: 0 bytes must be at least 1 MB")
    refuse(make_job(task=task_of(proc("a"))(resources=Resources(cpu=1, ram=MB, disk=MB, gpu=-1))),
           "task.resources.gpu")
    accept(make_job(task=task_of(proc("a"))(resources=Resources(cpu=0.01, ram=MB, disk=MB))))


def test_counts_must_not_be_negative() -> None:
    refuse(make_job(task=task_of(proc("a", max_failures=-1))), "task.processes[0].max_failures")
    refuse(make_job(task=task_of(proc("a"), proc("b", min_duration=-1))),
           "task.processes[1].min_duration")
    refuse(make_job(task=task_of(proc("a"))(finalization_wait=-1)), "task.finalization_wait")
    refuse(make_job(task=task_of(proc("a"))(max_concurrency=-2)), "task.max_concurrency")
    accept(make_job(task=task_of(proc("a", max_failures=0))))  # 0 = retry forever


@pytest.mark.parametrize("failures", [1, 5, -1])
def test_max_task_failures_accepted(failures: int) -> None:
    accept(make_job(max_task_failures=failures))


@pytest.mark.parametrize("failures", [0, -2])
def test_max_task_failures_refused(failures: int) -> None:
    refuse(make_job(max_task_failures=failures), "max_task_failures")


@pytest.mark.parametrize("name", ["a", "web server", "v1.2", "_x", "x..y", "with:colon"])
def test_process_names_usable_as_file_names(name: str) -> None:
    accept(make_job(task=task_of(proc(name))))


@pytest.mark.parametrize("name", ["", ".hidden", "..", "a/b", "nul\x00"])
def test_process_names_refused(name: str) -> None:
    refuse(make_job(task=task_of(proc(name))), "task.processes[0].name")


def test_plan_rules_accept_what_thermos_accepts() -> None:
    # A daemon may wait for a regular process; ephemerals may wait for anything but daemons.
    accept(make_job(task=task_of(
        proc("setup"), proc("tail", daemon=True, ephemeral=True), proc("side", ephemeral=True),
        proc("f1", final=True), proc("f2", final=True),
        constraints=order("setup", "tail") + order("setup", "side") + order("f1", "f2"),
    )))
    # An ephemeral process may wait for another ephemeral one.
    accept(make_job(task=task_of(proc("e1", ephemeral=True), proc("e2", ephemeral=True),
                                 constraints=order("e1", "e2"))))


def test_plan_rules_refuse_the_impossible() -> None:
    refuse(make_job(task=task_of(proc("d", daemon=True, ephemeral=True), proc("e", ephemeral=True),
                                 constraints=order("d", "e"))), "daemon process 'd'")
    refuse(make_job(task=task_of(proc("f", final=True), proc("r"), constraints=order("f", "r"))),
           "mixes final and regular")
    refuse(make_job(task=task_of(proc("a"), proc("b"), proc("c"),
                                 constraints=order("a", "b") + order("c", "a") + order("b", "c"))),
           "task.constraints: the order has a cycle")
    refuse(make_job(task=task_of(proc("a"), constraints=order("a", "a"))), "cycle: a -> a")


def test_service_and_cron() -> None:
    accept(make_job(cron_schedule="0 3 * * 1-5", cron_collision_policy="CANCEL_NEW"))
    refuse(Service(cluster="c", role="r", environment="prod", task=SimpleTask("a", "a"),
                   cron_schedule="0 3 * * *"), "a service cannot run on a cron schedule")
    refuse(make_job(cron_schedule="0 0 3 * * *"), "is not a cron expression")  # 6 fields
    refuse(make_job(cron_schedule="61 * * * *"), "is not a cron expression")


def test_update_config_rules() -> None:
    accept(make_job(instances=5, update_config=UpdateConfig(max_total_failures=4, watch_secs=0)))
    refuse(make_job(instances=5, update_config=UpdateConfig(max_total_failures=5)),
           "use at most 4")
    refuse(make_job(update_config=UpdateConfig(max_per_shard_failures=-1)),
           "update_config.max_per_shard_failures")
    refuse(make_job(update_config=UpdateConfig(max_total_failures=-1)),
           "update_config.max_total_failures: -1 must not be negative")
    accept(make_job(update_config=UpdateConfig(pulse_interval_secs=60)))
    refuse(make_job(update_config=UpdateConfig(
        wait_for_batch_completion=True, update_strategy=BatchUpdateStrategy(batch_size=2))),
        "update_config.wait_for_batch_completion: cannot be combined")
    refuse(make_job(update_config=UpdateConfig(update_strategy=QueueUpdateStrategy(batch_size=0))),
           "update_config.update_strategy.batch_size: 0 must be at least 1")
    refuse(make_job(update_config=UpdateConfig(
        update_strategy=VariableBatchUpdateStrategy(batch_sizes=[]))), "batch_sizes: is empty")
    accept(make_job(instances=6, update_config=UpdateConfig(
        update_strategy=VariableBatchUpdateStrategy(batch_sizes=[1, 2, 3]))))


def test_dedicated_jobs_need_a_failure_budget() -> None:
    dedicated = {"dedicated": "www-data/edge"}
    refuse(make_job(instances=100, constraints=dedicated), "use at least 2 (2%)")
    accept(make_job(instances=100, constraints=dedicated,
                    update_config=UpdateConfig(max_total_failures=2)))


def test_health_checks() -> None:
    served = SimpleTask("app", "serve --health {{thermos.ports[health]}}")
    custom = HealthCheckConfig(interval_secs=5)
    refuse(make_job(health_check_config=custom), "need a port named 'health'")
    accept(make_job(task=served, health_check_config=custom))
    # A portmap alias provides the port too, and shell checks need none.
    accept(make_job(task=SimpleTask("app", "serve {{thermos.ports[http]}}"),
                    announce=Announcer(portmap={"health": "http"}), health_check_config=custom))
    accept(make_job(health_check_config=HealthCheckConfig(
        health_checker=HealthCheckerConfig(shell=ShellHealthChecker(shell_command="true")))))
    refuse(make_job(task=served, health_check_config=HealthCheckConfig(interval_secs=-1)),
           "health_check_config.interval_secs")


def test_lifecycle_port_must_be_a_task_port() -> None:
    admin = LifecycleConfig(http=HttpLifecycleConfig(port="admin"))
    refuse(make_job(lifecycle=admin), "lifecycle.http.port: 'admin' is not a port")
    accept(make_job(lifecycle=admin, task=SimpleTask("a", "serve {{thermos.ports[admin]}}")))


def test_static_ports_need_a_dedicated_job() -> None:
    portmap = Announcer(portmap={"http": "8080"})
    refuse(make_job(announce=portmap), "static port 8080 needs a dedicated job")
    accept(make_job(announce=portmap, constraints={"dedicated": "*/web"}))


@pytest.mark.parametrize("spec", ["rack-1", "!rack-1,rack-2", "limit:2"])
def test_constraints_accepted(spec: str) -> None:
    accept(make_job(constraints={"rack": spec}))


@pytest.mark.parametrize(("name", "spec", "expected"), [
    ("host", "limit:0", "positive whole limit"),
    ("rack", "a,,b", "has an empty value"),
    ("rack", "!", "has an empty value"),
    ("dedicated", "www-data/a,www-data/b", "exactly one value"),
    ("dedicated", "!www-data/a", "exactly one value"),
    ("dedicated", "limit:1", "must be a value"),
])
def test_constraints_refused(name: str, spec: str, expected: str) -> None:
    refuse(make_job(constraints={name: spec}), f"constraints[{name}]", expected)


def test_policies() -> None:
    refuse(make_job(partition_policy=PartitionPolicy(delay_secs=-1)), "partition_policy")
    refuse(make_job(sla_policy=CountSlaPolicy(count=0, duration_secs=60)), "sla_policy.count")
    refuse(make_job(sla_policy=PercentageSlaPolicy(percentage=120.0, duration_secs=60)),
           "sla_policy.percentage")
    refuse(make_job(sla_policy=PercentageSlaPolicy(percentage=95.0, duration_secs=0)),
           "sla_policy.duration_secs")
    accept(make_job(instances=20,
                    sla_policy=PercentageSlaPolicy(percentage=95.0, duration_secs=1800)))
    # As Aurora: a policy must let at least one instance be killed.
    refuse(make_job(instances=19,
                    sla_policy=PercentageSlaPolicy(percentage=95.0, duration_secs=1800)),
           "sla_policy.percentage", "would let no instance")
    refuse(make_job(instances=3, sla_policy=CountSlaPolicy(count=3, duration_secs=60)),
           "sla_policy.count", "must be less than the job's 3 instances")
    accept(make_job(instances=3, sla_policy=CountSlaPolicy(count=2, duration_secs=60)))


def test_type_errors_name_the_deepest_field() -> None:
    refuse(make_job(task=task_of(proc("a"), Process(name="b"))),
           "task.processes[1].cmdline: is required")
    refuse(make_job(instances="{{n}}"), "instances: '{{n}}' not an integer", "{{n}} is not bound")


def test_templated_values_are_left_to_the_unbound_variable_check() -> None:
    accept(make_job(constraints={"rack": "{{rack}}"}, cron_schedule="{{when}}"))
    refuse(Service(cluster="c", role="r", environment="prod", task=SimpleTask("a", "a"),
                   cron_schedule="{{when}}"), "a service cannot run on a cron schedule")
