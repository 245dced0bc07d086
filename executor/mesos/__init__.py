"""``aurora-executor``: the executor a Mesos agent starts for an Aurora task.

It speaks the v1 executor API through ``aurora_provider.mesos.executor`` and runs the task
with the runner of ``executor.core`` (through ``executor.api``), as Aurora's Thermos
executor did: ``main`` (flags, logging, signals), ``executor`` (the callbacks and the loop),
``task`` (one task's runner and checkpoint) and ``status`` (checkpoint -> Mesos states).
"""
