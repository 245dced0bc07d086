"""Where tasks run: the embedded local backend, or (later) a Mesos master."""
