"""Run one DAG of a file with ``dag.test()`` and print its outcome as the last line (JSON).

Run as a subprocess by the tests, in the environment they prepared (AIRFLOW_HOME with a
migrated database, the DAGs folder, the Aurora connection).
"""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag


def main() -> None:
    path, dag_id = sys.argv[1], sys.argv[2]
    bag = DagBag(dag_folder=path)
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]
    run = dag.test()
    instances = run.get_task_instances()
    tasks = {ti.task_id: str(ti.state) for ti in instances}
    durations = {ti.task_id: ti.duration for ti in instances}
    print(json.dumps({"dag_id": dag_id, "state": str(run.state), "tasks": tasks,
                      "durations": durations}))


if __name__ == "__main__":
    main()
