"""The task-instance tab: from an Airflow task instance to its Aurora job's page.

Every Aurora operator has ``job_key`` among its template fields, so the rendered value
Airflow stores when the task starts is the sturdiest trace: it is there even when the task
failed before returning anything. The operators' XCom ``return_value`` (``{"job_key": ...}``)
is the fallback, for rendered fields pruned from the database.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.models.renderedtifields import RenderedTaskInstanceFields
from airflow.models.xcom import XComModel
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from aurora_provider.hooks.aurora import AuroraHook
from observer_plugin.ui.render import message, root_of

router = APIRouter()


def _key_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("job_key")
    if isinstance(value, str) and value.strip("/").count("/") in (2, 3) and "{{" not in value:
        return value.strip("/")
    return None


def job_key_of(session: Any, dag_id: str, run_id: str, task_id: str) -> str | None:
    """The Aurora job key of a task instance (any map index), or None."""
    rendered = session.scalars(select(RenderedTaskInstanceFields.rendered_fields).where(
        RenderedTaskInstanceFields.dag_id == dag_id, RenderedTaskInstanceFields.run_id == run_id,
        RenderedTaskInstanceFields.task_id == task_id)).all()
    for fields in rendered:
        if key := _key_of((fields or {}).get("job_key")):
            return key
    values = session.scalars(select(XComModel.value).where(
        XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.task_id == task_id,
        XComModel.key == "return_value")).all()
    for value in values:
        if key := _key_of(XComModel.deserialize_value(_Row(value))):
            return key
    return None


class _Row:
    """What ``XComModel.deserialize_value`` reads: an object with ``value``."""

    def __init__(self, value: Any) -> None:
        self.value = value


@router.get("/ti/{dag_id}/{run_id}/{task_id}", response_class=HTMLResponse)
def task_instance_tab(request: Request, dag_id: str, run_id: str, task_id: str,
                      session: SessionDep) -> Response:
    key = job_key_of(session, dag_id, run_id, task_id)
    if key is None:
        return message(request, "No Aurora job",
                       f"task {task_id} of {dag_id} (run {run_id}) has no Aurora job", 200)
    if key.count("/") == 2:  # role/env/name: the connection's cluster
        key = f"{AuroraHook().settings().cluster}/{key}"
    return RedirectResponse(f"{root_of(request)}/jobs/{key}", status_code=303)
