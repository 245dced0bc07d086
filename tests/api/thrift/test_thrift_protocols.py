"""``POST /api`` itself: the IDL compiles, both protocols, the media types, authentication,
and what a call that is not one gets."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import httpx
import pytest
from thrift.Thrift import TApplicationException, TMessageType
from thrift.transport.TTransport import TMemoryBuffer

from aurora_provider.framework.thrift import codec
from aurora_provider.framework.thrift.idl import api, method_names
from aurora_provider.framework.thrift.protocols import TBINARY, TJSON
from tests.api.thrift.conftest import ALICE, BINARY, BOB, MAX_BODY, basic
from tests.daemon import Daemon

pytestmark = pytest.mark.integration

JSON = "application/vnd.apache.thrift.json"


def _same_response(apache: ModuleType) -> tuple[Any, Any]:
    """One Response, built once with Apache's generated classes and once with thriftpy2's."""
    a, t = apache.ttypes, api()

    def build(m: Any) -> Any:
        task = m.TaskConfig(
            job=m.JobKey(role="www", environment="prod", name="hello"),
            owner=m.Identity(user="www"), isService=True, priority=0, maxTaskFailures=1,
            resources={m.Resource(ramMb=64)}, constraints=set(),
            executorConfig=m.ExecutorConfig(name="AuroraExecutor", data='{"a": "\u00e9"}'))
        job = m.JobConfiguration(key=task.job, owner=task.owner, taskConfig=task,
                                 instanceCount=3, cronCollisionPolicy=1)
        return m.Response(responseCode=m.ResponseCode.WARNING,
                          serverInfo=m.ServerInfo(clusterName="c", statsUrlPrefix=""),
                          result=m.Result(getJobsResult=m.GetJobsResult(configs={job})),
                          details=[m.ResponseDetail(message="careful")])

    return build(a), build(t)


@pytest.mark.parametrize("protocol", [TJSON, TBINARY], ids=lambda p: p.name)
def test_our_bytes_are_apache_thrifts(apache_api: ModuleType, protocol: Any) -> None:
    ours_buf, theirs_buf = TMemoryBuffer(), TMemoryBuffer()
    theirs, ours = _same_response(apache_api)
    theirs.write(protocol.make(theirs_buf))
    codec.write_struct(protocol.make(ours_buf), ours)
    assert ours_buf.getvalue() == theirs_buf.getvalue()
    # And back: Apache's bytes read by our codec give the same struct.
    read = codec.read_struct(protocol.make(TMemoryBuffer(theirs_buf.getvalue())),
                             api().Response)
    assert read == ours


def test_every_service_method_is_on_the_admin_service(apache_api: ModuleType) -> None:
    generated = {name for name in dir(apache_api.AuroraAdmin.Iface) if not name.startswith("_")}
    assert set(method_names()) == generated
    assert len(generated) == 45


def test_tjson_as_aurora_python_client(apache_client: Callable[..., Any],
                                       apache_api: ModuleType) -> None:
    answer = apache_client().getTierConfigs()
    assert answer.responseCode == apache_api.ttypes.ResponseCode.OK
    assert answer.serverInfo.clusterName == "devcluster"
    tiers = answer.result.getTierConfigResult
    assert tiers.defaultTierName == "preemptible"
    assert {t.name for t in tiers.tiers} == {"preferred", "preemptible", "revocable"}


def test_tbinary_with_thriftpy2(binary_client: Callable[..., Any]) -> None:
    client = binary_client()
    answer = client.getTierConfigs()
    assert answer.responseCode == api().ResponseCode.OK
    assert client._oprot.trans.last.headers["content-type"] == BINARY


def _raw_call(daemon: Daemon, method: str, *, protocol: Any = TJSON,
              headers: dict[str, str] | None = None) -> httpx.Response:
    buf = TMemoryBuffer()
    proto = protocol.make(buf)
    proto.writeMessageBegin(method, TMessageType.CALL, 7)
    codec.write_struct(proto, api().ReadOnlyScheduler.getTierConfigs_args())
    proto.writeMessageEnd()
    sent = {"Content-Type": protocol.media_type, "Authorization": f"Bearer {ALICE}",
            **(headers or {})}
    return httpx.post(f"{daemon.url}/api", content=buf.getvalue(), headers=sent, timeout=30)


def _reply(answer: httpx.Response, protocol: Any = TJSON) -> tuple[str, int, int, Any]:
    proto = protocol.make(TMemoryBuffer(answer.content))
    name, kind, seqid = proto.readMessageBegin()
    if kind == TMessageType.EXCEPTION:
        error = TApplicationException()
        error.read(proto)
        return name, kind, seqid, error
    result = codec.read_struct(proto, getattr(api().AuroraAdmin, f"{name}_result"))
    return name, kind, seqid, result.success


def test_unknown_method_is_a_thrift_exception(thrift_daemon: Daemon) -> None:
    answer = _raw_call(thrift_daemon, "launchRockets")
    assert answer.status_code == 200
    name, kind, seqid, error = _reply(answer)
    assert (name, kind, seqid) == ("launchRockets", TMessageType.EXCEPTION, 7)
    assert error.type == TApplicationException.UNKNOWN_METHOD
    assert "launchRockets" in error.message


def test_garbage_is_one_clear_400(thrift_daemon: Daemon) -> None:
    answer = httpx.post(f"{thrift_daemon.url}/api", content=b"\x00garbage{",
                        headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    assert answer.status_code == 400
    assert answer.text.startswith("the body is not a TJSON Thrift message")
    assert "\n" not in answer.text


def test_bad_arguments_are_a_protocol_error(thrift_daemon: Daemon) -> None:
    body = b'[1,"getJobs",1,3,{"1":{"i32":"not a number"}}]'
    answer = httpx.post(f"{thrift_daemon.url}/api", content=body,
                        headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
    _, kind, seqid, error = _reply(answer)
    assert (kind, seqid) == (TMessageType.EXCEPTION, 3)
    assert error.type == TApplicationException.PROTOCOL_ERROR
    assert "getJobs" in error.message


def test_media_types_as_aurora(thrift_daemon: Daemon) -> None:
    refused = _raw_call(thrift_daemon, "getTierConfigs", headers={"Content-Type": "text/csv"})
    assert refused.status_code == 415
    assert "text/csv" in refused.text
    # Aurora's older types carry TJSON; Accept picks the answer's protocol.
    for content_type in ("application/x-thrift", "application/json", f"{JSON}; charset=utf-8"):
        answer = _raw_call(thrift_daemon, "getTierConfigs",
                           headers={"Content-Type": content_type})
        assert answer.headers["content-type"] == JSON
        assert _reply(answer)[3].responseCode == api().ResponseCode.OK
    crossed = _raw_call(thrift_daemon, "getTierConfigs", headers={"Accept": BINARY})
    assert crossed.headers["content-type"] == BINARY
    assert _reply(crossed, TBINARY)[3].responseCode == api().ResponseCode.OK
    binary = _raw_call(thrift_daemon, "getTierConfigs", protocol=TBINARY)
    assert binary.headers["content-type"] == BINARY


@pytest.mark.parametrize("authorization, expected", [
    (basic("alice", ALICE), "OK"),
    (basic("alice", "wrong-password"), "AUTH_FAILED"),
    (basic("bob", ALICE), "AUTH_FAILED"),  # a token is its own user's password only
    (f"Bearer {BOB}", "OK"),
    ("Bearer nope", "AUTH_FAILED"),
    ("Digest abc", "AUTH_FAILED"),
    (None, "AUTH_FAILED"),
], ids=["basic", "basic-bad-password", "basic-other-user", "bearer", "bearer-unknown",
        "other-scheme", "none"])
def test_authentication(apache_client: Callable[..., Any], apache_api: ModuleType,
                        authorization: str | None, expected: str) -> None:
    client = apache_client(token=None, authorization=authorization)
    answer = client.getRoleSummary()
    assert answer.responseCode == getattr(apache_api.ttypes.ResponseCode, expected)
    if expected == "AUTH_FAILED":
        assert answer.result is None
        assert len(answer.details) == 1 and answer.details[0].message


def test_a_message_over_the_limit_is_refused(thrift_daemon: Daemon) -> None:
    answer = httpx.post(f"{thrift_daemon.url}/api", content=b"[" * (MAX_BODY + 1),
                        headers={"Authorization": f"Bearer {ALICE}"}, timeout=60)
    assert answer.status_code == 413
