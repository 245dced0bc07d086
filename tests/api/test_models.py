"""The wire models' state fields are the state enums of aurora_provider.states."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from aurora_provider.api import models as m
from aurora_provider.states.cron_run import CronOutcome, CronRunState
from aurora_provider.states.instance_update import InstanceAction, InstanceUpdateState
from aurora_provider.states.maintenance import MaintenanceMode
from aurora_provider.states.restart import RestartState
from aurora_provider.states.task import TaskState
from aurora_provider.states.update import UpdateStatus

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("model", "name", "annotation"), [
    (m.TaskModel, "status", TaskState),
    (m.TaskEventModel, "status", TaskState),
    (m.RestartModel, "state", RestartState),
    (m.InstanceProgressModel, "state", InstanceUpdateState),
    (m.UpdateSummary, "status", UpdateStatus),
    (m.UpdateDetails, "status", UpdateStatus),
    (m.UpdateEventModel, "status", UpdateStatus),
    (m.InstanceEventModel, "action", InstanceAction),
    (m.CronRunModel, "state", CronRunState),
    (m.CronRunModel, "outcome", CronOutcome | None),
    (m.HostStatusModel, "mode", MaintenanceMode),
])
def test_state_fields_are_enums(model: type[BaseModel], name: str, annotation: Any) -> None:
    assert model.model_fields[name].annotation == annotation


def test_strings_still_build_them_and_the_wire_stays_strings() -> None:
    task = m.TaskModel(task_id="t", job_key="c/r/e/n", instance=0, status="RUNNING",
                       created_at=1.0, status_at=1.0)
    assert task.status is TaskState.RUNNING and task.status == "RUNNING"
    assert task.model_dump(mode="json")["status"] == "RUNNING"
    assert m.TaskModel.model_validate_json(task.model_dump_json()) == task
    run = m.CronRunModel(run_id=1, key="c/r/e/n", triggered_at=1.0, state="DONE",
                         outcome="CANCELLED")
    assert (run.state, run.outcome) == (CronRunState.DONE, CronOutcome.CANCELLED)


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValidationError, match="status"):
        m.TaskModel(task_id="t", job_key="c/r/e/n", instance=0, status="SLEEPING",
                    created_at=1.0, status_at=1.0)


def test_the_json_schema_lists_the_states() -> None:
    schema = m.HostStatusModel.model_json_schema()
    mode = schema["$defs"]["MaintenanceMode"]
    assert mode["enum"] == [s.value for s in MaintenanceMode]
    assert issubclass(MaintenanceMode, enum.StrEnum)
