"""Every state machine of the project, dependency-free: one module per machine.

Each module holds an ``Enum`` of states, the ``ALLOWED`` table, the ``TERMINAL`` set, its
named groups, a ``MACHINE`` (:class:`~aurora_provider.states.machine.StateMachine`) whose
``transition()`` is the one checked way to change state, and the diagram in its docstring.

Nothing here imports the rest of the project (but the error root), so the executor, the
scheduler, the API models and the Airflow face all share one vocabulary of states.
"""
