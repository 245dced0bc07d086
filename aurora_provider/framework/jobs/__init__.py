"""Jobs: admission, the job service (create, kill, restart, add, status, list, diff), rolling
restarts and the read models of the API."""
