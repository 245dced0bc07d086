"""Binding runtime variables, deriving ports, and the wire form's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aurora_provider.config import (
    BindingError,
    JobKey,
    WireFormatError,
    bind_task_instance,
    job_from_wire,
    job_to_wire,
    load,
    load_json,
    parse_bindings,
    required_ports,
)

pytestmark = pytest.mark.unit

SERVICE = """
class Profile(Struct):
  version = Required(String)

web = Process(
  name='web',
  cmdline='serve --port {{thermos.ports[http]}} --admin {{thermos.ports[admin]}} '
          '--id {{thermos.task_id}} --instance {{mesos.instance}} --host {{mesos.hostname}} '
          '--as {{thermos.user}} --version {{profile.version}}')
task = Task(processes=[web], resources=Resources(cpu=0.5, ram=64*MB, disk=128*MB))
jobs = [Service(
  cluster='devcluster', role='www-data', environment='prod', name='web', instances=3,
  task=task, container=Docker(image='debian:12'),
  constraints={'rack': '!r1,r2', 'host': 'limit:1', 'dedicated': 'www-data/web'},
  announce=Announcer(primary_port='http', portmap={'admin': '9090', 'alias': 'http'}),
).bind(profile=Profile(version='{{release}}'))]
"""


@pytest.fixture
def service_file(tmp_path: Path) -> Path:
    path = tmp_path / "web.aurora"
    path.write_text(SERVICE)
    return path


def pick(path: Path, *binds: str) -> object:
    return load(path, bindings=list(binds)).pick("devcluster/www-data/prod/web")


def test_ports_are_the_references_the_portmap_leaves_unpinned(service_file: Path) -> None:
    job = pick(service_file, "release=1")
    # admin is pinned to 9090 by the portmap; the primary port and aurora alias need http.
    assert required_ports(job) == ["http"]


def test_bind_task_instance_fills_every_runtime_variable(service_file: Path) -> None:
    job = job_from_wire(job_to_wire(pick(service_file, "release=1.2")))
    bound = bind_task_instance(
        job, instance=2, hostname="agent-7", task_id="www-data-prod-web-2-abc",
        ports={"http": 31000},
    )
    assert bound.task().processes()[0].cmdline().get() == (
        "serve --port 31000 --admin 9090 --id www-data-prod-web-2-abc --instance 2 "
        "--host agent-7 --as www-data --version 1.2"
    )


def test_bind_task_instance_names_a_missing_port(service_file: Path) -> None:
    job = pick(service_file, "release=1")
    with pytest.raises(BindingError, match="no port assigned for http"):
        bind_task_instance(job, instance=0, hostname="h", task_id="t", ports={})


def test_a_variable_left_unbound_is_refused_at_pick(service_file: Path) -> None:
    with pytest.raises(BindingError) as error:
        pick(service_file)
    message = str(error.value)
    assert "{{release}}" in message and "--bind" in message and "\n" not in message


@pytest.mark.parametrize("bad", ["novalue", "=x", "1abc=x"])
def test_malformed_bindings_are_refused(bad: str) -> None:
    with pytest.raises(BindingError, match="--bind"):
        parse_bindings([bad])


def test_wire_form_summarises_the_job(service_file: Path) -> None:
    wire = job_to_wire(pick(service_file, "release=1"))
    json.dumps(wire)  # JSON-safe all the way down
    assert wire["key"] == {
        "cluster": "devcluster", "role": "www-data", "environment": "prod", "name": "web"
    }
    assert wire["instances"] == 3
    task = wire["task"]
    assert task["is_service"] is True
    assert task["resources"] == {"cpu": 0.5, "ram_mb": 64, "disk_mb": 128, "gpu": 0}
    assert task["requested_ports"] == ["http"]
    assert task["constraints"] == [
        {"name": "dedicated", "values": ["www-data/web"], "negated": False},
        {"name": "host", "limit": 1},
        {"name": "rack", "values": ["r1", "r2"], "negated": True},
    ]
    assert task["container"] == {"docker": {"image": "debian:12", "parameters": []}}
    assert wire["update_config"]["watch_secs"] == 45


def test_wire_form_round_trips_losslessly(service_file: Path) -> None:
    wire = job_to_wire(pick(service_file, "release=1"))
    assert job_to_wire(job_from_wire(wire)) == wire


def test_every_choice_alternative_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "choices.aurora"
    path.write_text(
        """
task = SimpleTask('t', 'true')
base = Job(cluster='c', role='r', environment='test', task=task)
jobs = [
  base(name='appc', container=Mesos(image=AppcImage(name='n', image_id='i'),
    volumes=[Volume(container_path='/a', host_path='/b', mode='RO')])),
  base(name='dimg', container=Mesos(image=DockerImage(name='n', tag='t'))),
  base(name='legacy', container=Container(docker=Docker(image='x'))),
  base(name='vbatch', instances=2, sla_policy=CountSlaPolicy(count=1, duration_secs=60),
       update_config=UpdateConfig(
         update_strategy=VariableBatchUpdateStrategy(batch_sizes=[1, 2]))),
  base(name='batch', instances=2, sla_policy=PercentageSlaPolicy(percentage=50, duration_secs=60),
       update_config=UpdateConfig(update_strategy=BatchUpdateStrategy(batch_size=2))),
  base(name='queue', sla_policy=CoordinatorSlaPolicy(coordinator_url='http://c'),
       update_config=UpdateConfig(update_strategy=QueueUpdateStrategy(batch_size=3))),
]
"""
    )
    config = load(path)
    for key in config.job_keys():
        wire = job_to_wire(config.pick(key))
        assert job_to_wire(job_from_wire(wire)) == wire, key
    appc = job_to_wire(config.pick(JobKey("c", "r", "test", "appc")))["task"]["container"]
    assert appc["mesos"]["image"] == {"appc": {"name": "n", "image_id": "i"}}


def test_read_json_accepts_one_job_or_a_list(service_file: Path, tmp_path: Path) -> None:
    wire = job_to_wire(pick(service_file, "release=1"))
    one = wire["task"]["executor_config"]["data"]
    assert load_json(one).job_keys() == [JobKey("devcluster", "www-data", "prod", "web")]
    listed = tmp_path / "jobs.json"
    listed.write_text(json.dumps({"jobs": [json.loads(one), json.loads(one)]}))
    assert len(load_json(listed).job_keys()) == 2


def test_wire_without_executor_data_is_refused() -> None:
    with pytest.raises(WireFormatError, match=r"executor_config\.data"):
        job_from_wire({"task": {}})
