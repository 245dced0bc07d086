"""The pure parts of the test cluster: the v1 schema, resources, the checks of calls."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from tests.mesos_cluster import schema, wire
from tests.mesos_cluster.cluster import default_ports
from tests.mesos_cluster.master_http import call_error
from tests.mesos_cluster.resources import Resources, from_spec, parse_flag
from tests.mesos_cluster.validation import role_error
from tests.mesos_cluster.wire import Json

pytestmark = pytest.mark.unit


def launch_call(task: Json) -> Json:
    return {"type": "ACCEPT", "framework_id": {"value": "f"}, "accept": {
        "offer_ids": [{"value": "o"}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}]}}


TASK: Json = {"name": "t", "task_id": {"value": "t1"}, "agent_id": {"value": "a"},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}],
        "command": {"value": "true"}}


def test_every_type_named_in_the_table_is_defined() -> None:
    assert schema.all_types_known() == []


def test_a_misspelt_field_is_named_with_its_path() -> None:
    task = dict(TASK, resourcs=[])
    with pytest.raises(schema.SchemaError) as error:
        schema.check("scheduler.Call", launch_call(task), "call")
    assert str(error.value).startswith(
        "call.accept.operations[0].launch.task_infos[0].resourcs: unknown field")


@pytest.mark.parametrize(("task", "problem"), [
    ({k: v for k, v in TASK.items() if k != "task_id"},
     "call.accept.operations[0].launch.task_infos[0].task_id: missing required field"),
    ({k: v for k, v in TASK.items() if k != "agent_id"},
     "call.accept.operations[0].launch.task_infos[0].agent_id: missing required field"),
    (dict(TASK, name=3), "task_infos[0].name: expected a string, got int 3"),
    (dict(TASK, resources={"name": "cpus"}), "task_infos[0].resources: expected an array"),
    (dict(TASK, data="not base64!"), "task_infos[0].data: not base64"),
    (dict(TASK, resources=[{"name": "cpus", "type": "SCALER", "scalar": {"value": 1}}]),
     "task_infos[0].resources[0].type: 'SCALER' is not a Value.Type"),
    (dict(TASK, resources=[{"name": "ports", "type": "RANGES",
                            "ranges": {"range": [{"begin": 1, "end": 2.5}]}}]),
     "resources[0].ranges.range[0].end: expected an integer (uint64), got 2.5"),
    (dict(TASK, command={"value": "x", "shell": "yes"}),
     "task_infos[0].command.shell: expected a boolean"),
])
def test_wrong_shapes_are_refused_naming_the_path(task: Json,
                                                  problem: str) -> None:
    with pytest.raises(schema.SchemaError, match=re.escape(problem)):
        schema.check("scheduler.Call", launch_call(task), "call")


def test_values_mesos_reads_leniently_are_normalized() -> None:
    call = {"type": "DECLINE", "framework_id": {"value": "f"}, "decline": {
        "offer_ids": [{"value": "o"}], "filters": {"refuse_seconds": "2.5"}},
        "kill": None}
    checked = schema.check("scheduler.Call", call, "call")
    assert checked["decline"]["filters"]["refuse_seconds"] == 2.5
    assert "kill" not in checked  # null is "not set", as for Mesos


def test_the_type_of_a_call_must_be_known() -> None:
    problem = re.escape("'SUBSCRIBED' is not a scheduler.Call.Type")
    with pytest.raises(schema.SchemaError, match=problem):
        schema.check("scheduler.Call", {"type": "SUBSCRIBED"}, "call")


@pytest.mark.parametrize(("call", "problem"), [
    ({}, "Expecting 'type' to be present"),
    ({"type": "SUBSCRIBE"}, "Expecting 'subscribe' to be present"),
    ({"type": "SUBSCRIBE", "framework_id": {"value": "a"},
      "subscribe": {"framework_info": {"user": "u", "name": "n"}}},
     "'framework_id' differs from 'subscribe.framework_info.id'"),
    ({"type": "ACCEPT"}, "Expecting 'framework_id' to be present"),
    ({"type": "ACCEPT", "framework_id": {"value": "f"}}, "Expecting 'accept' to be present"),
    ({"type": "ACKNOWLEDGE", "framework_id": {"value": "f"}, "acknowledge": {
        "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "YWJj"}},
     "Not a valid UUID: 3 bytes instead of 16"),
    ({"type": "REVIVE", "framework_id": {"value": "f"}}, None),
])
def test_call_validation_as_mesos(call: Json, problem: str | None) -> None:
    assert call_error(call, None) == problem


@pytest.mark.parametrize(("role", "valid"), [
    ("*", True), ("aurora", True), ("a/b", True), ("", False), ("..", False),
    ("-x", False), ("a b", False), ("a//b", False)])
def test_role_names(role: str, valid: bool) -> None:
    assert (role_error(role) is None) is valid


def test_resources_fit_subtract_and_merge() -> None:
    offered = Resources.of(parse_flag("cpus:2;mem:1024;ports:[31000-31009,31020-31029]"))
    task = Resources.of(parse_flag("cpus:0.5;mem:512;ports:[31005-31006]"))
    assert offered.contains(task)
    left = offered - task
    assert left.scalar("cpus") == 1.5
    assert left.ranges[next(iter(left.ranges))] == ((31000, 31004), (31007, 31009),
                                                     (31020, 31029))
    assert not left.contains(task)  # those ports are gone
    assert (left + task).contains(offered) and offered.contains(left + task)
    assert not offered.contains(Resources.of(parse_flag("cpus:3")))


def test_reserved_resources_are_offered_to_their_role_only() -> None:
    total = Resources.of(parse_flag("cpus:2;cpus(aurora):1;mem:100"))
    assert total.for_role("aurora").scalar("cpus") == 3
    assert total.for_role("other").scalar("cpus") == 2
    assert {r["role"] for r in total.to_json() if r["name"] == "cpus"} == {"*", "aurora"}


def test_resource_specs() -> None:
    spec = from_spec({"cpus": 2, "ports": [(1, 5)], "disks": {"b", "a"}})
    assert spec == [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "*"},
        {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 5}]},
         "role": "*"},
        {"name": "disks", "type": "SET", "set": {"item": ["a", "b"]}, "role": "*"}]
    with pytest.raises(ValueError, match="bad amount 'lots' of cpus"):
        parse_flag("cpus:lots")


@pytest.mark.parametrize(("seconds", "text"), [
    (5, "5secs"), (900, "15mins"), (2, "2secs"), (1.5, "1500ms"), (90, "90secs"),
    (0.05, "50ms"), (3600, "1hrs"), (0, "0ns")])
def test_durations_print_as_stout_does(seconds: float, text: str) -> None:
    assert wire.duration_text(seconds) == text


def test_agents_share_the_default_ports_without_overlap() -> None:
    assert default_ports(0, 1) == (31000, 32000)
    ranges = [default_ports(i, 100) for i in range(100)]
    assert all(b1 > e0 for (_, e0), (b1, _) in itertools.pairwise(ranges))
    assert ranges[-1][1] <= 32000


def test_master_info_ip_is_in_network_order() -> None:
    assert wire.ip_uint32("127.0.0.1") == 16777343  # what a real master writes


def test_no_production_code_imports_the_test_cluster() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = [str(path.relative_to(root))
                 for package in ("aurora_provider", "executor", "observer_plugin")
                 for path in (root / package).rglob("*.py")
                 if "tests.mesos_cluster" in path.read_text(errors="replace")]
    assert offenders == [], f"the test Mesos cluster is a test fixture: {offenders}"


@pytest.mark.parametrize(("message", "value"), [
    ("scheduler.Call", launch_call(TASK)),
    ("scheduler.Call", launch_call(dict(TASK, resources=[
        {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 2}]}},
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "role": "*"}],
        labels={"labels": [{"key": "k", "value": "v"}]}, data="aGk="))),
    ("scheduler.Call", {"type": "ACKNOWLEDGE", "framework_id": {"value": "f"}, "acknowledge": {
        "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "aGk="}}),
    ("scheduler.Event", {"type": "UPDATE", "update": {"status": {
        "task_id": {"value": "t"}, "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR",
        "timestamp": 1.5, "uuid": "aGk=", "agent_id": {"value": "a"}}}}),
])
def test_the_compiled_check_is_the_interpreted_one(message: str, value: Json) -> None:
    """What well-formed senders send takes the compiled validators: the same answer."""
    expected = schema._message(message, value, "call")
    assert schema._compiled(message)(value) == expected == schema.check(message, value, "call")
    assert schema.check(message, value, "call")["type"] == value["type"]
