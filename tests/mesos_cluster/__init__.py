"""A protocol-faithful test Mesos cluster (masters and agents of Mesos 1.11, in-process).

Mesos cannot be installed here, so the tests run the scheduler driver, the scheduler's Mesos
backend and the executor against this: the v1 scheduler API on each master, the v1 executor
API on each agent, real executor processes, ZooKeeper leader election. It is strict where
Mesos is lenient (unknown fields are errors), so that mistakes fail tests. It is a test
fixture: nothing outside ``tests/`` imports it. Start with ``cluster.MesosCluster``.
"""
