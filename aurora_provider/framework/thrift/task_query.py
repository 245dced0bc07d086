"""Aurora's ``TaskQuery``: which stored tasks a read call is about.

Every field set narrows the answer (role, environment, job name, job keys, task ids,
statuses, instances, hosts); ``offset`` and ``limit`` then page it, in a stable order (job,
instance, creation). An empty query is every task, as in Aurora.
"""

from __future__ import annotations

from typing import Any

from aurora_provider.api.errors import InvalidRequest
from aurora_provider.framework.http.deps import ApiServices
from aurora_provider.framework.storage.rows import TaskRow
from aurora_provider.framework.thrift import convert


def _candidates(services: ApiServices, query: Any) -> list[TaskRow]:
    """The fewest rows the store can hand over for this query."""
    if query.taskIds:
        return services.jobs.task_rows(task_ids=sorted(query.taskIds))
    if query.jobKeys:
        paths = {convert.job_path(k, "query.jobKeys") for k in query.jobKeys}
        return [r for p in sorted(paths) for r in services.jobs.task_rows(job_key=p)]
    if query.role and query.environment and query.jobName:
        return services.jobs.task_rows(
            job_key=f"{query.role}/{query.environment}/{query.jobName}")
    return services.jobs.task_rows()


def matching_tasks(services: ApiServices, query: Any) -> list[TaskRow]:
    if query is None:
        raise InvalidRequest("missing TaskQuery")
    statuses = ({convert.task_state(s, "query.statuses") for s in query.statuses}
                if query.statuses else None)
    rows = []
    for row in _candidates(services, query):
        role, environment, name = row.job_key.split("/")
        if ((query.role and role != query.role)
                or (query.environment and environment != query.environment)
                or (query.jobName and name != query.jobName)
                or (query.taskIds and row.task_id not in query.taskIds)
                or (statuses is not None and row.status not in statuses)
                or (query.instanceIds and row.instance not in query.instanceIds)
                or (query.slaveHosts and row.host not in query.slaveHosts)):
            continue
        rows.append(row)
    rows.sort(key=lambda r: (r.job_key, r.instance, r.created_at, r.task_id))
    offset = max(query.offset or 0, 0)
    if query.limit is not None and query.limit > 0:
        return rows[offset:offset + query.limit]
    return rows[offset:]
