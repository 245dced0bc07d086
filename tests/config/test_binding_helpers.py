"""``{{docker.image[NAME][TAG]}}``: pinned by digest from the cluster's Docker registry.

The registry is a small Docker registry HTTP API v2 served on 127.0.0.1 (``tests.docker_registry``:
manifests, and a token service for the 401 Bearer flow); the cluster names it as
``docker_registry`` in a clusters.json. The `aurora` CLI runs in this process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from aurora_provider.api.docker_registry import DOCKER_HUB, DockerRegistry
from tests.config.conftest import Run
from tests.docker_registry import MANIFEST_TYPE, Registry, closed_port_url, manifest, serving

pytestmark = pytest.mark.unit

KEY = "devcluster/www-data/prod/app"
CONFIG = """\
jobs = [Job(cluster='devcluster', role='www-data', environment='prod', name='app',
  container=Docker(image='{{docker.image[org/app][1.0]}}'),
  task=SimpleTask('app', 'echo running {{docker.image[org/app][1.0]}}'))]
"""
MISSING_TAG = CONFIG.replace("[1.0]", "[nope]")


@pytest.fixture
def registry() -> Iterator[Registry]:
    with serving({"org/app:1.0": manifest("one"), "org/broken:1.0": b"{not json"}) as served:
        yield served


def _use_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    clusters = tmp_path / "clusters.json"
    clusters.write_text(json.dumps([{"name": "devcluster", "scheduler_uri":
                                     "http://127.0.0.1:9", "docker_registry": url}]))
    monkeypatch.setenv("AURORA_HOME", str(tmp_path))
    monkeypatch.setenv("AURORA_CLUSTERS", str(clusters))


@pytest.fixture
def app_file(tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Path:
    _use_registry(monkeypatch, tmp_path, registry.url)
    config = tmp_path / "app.aurora"
    config.write_text(CONFIG)
    return config


def _one_line_error(result: Run) -> str:
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1, result.err
    return result.err


def test_inspect_shows_the_image_pinned_by_digest(aurora: Callable[..., Run],
                                                   registry: Registry, app_file: Path) -> None:
    pinned = f"{registry.host}/org/app@{registry.digest('org/app:1.0')}"
    result = aurora("job", "inspect", KEY, app_file)
    assert result.code == 0, result.err
    assert f"  container:   docker image {pinned}\n" in result.out
    assert f"    echo running {pinned}\n" in result.out
    # One request for the ref, though the job uses it twice.
    assert registry.seen == ["GET /v2/org/app/manifests/1.0"]


def test_the_wire_form_carries_the_pinned_image(aurora: Callable[..., Run],
                                                registry: Registry, app_file: Path) -> None:
    result = aurora("job", "inspect", KEY, app_file, "--json")
    assert result.code == 0, result.err
    assert f"/org/app@{registry.digest('org/app:1.0')}" in result.out


def test_a_registry_that_wants_a_token_gets_one(aurora: Callable[..., Run],
                                               registry: Registry, app_file: Path) -> None:
    registry.wants_token = True
    result = aurora("job", "inspect", KEY, app_file)
    assert result.code == 0, result.err
    assert f"org/app@{registry.digest('org/app:1.0')}" in result.out
    assert [r.split("?")[0] for r in registry.seen] == [
        "GET /v2/org/app/manifests/1.0", "GET /token", "GET /v2/org/app/manifests/1.0"]
    assert "scope=repository%3Aorg%2Fapp%3Apull" in registry.seen[1]


def test_bind_wins_and_no_request_is_made(aurora: Callable[..., Run], registry: Registry,
                                          app_file: Path) -> None:
    chosen = "mirror.example.com/org/app@sha256:" + "ab" * 32
    result = aurora("job", "inspect", KEY, app_file,
                    "--bind", f"docker.image[org/app][1.0]={chosen}")
    assert result.code == 0, result.err
    assert f"docker image {chosen}\n" in result.out
    assert registry.seen == []


def test_a_missing_tag_is_one_line_saying_what_to_bind(aurora: Callable[..., Run],
                                                       registry: Registry,
                                                       app_file: Path) -> None:
    app_file.write_text(MISSING_TAG)
    err = _one_line_error(aurora("job", "inspect", KEY, app_file))
    assert f"Docker registry {registry.url} has no image org/app:nope" in err
    assert "MANIFEST_UNKNOWN" in err
    assert err.startswith(f"aurora: {app_file}: cannot bind {{{{docker.image[org/app][nope]}}}}")
    assert "--bind 'docker.image[org/app][nope]=IMAGE@sha256:DIGEST' instead" in err


def test_a_manifest_that_is_not_json_is_one_line(aurora: Callable[..., Run],
                                                 registry: Registry, app_file: Path) -> None:
    app_file.write_text(CONFIG.replace("org/app", "org/broken"))
    err = _one_line_error(aurora("job", "inspect", KEY, app_file))
    assert f"Docker registry {registry.url} answered org/broken:1.0 with a body that is " \
           "not a JSON manifest" in err
    assert "--bind 'docker.image[org/broken][1.0]=IMAGE@sha256:DIGEST'" in err


def test_an_unreachable_registry_is_one_line(aurora: Callable[..., Run], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url = closed_port_url()
    _use_registry(monkeypatch, tmp_path, url)
    config = tmp_path / "app.aurora"
    config.write_text(CONFIG)
    err = _one_line_error(aurora("job", "inspect", KEY, config))
    assert f"Docker registry {url} cannot be reached for org/app:1.0" in err
    assert "--bind 'docker.image[org/app][1.0]=IMAGE@sha256:DIGEST' instead" in err


def test_a_malformed_docker_registry_in_clusters_json_is_one_line(
        aurora: Callable[..., Run], app_file: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _use_registry(monkeypatch, tmp_path, "registry.example.com")
    err = _one_line_error(aurora("job", "inspect", KEY, app_file))
    assert "cluster 'devcluster': \"docker_registry\" must be an http(s) URL" in err


def test_docker_hub_names_official_images_under_library_and_omits_its_host() -> None:
    # Docker Hub cannot be reached from the tests: its answers come from an httpx transport.
    body = manifest("hub")
    asked: list[str] = []

    def hub(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, content=body, headers={"Content-Type": MANIFEST_TYPE})

    pinned = DockerRegistry(DOCKER_HUB, transport=httpx.MockTransport(hub)).pin("nginx", "1.25")
    assert asked == [f"{DOCKER_HUB}/v2/library/nginx/manifests/1.25"]
    # No Docker-Content-Digest header: the digest is that of the manifest's bytes.
    assert pinned == f"nginx@sha256:{hashlib.sha256(body).hexdigest()}"


def test_only_the_picked_job_is_resolved(aurora: Callable[..., Run], registry: Registry,
                                         app_file: Path) -> None:
    other = ("jobs.append(Job(cluster='elsewhere', role='www-data', environment='prod', "
             "name='other', container=Docker(image='{{docker.image[org/other][2.0]}}'), "
             "task=SimpleTask('other', 'true')))\n")
    app_file.write_text(CONFIG + other)
    listed = aurora("config", "list", app_file)
    assert listed.out.splitlines() == [KEY, "elsewhere/www-data/prod/other"]
    assert aurora("job", "inspect", KEY, app_file).code == 0
    assert registry.seen == ["GET /v2/org/app/manifests/1.0"]
    # The other job's cluster is in no clusters.json: no registry to ask, said in one line.
    err = _one_line_error(aurora("job", "inspect", "elsewhere/www-data/prod/other", app_file))
    assert "cannot bind {{docker.image[org/other][2.0]}}: unknown cluster 'elsewhere'" in err


def test_a_docker_ref_of_another_shape_is_one_line(aurora: Callable[..., Run],
                                                   registry: Registry, app_file: Path) -> None:
    app_file.write_text(CONFIG.replace("{{docker.image[org/app][1.0]}}", "{{docker.tag}}"))
    err = _one_line_error(aurora("job", "inspect", KEY, app_file))
    assert "cannot bind {{docker.tag}}: the docker helper binds docker.image[NAME][TAG] only" in err
    assert registry.seen == []
