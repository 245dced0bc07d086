"""``aurora job ...`` against the real daemon, with the cluster named in a clusters.json."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from aurora_provider.cli.aurora import main
from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.cli.scheduler_cli import parse_instances
from tests.daemon import Daemon

pytestmark = pytest.mark.integration

CONFIG = textwrap.dedent("""
    proc = Process(name='main', cmdline='sleep {{naptime}}', min_duration=0)
    task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
    jobs = [Service(cluster='devcluster', role='www', environment='test', name='cli',
                    task=task, instances='{{count}}')]
""")


@pytest.fixture
def cli_env(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    daemon.as_devcluster(tmp_path, monkeypatch)
    config = tmp_path / "cli.aurora"
    config.write_text(CONFIG)
    return config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_job_lifecycle_through_the_cli(cli_env: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/cli"
    code, out, err = run(capsys, "job", "create", key, str(cli_env), "--bind", "naptime=600",
                         "--bind", "count=2", "--wait-until", "RUNNING")
    assert code == 0, err
    assert "created with 2 instance(s)" in out and "waiting for" in err
    code, out, _ = run(capsys, "job", "status", key, "--json")
    assert code == 0
    st = json.loads(out)
    assert sorted(t["status"] for t in st["active"]) == ["RUNNING", "RUNNING"]
    code, out, _ = run(capsys, "job", "list", "devcluster/www/*", "--json")
    assert key in [j["key"] for j in json.loads(out)["jobs"]]
    code, out, _ = run(capsys, "job", "diff", key, str(cli_env), "--bind", "naptime=300",
                       "--bind", "count=3")
    assert code == 0 and "add: instances [2]" in out and "update: instances [0, 1]" in out
    assert '"sleep 600" -> "sleep 300"' in out
    code, out, _ = run(capsys, "job", "add", f"{key}/0", "1", "--json")
    assert json.loads(out)["instances"] == [2]
    code, out, _ = run(capsys, "job", "restart", f"{key}/0,1", "--batch-size", "2",
                       "--watch-secs", "0", "--wait")
    assert code == 0 and "DONE" in out
    code, out, _ = run(capsys, "job", "kill", f"{key}/2", "--wait")
    assert code == 0 and "1 task(s)" in out
    code, out, _ = run(capsys, "job", "killall", key, "--wait", "--json")
    assert code == 0 and len(json.loads(out)["killed"]) == 2
    code, out, _ = run(capsys, "job", "status", key)
    assert "0 active" in out and "KILLED" in out


def test_diff_of_an_instance_count_adds_and_updates_nothing(
        cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same task with another instance count replaces no instance (as an update of it
    would not): the diff and the update agree."""
    config = cli_env.with_name("count.aurora")
    config.write_text(CONFIG.replace("name='cli'", "name='count'"))
    key = "devcluster/www/test/count"
    code, _, err = run(capsys, "job", "create", key, str(config), "--bind", "naptime=600",
                       "--bind", "count=2")
    assert code == 0, err
    code, out, err = run(capsys, "job", "diff", key, str(config), "--bind", "naptime=600",
                         "--bind", "count=3")
    assert code == 0, err
    # The verdict, then the unified diff of the two configurations.
    assert out.splitlines()[:2] == ["add: instances [2]", "unchanged: instances [0, 1]"]
    assert {'-  "instances": 2,', '+  "instances": 3,'} <= set(out.splitlines())
    code, out, _ = run(capsys, "job", "diff", key, str(config), "--bind", "naptime=600",
                       "--bind", "count=2", "--json")
    diff = json.loads(out)
    assert (diff["add"], diff["update"], diff["unchanged"], diff["changes"]) == (
        [], [], [0, 1], [])
    code, out, _ = run(capsys, "job", "killall", key)
    assert code == 0


def test_cli_errors_are_one_line(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "job", "status", "devcluster/www/test/absent")
    assert code == 1 and err.count("\n") == 1 and "not found" in err
    code, _, err = run(capsys, "job", "status", "nocluster/www/test/x")
    assert code == 1 and "unknown cluster 'nocluster'" in err
    code, _, err = run(capsys, "job", "kill", "devcluster/www/test/absent")
    assert code == 1 and "killall" in err


def test_clusters_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURORA_HOME", str(tmp_path))
    monkeypatch.delenv("AURORA_CLUSTERS", raising=False)
    assert get_cluster("devcluster").scheduler_uri == "http://127.0.0.1:8081"
    (tmp_path / "clusters.json").write_text(json.dumps(
        [{"name": "west", "scheduler_uri": "http://10.0.0.1:8081/"}]))
    assert get_cluster("west").scheduler_uri == "http://10.0.0.1:8081"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x"}]))
    monkeypatch.setenv("AURORA_CLUSTERS", str(bad))
    with pytest.raises(ClusterError, match="scheduler_uri"):
        get_cluster("west")
    assert parse_instances("0,2-4") == [0, 2, 3, 4]


def test_create_waits_until_finished(cli_env: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "batch.aurora"
    config.write_text(textwrap.dedent("""
        ok = Process(name='main', cmdline='{{cmd}}', min_duration=0)
        task = Task(processes=[ok], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
        jobs = [Job(cluster='devcluster', role='www', environment='test', name='{{jobname}}',
                    task=task, instances=2)]
    """))
    code, out, err = run(capsys, "job", "create", "devcluster/www/test/batch-ok", str(config),
                       "--bind", "cmd=true", "--bind", "jobname=batch-ok",
                       "--wait-until", "FINISHED")
    assert code == 0 and "FINISHED" in out, err
    code, _, _ = run(capsys, "job", "create", "devcluster/www/test/batch-bad", str(config),
                     "--bind", "cmd=false", "--bind", "jobname=batch-bad",
                     "--wait-until", "FINISHED")
    assert code == 1
