"""The update state table, the settings parser, the instance identity and the strategies."""

from __future__ import annotations

import json

import pytest

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.model.job_config import identity_of
from aurora_provider.framework.model.updates import (
    BATCH,
    QUEUE,
    VARIABLE_BATCH,
    InstanceProgress,
    UpdateSettings,
)
from aurora_provider.framework.updates.plan import next_group, settings_from_wire
from aurora_provider.states.instance_update import InstanceUpdateState
from aurora_provider.states.machine import IllegalTransition
from aurora_provider.states.update import (
    ACTIVE,
    ALLOWED,
    TERMINAL,
    UpdateStatus,
    statuses_of,
    transition,
)

pytestmark = pytest.mark.unit
U = UpdateStatus


def test_table_matches_aurora() -> None:
    assert set(ALLOWED) == set(UpdateStatus)
    assert {U.ROLLED_FORWARD, U.ROLLED_BACK, U.ABORTED, U.ERROR, U.FAILED} == TERMINAL
    for status in TERMINAL:
        assert not ALLOWED[status]
    for status in ACTIVE:
        assert {U.ABORTED, U.ERROR} <= ALLOWED[status]
    assert U.FAILED in ALLOWED[U.ROLLING_BACK]
    assert U.ROLLING_FORWARD not in ALLOWED[U.ROLL_BACK_PAUSED]
    assert U.ROLLING_BACK not in ALLOWED[U.ROLL_FORWARD_AWAITING_PULSE]
    assert transition("u", U.ROLL_FORWARD_PAUSED, U.ROLLING_FORWARD) is U.ROLLING_FORWARD
    with pytest.raises(IllegalTransition, match="ROLLED_FORWARD; it cannot become"):
        transition("u", U.ROLLED_FORWARD, U.ROLLING_BACK)


def test_an_instance_moves_only_as_its_table_allows() -> None:
    I = InstanceUpdateState  # noqa: E741
    working = InstanceProgress(7).with_state(3, I.WORKING)
    assert working.state is I.WORKING and working.desired == 7
    assert working.with_state(3, I.SUCCEEDED).state is I.SUCCEEDED
    with pytest.raises(IllegalTransition, match="instance update 3: illegal transition IDLE -> "
                                                "SUCCEEDED"):
        InstanceProgress(7).with_state(3, I.SUCCEEDED)
    with pytest.raises(IllegalTransition, match="FAILED -> WORKING"):
        working.with_state(3, I.FAILED).with_state(3, I.WORKING)


def test_status_filters() -> None:
    assert statuses_of("active") == ACTIVE
    assert statuses_of("rolled_back") == {U.ROLLED_BACK}
    assert U.ROLLED_BACK in statuses_of("failed")
    assert statuses_of("blocked") == {U.ROLL_FORWARD_PAUSED, U.ROLL_BACK_PAUSED,
                                      U.ROLL_FORWARD_AWAITING_PULSE, U.ROLL_BACK_AWAITING_PULSE}
    with pytest.raises(ValueError, match="'sideways' is neither"):
        statuses_of("sideways")


def test_settings_from_wire() -> None:
    assert settings_from_wire({}, 3) == UpdateSettings()
    s = settings_from_wire({"batch_size": 2, "wait_for_batch_completion": True,
                            "watch_secs": 0, "pulse_interval_secs": 60}, 3)
    assert (s.strategy, s.batch_size, s.watch_secs, s.pulse_interval_secs) == (BATCH, 2, 0, 60)
    s = settings_from_wire({"update_strategy": {"batch_sizes": [1, 5],
                                                "autopause_after_batch": True}}, 9)
    assert (s.strategy, s.batch_sizes, s.autopause_after_batch) == (VARIABLE_BATCH, (1, 5), True)
    assert settings_from_wire({"update_strategy": {"batch_size": 4}}, 9).strategy == QUEUE
    assert UpdateSettings.from_json(s.to_json()) == s
    for bad, field in (({"batch_size": 0}, "batch_size"), ({"watch_secs": -1}, "watch_secs"),
                       ({"max_total_failures": 3}, "max_total_failures"),
                       ({"update_strategy": {"batch_sizes": []}}, "batch_sizes"),
                       ({"rollback_on_failure": "yes"}, "rollback_on_failure")):
        with pytest.raises(InvalidRequest, match=f"update_config.*{field}"):
            settings_from_wire(bad, 3)


def test_digest_ignores_instances_and_update_config() -> None:
    def wire(instances: int, batch: int, cmd: str) -> dict[str, object]:
        job = {"instances": instances, "update_config": {"batch_size": batch}, "cmd": cmd}
        return {"instances": instances, "update_config": {"batch_size": batch},
                "task": {"executor_config": {"name": "AuroraExecutor",
                                             "data": json.dumps(job)}}}

    assert identity_of(wire(2, 1, "a")) == identity_of(wire(5, 3, "a"))
    assert identity_of(wire(2, 1, "a")) != identity_of(wire(2, 1, "b"))


def test_strategies_pick_the_next_group() -> None:
    queue = UpdateSettings(batch_size=3)
    assert next_group(queue, [0, 1, 2, 3, 4], 0, 0, True, range(5)) == [0, 1, 2]
    assert next_group(queue, [3, 4], 2, 1, True, range(5)) == [3]  # refill the queue
    batch = UpdateSettings(batch_size=2, strategy=BATCH)
    assert next_group(batch, [2, 3, 4], 1, 1, True, range(5)) == []  # wait for the batch
    assert next_group(batch, [4, 3, 2, 1, 0], 0, 0, False, range(5)) == [4, 3]
    variable = UpdateSettings(strategy=VARIABLE_BATCH, batch_sizes=(1, 2))
    assert next_group(variable, [0, 1, 2, 3, 4], 0, 0, True, range(5)) == [0]
    assert next_group(variable, [1, 2, 3, 4], 0, 1, True, range(5)) == [1, 2]
    assert next_group(variable, [3, 4], 0, 2, True, range(5)) == [3, 4]  # the last repeats
    # Rolling back: the forward groups [0], [1, 2], [3, 4] undone last first.
    assert next_group(variable, [2, 1, 0], 0, 0, False, range(5)) == [2, 1]
    assert next_group(variable, [0], 0, 1, False, range(5)) == [0]
