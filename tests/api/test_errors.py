"""The client's errors are the classes of api/errors.py, chosen from the answer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aurora_provider.api import (
    ApiError,
    Conflict,
    CronJobNotFound,
    Forbidden,
    InvalidRequest,
    JobExists,
    JobNotFound,
    NotFound,
    QuotaExceeded,
    RetryPolicy,
    SchedulerUnavailable,
    ServerError,
    TaskNotFound,
    Unauthorized,
    UpdateNotFound,
)
from aurora_provider.api.client import error_of
from aurora_provider.api.endpoints import job_path
from aurora_provider.errors import AuroraError
from tests.api.fakes import Scheduler, json_error, sync_client

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("status", "code", "cls"), [
    (404, "NOT_FOUND", NotFound),
    (409, "CONFLICT", Conflict),
    (409, "JOB_EXISTS", JobExists),
    (409, "QUOTA_EXCEEDED", QuotaExceeded),
    (400, "INVALID_REQUEST", InvalidRequest),
    (401, "UNAUTHENTICATED", Unauthorized),
    (403, "FORBIDDEN", Forbidden),
    (500, "INTERNAL", ServerError),
    (503, "UNAVAILABLE", SchedulerUnavailable),
])
def test_the_code_names_the_class(status: int, code: str, cls: type[ApiError]) -> None:
    error = error_of(json_error(status, code, "what went wrong"))
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, code, "what went wrong")
    assert str(error) == f"what went wrong ({code}, HTTP {status})"
    assert isinstance(error, AuroraError)


def test_an_unknown_code_falls_back_on_the_status() -> None:
    error = error_of(json_error(409, "SOMETHING_NEW", "no"))
    assert type(error) is Conflict and error.code == "SOMETHING_NEW"
    error = error_of(json_error(404, "WHATEVER_NOT_FOUND", "gone"))
    assert isinstance(error, NotFound)


def test_an_unknown_code_and_status_is_the_root() -> None:
    error = error_of(json_error(418, "TEAPOT", "short and stout"))
    assert type(error) is ApiError and error.status == 418


def test_a_body_that_is_not_json_is_read_by_status() -> None:
    error = error_of(httpx.Response(502, text="<html>\n  Bad   gateway\n</html>"))
    assert type(error) is SchedulerUnavailable
    assert error.code == "HTTP_ERROR" and error.message == "<html> Bad gateway </html>"
    empty = error_of(httpx.Response(500))
    assert type(empty) is ServerError and empty.message == "Internal Server Error"
    other = error_of(httpx.Response(404, json={"detail": "no code here"}))
    assert type(other) is NotFound and other.code == "HTTP_ERROR"


def test_what_was_not_found_is_said_by_the_endpoint() -> None:
    answer = json_error(404, "NOT_FOUND", "gone")
    assert type(error_of(answer, missing=JobNotFound)) is JobNotFound
    scheduler = Scheduler([answer])
    with sync_client(scheduler) as client:
        with pytest.raises(TaskNotFound):
            client.task("t-1")
        with pytest.raises(CronJobNotFound):
            client.cron_job("c/r/e/n")
        with pytest.raises(UpdateNotFound):
            client.update_details("c/r/e/n")
        with pytest.raises(NotFound) as generic:
            client.restart_status("c/r/e/n")
    assert type(generic.value) is NotFound


def test_the_client_raises_the_typed_error() -> None:
    scheduler = Scheduler([json_error(404, "NOT_FOUND", "job c/r/e/n not found")])
    with sync_client(scheduler) as client, pytest.raises(JobNotFound) as raised:
        client.job_status("c/r/e/n")
    assert raised.value.status == 404 and "not found" in str(raised.value)
    assert [str(r.url) for r in scheduler.requests] == [
        "http://scheduler.test/api/v1/jobs/r/e/n"]


def test_a_401_without_a_token_says_where_to_put_one(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AURORA_TOKEN", raising=False)
    token_file = tmp_path / "no-token"
    scheduler = Scheduler([json_error(401, "UNAUTHENTICATED", "a bearer token is required")])
    with sync_client(scheduler, token=None, token_file=token_file) as client, \
            pytest.raises(Unauthorized) as raised:
        client.list_jobs()
    assert str(raised.value) == (
        "a bearer token is required; no token was found: pass one, set AURORA_TOKEN, or write "
        f"it to {token_file} (UNAUTHENTICATED, HTTP 401)")
    assert "Authorization" not in scheduler.requests[0].headers


def test_a_401_with_a_token_has_no_hint() -> None:
    scheduler = Scheduler([json_error(401, "UNAUTHENTICATED", "unknown token")])
    with sync_client(scheduler, token="wrong") as client, pytest.raises(Unauthorized) as raised:
        client.whoami()
    assert str(raised.value) == "unknown token (UNAUTHENTICATED, HTTP 401)"
    assert scheduler.requests[0].headers["Authorization"] == "Bearer wrong"


def test_an_unreachable_scheduler_is_unavailable() -> None:
    scheduler = Scheduler([httpx.ConnectError("connection refused")])
    with sync_client(scheduler, retry=RetryPolicy(attempts=1)) as client, \
            pytest.raises(SchedulerUnavailable) as raised:
        client.health()
    error = raised.value
    assert (error.code, error.status) == ("UNAVAILABLE", 0)
    assert str(error) == ("cannot reach the scheduler at http://scheduler.test: "
                          "connection refused")
    assert isinstance(error.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("key", ["r/e", "c/r/e/n/x", "c//e/n", ""])
def test_a_malformed_key_is_refused_before_anything_is_sent(key: str) -> None:
    scheduler = Scheduler([httpx.Response(200, json={})])
    with sync_client(scheduler) as client, pytest.raises(InvalidRequest) as raised:
        client.job_status(key)
    assert raised.value.status == 0 and "CLUSTER/ROLE/ENVIRONMENT/NAME" in str(raised.value)
    assert scheduler.requests == []
    with pytest.raises(InvalidRequest):
        job_path(key)


def test_job_path_takes_both_forms_of_a_key() -> None:
    assert job_path("devcluster/www/prod/hello") == "www/prod/hello"
    assert job_path("/www/prod/hello/") == "www/prod/hello"
