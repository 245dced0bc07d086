"""The Aurora pages inside Airflow: the scheduler's view of the cluster and the agents'
observers, server-rendered by a FastAPI app that Airflow's api-server mounts."""
