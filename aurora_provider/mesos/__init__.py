"""The Mesos v1 HTTP API, spoken by the project itself (no pymesos; see docs/mesos.md).

``recordio`` frames the event streams, ``detector`` finds the leading master (a fixed
address or ``zk://``), ``scheduler`` is the framework's driver and ``executor`` the
executor's. Nothing here imports the scheduler, the executor or Airflow.
"""
