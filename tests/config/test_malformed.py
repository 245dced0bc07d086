"""The corpus of malformed configurations: each fails with one line naming file and place.

Each case: the file under malformed/, the job key asked for (files name their job
devcluster/www-data/prod/bad unless the mistake is in the key), and substrings the error
must contain: where (``file:line[:col]`` for Python-level errors, the field path for job
rules) and what. The CLI must exit non-zero with that single line on stderr and no
traceback.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.config.conftest import MALFORMED, Run

pytestmark = pytest.mark.unit

KEY = "devcluster/www-data/prod/bad"

CASES: list[tuple[str, str, list[str]]] = [
    # Python level: file:line(:col).
    ("syntax_error.aurora", KEY, ["syntax_error.aurora:2:15", "syntax error", "never closed"]),
    ("indentation_error.aurora", KEY, ["indentation_error.aurora:3:", "unexpected indent"]),
    ("unknown_field.aurora", KEY, ["unknown_field.aurora:4", "unknown field 'retries'"]),
    ("unknown_name.aurora", KEY, ["unknown_name.aurora:4", "'Proccess' is not defined"]),
    ("runtime_error.aurora", KEY, ["runtime_error.aurora:2", "ZeroDivisionError"]),
    ("wrong_enum_value.aurora", KEY, ["wrong_enum_value.aurora:4", "file, console, both, none"]),
    ("sequential_with_constraints.aurora", KEY,
     ["sequential_with_constraints.aurora:6", "SequentialTask cannot take constraints"]),
    ("missing_include.aurora", KEY,
     ["missing_include.aurora:2", "include('templates/does_not_exist.aurora')", "no such file"]),
    ("include_cycle.aurora", KEY,
     ["parts/cycle_b.aurora:1", "include('cycle_a.aurora')", "include cycle"]),
    ("error_in_included_file.aurora", KEY,
     ["parts/broken_template.aurora:4", "'missing_process' is not defined"]),
    # The file's job list.
    ("no_jobs.aurora", KEY, ["no_jobs.aurora", "defines no jobs"]),
    ("jobs_not_a_list.aurora", KEY, ["jobs_not_a_list.aurora", "'jobs' must be a list"]),
    ("jobs_wrong_type.aurora", KEY, ["jobs_wrong_type.aurora", "jobs[0] is a Task, not a Job"]),
    ("duplicate_jobs.aurora", KEY, ["duplicate_jobs.aurora", "2 jobs match " + KEY]),
    ("missing_cluster.aurora", KEY, ["missing_cluster.aurora", "no job " + KEY,
                                     "{MISSING}/www-data/prod/bad"]),
    # Types and required fields: the field path.
    ("missing_task.aurora", KEY, ["missing_task.aurora", "task: is required"]),
    ("missing_cmdline.aurora", KEY, ["task.processes[0].cmdline: is required"]),
    ("missing_resources.aurora", KEY, ["task.resources: is required"]),
    ("no_processes.aurora", KEY, ["task.processes: a task needs at least one Process"]),
    ("string_for_integer.aurora", KEY, ["instances: Cannot coerce 'three' to Integer"]),
    ("string_for_float.aurora", KEY, ["task.resources.cpu: Cannot coerce 'lots' to Float"]),
    ("docker_without_image.aurora", KEY, ["container.image: is required"]),
    ("empty_container.aurora", KEY, ["container: Container() sets no container"]),
    # Variables.
    ("unbound_variable.aurora", KEY, ["unbound_variable.aurora", "unbound variables {{release}}",
                                      "--bind"]),
    ("unbound_in_integer.aurora", KEY, ["instances: '{{count}}' not an integer",
                                        "{{count}} is not bound"]),
    ("self_reference.aurora", KEY, ["self_reference.aurora", "{{version}}", "refers to itself"]),
    ("self_referencing_name.aurora", KEY, ["self_referencing_name.aurora", "{{name}}",
                                           "a job key refers to itself"]),
    # The job key.
    ("bad_environment.aurora", "devcluster/www-data/qa/bad",
     ["environment: 'qa' is not allowed", "prod, devel, test or staging<N>"]),
    ("bad_key_part.aurora", "devcluster/www-data/prod/bad" + "x" * 300,
     ["name: 'badxxx", "not a valid job key part"]),
    # Processes and their order.
    ("duplicate_process_names.aurora", KEY, ["task.processes[1].name: 'main' is used by two"]),
    ("bad_process_name.aurora", KEY, ["task.processes[0].name: '../escape' is not a valid"]),
    ("order_cycle.aurora", KEY, ["task.constraints: the order has a cycle: a -> b -> c -> a"]),
    ("order_unknown_process.aurora", KEY, ["task.constraints[0].order: names no process 'setup'"]),
    ("depends_on_daemon.aurora", KEY, ["task.constraints[0].order",
                                       "'work' may not run after daemon process 'poller'"]),
    ("depends_on_ephemeral.aurora", KEY, ["task.constraints[0].order",
                                          "non-ephemeral process 'work'", "ephemeral process"]),
    ("final_after_regular.aurora", KEY, ["task.constraints[0].order: mixes final and regular"]),
    # Resources.
    ("zero_cpu.aurora", KEY, ["task.resources.cpu: 0.0 must be greater than 0"]),
    ("ram_in_megabytes.aurora", KEY, ["task.resources.ram: 512 bytes must be at least 1 MB",
                                      "512*MB"]),
    ("zero_instances.aurora", KEY, ["instances: 0 must be at least 1"]),
    # Scheduling.
    ("service_with_cron.aurora", KEY, ["cron_schedule: a service cannot run on a cron"]),
    ("bad_cron_schedule.aurora", KEY, ["cron_schedule: 'every day at noon' is not a cron"]),
    ("bad_collision_policy.aurora", KEY, ["cron_collision_policy: 'RUN_OVERLAP' is not a"]),
    # Updates.
    ("max_total_failures_too_high.aurora", KEY,
     ["update_config.max_total_failures: 3 must be less than", "use at most 2"]),
    ("zero_batch_size.aurora", KEY, ["update_config.batch_size: 0 must be at least 1"]),
    ("negative_watch_secs.aurora", KEY, ["update_config.watch_secs: -5 must not be negative"]),
    ("variable_batch_zero.aurora", KEY,
     ["update_config.update_strategy.batch_sizes[1]: 0 must be at least 1"]),
    ("strategy_with_batch_size.aurora", KEY,
     ["update_config.batch_size: cannot be combined with update_strategy"]),
    ("pulse_interval_too_short.aurora", KEY,
     ["update_config.pulse_interval_secs: 10 must be at least 60"]),
    # Health checks, ports, constraints.
    ("http_health_without_port.aurora", KEY,
     ["health_check_config: HTTP health checks need a port named 'health'"]),
    ("shell_and_http_checkers.aurora", KEY, ["health_check_config.health_checker: sets both"]),
    ("static_port_not_dedicated.aurora", KEY,
     ["announce.portmap[http]: static port 80 needs a dedicated job"]),
    ("dedicated_to_other_role.aurora", KEY,
     ["constraints[dedicated]: hosts dedicated to 'search' are not for role 'www-data'"]),
    ("bad_limit_constraint.aurora", KEY, ["constraints[host]: 'limit:one' needs a positive"]),
]


def test_the_corpus_is_complete() -> None:
    on_disk = {p.name for p in MALFORMED.glob("*.aurora")}
    assert on_disk == {name for name, _, _ in CASES}
    assert len(CASES) >= 30


@pytest.mark.parametrize(("name", "key", "expected"), CASES, ids=[c[0] for c in CASES])
def test_malformed_file_fails_with_one_clear_line(
    aurora: Callable[..., Run], name: str, key: str, expected: list[str]
) -> None:
    result = aurora("job", "inspect", key, MALFORMED / name)
    assert result.code == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    assert lines[0].startswith("aurora: ")
    assert name in lines[0] or "broken_template.aurora" in lines[0]
    for part in expected:
        assert part in lines[0]


def test_malformed_json(aurora: Callable[..., Run]) -> None:
    result = aurora("job", "inspect", KEY, MALFORMED / "bad_json.json", "--read-json")
    assert result.code == 1
    assert len(result.err.splitlines()) == 1
    assert "bad_json.json:3:1: invalid JSON" in result.err
