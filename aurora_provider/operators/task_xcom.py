"""A job's results for XCom: the JSON each instance's processes left in ``$AURORA_XCOM_FILE``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from aurora_provider.api import ApiError, NotFound, SchedulerClient
from aurora_provider.api.errors import XcomTooLarge
from aurora_provider.utils.job_waits import instance_views

FILE = "$AURORA_XCOM_FILE (.aurora/xcom.json in the sandbox)"


def collect_results(client: SchedulerClient, job_key: str, instances: Iterable[int] | None, *,
                    task: str, log: logging.Logger | Any) -> dict[str, Any] | None:
    """``{"<instance>": value}`` for each of ``instances`` (None: all) whose latest task wrote
    a result; None when none did. Malformed JSON or a result over the scheduler's limit fails
    the Airflow task ``task``, in one line naming the instance, its task and the file."""
    try:
        views = instance_views(client.job_task_lists(job_key).as_status())
    except ApiError as e:
        raise AirflowException(f"{task}: cannot list the tasks of {job_key} to read their "
                               f"results: {e}") from e
    wanted = sorted(views) if instances is None else sorted(i for i in instances if i in views)
    results: dict[str, Any] = {}
    for instance in wanted:
        task_id = views[instance].task_id
        where = f"{task}: instance {instance} of {job_key} (task {task_id})"
        try:
            written = client.task_xcom(task_id)
        except XcomTooLarge as e:
            raise AirflowFailException(f"{where}: result in {FILE} refused: {e}") from None
        except NotFound as e:  # a backend that cannot read sandboxes: no results, as before
            log.warning("%s: result not read: %s", where, e)
            continue
        except ApiError as e:
            raise AirflowException(f"{where}: cannot read its result: {e}") from e
        if not written.present:
            continue
        try:
            results[str(instance)] = json.loads(written.content or "")
        except ValueError as e:
            raise AirflowFailException(f"{where} wrote malformed JSON to {FILE}: {e}") from None
    return results or None
