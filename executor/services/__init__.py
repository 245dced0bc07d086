"""What runs beside a task's processes: status checkers with one small interface.

Health checks, the HTTP lifecycle, the ZooKeeper announcer, resource sampling and log
rotation are each a :class:`~executor.services.checker.StatusChecker` (``start``, ``poll``,
``stop``, and ``due``, when it next wants a poll). The runner composes them from the task
spec (``compose``) and owns the task's state: checkers only report, and every change they
cause goes through the runner's dispatcher. Each imports its heavy dependency (kazoo,
psutil) only when used.
"""
