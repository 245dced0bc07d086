"""What ``ClusterInfo.observer_url`` says for each backend and flag (the flags' parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora_provider.api import models as m
from aurora_provider.framework.backends.local.observer import ObserverProcess, observer_url
from aurora_provider.framework.errors import SchedulerError
from aurora_provider.framework.main import (
    cluster_observer_url,
    observer_listen,
    observer_template,
    parser,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("argv", "expected"), [
    (["--backend", "mesos"], "http://{host}:1338"),
    (["--backend", "mesos", "--observer-url", "https://{host}/obs"], "https://{host}/obs"),
    (["--backend", "mesos", "--observer-url", "off"], None),
    (["--observer-url", "http://{host}:9"], "http://{host}:9"),
    (["--observer-url", ""], None),
    ([], None),  # the local backend with no observer running
])
def test_the_reported_observer_url(argv: list[str], expected: str | None) -> None:
    assert cluster_observer_url(parser().parse_args(argv), None) == expected


def test_the_local_observer_reports_its_own_url(tmp_path: Path) -> None:
    observer = ObserverProcess.bind("127.0.0.1", 0, tmp_path / "cp", tmp_path / "log")
    try:
        url = cluster_observer_url(parser().parse_args([]), observer)
        assert url == observer.url and url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
    finally:
        observer.close()


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:1338"), ("0.0.0.0", "http://{host}:1338"),
    ("::1", "http://[::1]:1338"), ("::", "http://{host}:1338")])
def test_a_wildcard_address_leaves_the_host_to_the_ui(host: str, url: str) -> None:
    assert observer_url(host, 1338) == url


def test_observer_listen_values() -> None:
    assert observer_listen(None) == ("127.0.0.1", 1338)
    assert observer_listen("off") is None
    assert observer_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert observer_listen("[::1]:1338") == ("::1", 1338)
    with pytest.raises(SchedulerError, match="--observer-listen ':80'"):
        observer_listen(":80")


@pytest.mark.parametrize("bad", ["http://agent:1338", "http://{hostname}", "http://{host}{x}",
                                 "http://{host}:{"])
def test_a_template_must_name_host_and_nothing_else(bad: str) -> None:
    with pytest.raises(SchedulerError, match=r"expected a URL template with \{host\}"):
        observer_template(bad)


def test_cluster_info_without_observer_url_still_reads() -> None:
    """An older scheduler's answer has no observer_url: it reads as None."""
    info = m.ClusterInfo.model_validate({"name": "c", "backend": "local", "leader": True,
                                         "version": "0"})
    assert info.observer_url is None
