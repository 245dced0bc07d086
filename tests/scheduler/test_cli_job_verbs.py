"""``aurora job kill|killall|restart|status|list|open|diff``, ``aurora update rollback
--wait`` and ``-v``, as Aurora's users type them, against the real daemon."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest
from starlette.routing import Match

from aurora_provider.cli.aurora import main
from aurora_provider.config import JobKey
from observer_plugin.ui.app import create_app
from tests.daemon import Daemon

pytestmark = pytest.mark.integration

CONFIG = textwrap.dedent("""
    proc = Process(name='main', cmdline='{{cmd}}', min_duration=0)
    task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
    jobs = [Service(cluster='devcluster', role='{{the_role}}', environment='{{the_env}}',
                    name='{{the_name}}', task=task, instances='{{count}}',
                    update_config=UpdateConfig(batch_size=1, watch_secs=30))]
""")
UI = "http://ui.example:8080"


@pytest.fixture
def config(daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    daemon.as_devcluster(tmp_path, monkeypatch)
    clusters = tmp_path / "clusters.json"
    entries = json.loads(clusters.read_text())
    entries[0]["ui_url"] = UI + "/"
    clusters.write_text(json.dumps(entries))
    path = tmp_path / "verbs.aurora"
    path.write_text(CONFIG)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def create(capsys: pytest.CaptureFixture[str], config: Path, key: str, *, count: int = 1,
           cmd: str = "sleep 600") -> None:
    _, role, env, name = key.split("/")
    code, _, err = run(capsys, "job", "create", key, str(config), "--bind", f"cmd={cmd}",
                       "--bind", f"the_role={role}", "--bind", f"the_env={env}",
                       "--bind", f"the_name={name}", "--bind", f"count={count}",
                       "--wait-until", "RUNNING")
    assert code == 0, err


def test_kill_goes_in_batches_and_stops_over_the_failure_limit(
        config: Path, daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/batched"
    create(capsys, config, key, count=3)
    code, out, err = run(capsys, "job", "kill", f"{key}/0-2", "--batch-size", "2")
    assert code == 0, err
    assert out.splitlines() == [f"killed instances [0, 1] of {key}",
                                f"killed instances [2] of {key}", f"3 task(s) of {key} killed"]
    code, _, err = run(capsys, "job", "kill", f"{key}/0")
    assert code == 1 and err.count("\n") == 1 and "no active tasks to kill" in err

    key = "devcluster/www/test/slowkill"
    create(capsys, config, key, count=3)
    # No time at all to stop: the first batch is not gone, which is one failure too many.
    code, out, err = run(capsys, "job", "killall", key, "--batch-size", "1",
                         "--wait-timeout", "0")
    assert code == 1
    assert "1 batch(es) not gone within 0 s" in err and "not killed: [0, 1, 2]" in err
    # Instance 0 was asked to stop; once it is gone, the next kill finds only the others.
    client = daemon.client()
    deadline = time.monotonic() + 30
    while any(t.instance == 0 for t in
              client.job_task_lists(JobKey.parse(key), terminal_limit=0).active):
        assert time.monotonic() < deadline, "instance 0 never stopped"
        time.sleep(0.1)
    code, out, err = run(capsys, "job", "killall", key, "--no-batching", "--json")
    assert code == 0, err
    assert len(json.loads(out)["killed"]) == 2


def test_restart_watches_each_instance(config: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/watched"
    create(capsys, config, key, count=2)
    started = time.monotonic()
    code, out, err = run(capsys, "job", "restart", key, "--watch-secs", "1.5", "--wait",
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["state"] == "DONE" and sorted(result["done"]) == [0, 1]
    assert result["watch_secs"] == 1.5
    assert time.monotonic() - started >= 3  # two batches, each watched 1.5 s
    run(capsys, "job", "killall", key)


def test_a_restart_whose_new_tasks_fail_is_failed(config: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/flaky"
    marker = tmp_path / "started-once"
    # The tasks created run; once the marker exists, every later one (the restart's) fails.
    create(capsys, config, key, count=2, cmd=f"test -e {marker} && exit 1; sleep 600")
    marker.touch()
    code, _, err = run(capsys, "job", "restart", key, "--watch-secs", "5",
                         "--wait", "--wait-timeout", "60")
    assert code == 1
    assert err.count("\n") >= 1 and "FAILED" in err and "instances [0] failed" in err
    assert "not restarted: [1]" in err
    code, _, _ = run(capsys, "job", "kill", f"{key}/0,1", "--no-batching")
    assert code == 0


def test_status_and_list_take_wildcard_keys(config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    for key in ("devcluster/www-data/prod/alpha", "devcluster/www-data/devel/beta",
                "devcluster/other/prod/gamma"):
        create(capsys, config, key)
    code, out, _ = run(capsys, "job", "list", "devcluster/*/prod/*")
    assert code == 0
    listed = out.splitlines()
    assert "devcluster/www-data/prod/alpha" in listed and "devcluster/other/prod/gamma" in listed
    assert "devcluster/www-data/devel/beta" not in listed
    code, out, _ = run(capsys, "job", "list", "devcluster/www-data")
    assert sorted(out.splitlines()) == ["devcluster/www-data/devel/beta",
                                        "devcluster/www-data/prod/alpha"]
    code, out, _ = run(capsys, "job", "status", "devcluster/www-data/*/*", "--json")
    assert code == 0
    assert [s["key"] for s in json.loads(out)] == ["devcluster/www-data/devel/beta",
                                                   "devcluster/www-data/prod/alpha"]
    code, out, _ = run(capsys, "job", "status", "devcluster/*/prod/g?mma")
    assert code == 0 and out.startswith("job devcluster/other/prod/gamma: 1 active")
    code, _, err = run(capsys, "job", "status", "devcluster/nobody/*/*")
    assert code == 1 and err.strip().endswith("found no jobs matching devcluster/nobody/*/*")
    code, out, _ = run(capsys, "job", "status", "devcluster/nobody/*/*", "--json")
    assert code == 0 and json.loads(out)["error"] == "No matching jobs found"
    code, _, err = run(capsys, "job", "status", "nowhere/*/*/*")
    assert code == 1 and err.count("\n") == 1 and "unknown cluster 'nowhere'" in err
    code, _, err = run(capsys, "job", "list", "dev*/www")
    assert code == 1 and err.count("\n") == 1 and "cannot be a glob" in err
    for key in ("devcluster/www-data/prod/alpha", "devcluster/www-data/devel/beta",
                "devcluster/other/prod/gamma"):
        run(capsys, "job", "killall", key)


def test_verbose_logs_requests_on_stderr_only(config: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, plain, err = run(capsys, "job", "list", "devcluster")
    assert code == 0 and "HTTP Request" not in err
    for argv in (("-v", "job", "list", "devcluster"), ("job", "list", "devcluster", "-v"),
                 ("job", "--verbose", "list", "devcluster")):
        code, out, err = run(capsys, *argv)
        assert code == 0 and out == plain
        assert "HTTP Request: GET" in err and "/api/v1/jobs" in err and "200 OK" in err


def test_open_prints_the_ui_page(config: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    key = "devcluster/www/test/opened"
    create(capsys, config, key)
    routes = create_app().routes

    def served(url: str) -> bool:
        path = url.removeprefix(UI).removeprefix("/aurora")
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        return any(r.matches(scope)[0] is Match.FULL for r in routes)

    code, out, _ = run(capsys, "job", "open", key)
    assert code == 0 and out.strip() == f"{UI}/aurora/jobs/{key}" and served(out.strip())
    code, out, _ = run(capsys, "job", "open", f"{key}/0")
    url = out.strip()
    assert url.startswith(f"{UI}/aurora/tasks/www-test-opened-0-") and served(url)
    code, out, _ = run(capsys, "job", "open", "devcluster/www")
    assert out.strip() == f"{UI}/aurora/roles/www" and served(out.strip())
    code, _, err = run(capsys, "job", "open", f"{key}/7")
    assert code == 1 and "no active instance 7" in err
    run(capsys, "job", "killall", key)


def test_diff_shows_the_two_configurations(config: Path, tmp_path: Path,
                                           capfd: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    key = "devcluster/www/test/diffed"
    binds = ["--bind", "the_role=www", "--bind", "the_env=test", "--bind", "the_name=diffed",
             "--bind", "count=1"]
    create(capfd, config, key)  # type: ignore[arg-type]
    argv = ["job", "diff", key, str(config), *binds, "--bind", "cmd=sleep 300"]
    code = main(argv)
    out, _ = capfd.readouterr()
    assert code == 0 and "update: instances [0]" in out
    lines = out.splitlines()
    assert any(line.startswith("-") and "sleep 600" in line for line in lines)
    assert any(line.startswith("+") and "sleep 300" in line for line in lines)
    monkeypatch.setenv("DIFF_VIEWER", "cat")
    code = main(argv)
    out, _ = capfd.readouterr()
    assert code == 0 and "---" not in out
    assert out.index("sleep 600") < out.index("sleep 300")  # running first, then the file
    monkeypatch.setenv("DIFF_VIEWER", str(tmp_path / "no-such-viewer"))
    code = main(argv)
    _, err = capfd.readouterr()
    assert code == 1 and "cannot be run" in err
    main(["job", "killall", key])


def test_rollback_waits_until_rolled_back(config: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    key = "devcluster/www/test/rolled"
    create(capsys, config, key, count=2)
    binds = ["--bind", "the_role=www", "--bind", "the_env=test", "--bind", "the_name=rolled",
             "--bind", "count=2", "--bind", "cmd=sleep 500"]
    code, _, err = run(capsys, "update", "start", key, str(config), *binds)
    assert code == 0, err
    code, out, err = run(capsys, "update", "rollback", key, "--wait", "--wait-timeout", "90")
    assert code == 0, err
    assert out.strip().endswith("ROLLED_BACK")
    code, _, err = run(capsys, "update", "rollback", key, "--wait")
    assert code == 1 and err.count("\n") == 1
    run(capsys, "job", "killall", key)


def test_version_as_aurora_printed_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, "aurora 0.1.0\n", "")
