"""The scheduler's HTTP face: the FastAPI app, its dependencies, one router per resource,
and /metrics."""
