"""PdfcoClient: the error boundary, retries by kind of call, and where the API key goes."""

from __future__ import annotations

import inspect
import json

import httpx
import pytest
import respx
from pydantic import SecretStr

from prefect_pdfco import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    JobStatus,
    PdfcoAPIError,
    PdfcoClient,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco.client import USER_AGENT, map_response, normalize_endpoint

from .conftest import API, API_KEY

FAST = RetryPolicy(max_attempts=3, initial_delay=0.0, max_delay=0.0, jitter=0.0)


def make_client(**kwargs: object) -> PdfcoClient:
    return PdfcoClient(API_KEY, base_url=API, retry_policy=FAST, **kwargs)  # type: ignore[arg-type]


def response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", f"{API}/v1/pdf/merge"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "body", "error", "error_code"),
    [
        (401, {"error": True, "status": 401, "message": "Unauthorized"}, AuthenticationError, 401),
        (402, {"error": True, "status": 402, "message": "Not enough credits"}, InsufficientCreditsError, 402),
        (403, {"error": True, "status": 403, "message": "Not enough credits left"}, InsufficientCreditsError, 403),
        (403, {"error": True, "status": 403, "message": "Access denied to input URL"}, BadRequestError, 403),
        (429, {"error": True, "message": "Too many requests"}, RateLimitError, 429),
        (400, {"error": True, "status": 400, "message": "Bad input"}, BadRequestError, 400),
        (200, {"error": True, "status": 441, "message": "Invalid password"}, BadRequestError, 441),
        (200, {"error": True, "errorCode": 449, "status": 200, "message": "Page out of range"}, BadRequestError, 449),
        (442, {"error": True, "status": 442, "message": "Damaged"}, BadRequestError, 442),
        (200, {"error": True, "status": 402, "message": "Not enough credits"}, InsufficientCreditsError, 402),
        (500, {"error": True, "status": 500, "message": "Internal error"}, ServerError, 500),
        (503, None, ServerError, 503),
        (200, None, ServerError, 200),
        (401, None, AuthenticationError, 401),
    ],
)
def test_mapping_table(
    status: int, body: dict[str, object] | None, error: type[PdfcoAPIError], error_code: int
) -> None:
    resp = response(status, json=body) if body is not None else response(status, text="<html>Bad Gateway</html>")
    with pytest.raises(error) as info:
        map_response(resp, "/v1/pdf/merge")
    raised = info.value
    assert type(raised) is error
    assert raised.status_code == status
    assert raised.error_code == error_code
    assert raised.endpoint == "/v1/pdf/merge"
    assert raised.response is resp and raised.request is resp.request
    if body is not None:
        assert raised.message == body["message"]
        assert body["message"] in str(raised)
    else:
        assert "not JSON" in raised.message


@pytest.mark.parametrize("error", [AuthenticationError, InsufficientCreditsError, RateLimitError])
def test_hint_for_401_402_429(error: type[PdfcoAPIError]) -> None:
    assert error.hint
    raised = error("nope", status_code=error.http_status or 0)
    assert error.hint in str(raised)


def test_success_bodies_pass_and_non_object_is_unexpected() -> None:
    assert map_response(response(200, json={"url": "x", "error": False}), "/e") == {"url": "x", "error": False}
    assert map_response(response(200, json={"status": "success"}), "/e") == {"status": "success"}
    with pytest.raises(UnexpectedResponseError):
        map_response(response(200, json=["a", "b"]), "/e")


def test_retry_after_header_seconds_and_date() -> None:
    with pytest.raises(RateLimitError) as info:
        map_response(response(429, json={"error": True}, headers={"Retry-After": "7"}), "/e")
    assert info.value.retry_after == 7.0
    with pytest.raises(RateLimitError) as info:
        map_response(
            response(429, json={"error": True}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), "/e"
        )
    assert info.value.retry_after == 0.0
    with pytest.raises(RateLimitError) as info:
        map_response(response(429, json={"error": True}), "/e")
    assert info.value.retry_after is None


def _httpx_transport_errors() -> list[type[Exception]]:
    found: list[type[Exception]] = []
    for _, obj in inspect.getmembers(httpx):
        if inspect.isclass(obj) and issubclass(obj, (httpx.TransportError, httpx.InvalidURL, httpx.TooManyRedirects)):
            found.append(obj)
    return found


@pytest.mark.parametrize("exc_type", _httpx_transport_errors(), ids=lambda t: t.__name__)
async def test_no_httpx_exception_escapes_unmapped(exc_type: type[Exception]) -> None:
    def raise_it(request: httpx.Request) -> httpx.Response:
        if exc_type is httpx.InvalidURL:
            raise exc_type("bad url")
        raise exc_type("boom", request=request)  # type: ignore[call-arg]

    async with make_client(transport=httpx.MockTransport(raise_it)) as client:
        with pytest.raises(PdfcoError) as info:
            await client.check_job("JOB1")
    assert isinstance(info.value, PdfcoConnectionError)
    assert isinstance(info.value.__cause__, exc_type)
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value)


async def test_connect_error_marks_not_sent_and_read_timeout_marks_maybe_sent() -> None:
    def connect_fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def read_fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with make_client(transport=httpx.MockTransport(connect_fail)) as client:
        with pytest.raises(PdfcoConnectionError) as info:
            await client.credit_balance()
    assert info.value.may_have_reached_server is False
    async with make_client(transport=httpx.MockTransport(read_fail)) as client:
        with pytest.raises(PdfcoConnectionError) as info:
            await client.credit_balance()
    assert info.value.may_have_reached_server is True


SUBMITTED = {
    "jobId": "JOB1",
    "url": "https://pdf-temp-files.s3.amazonaws.com/JOB1/result.pdf",
    "error": False,
    "status": 200,
    "remainingCredits": 990,
    "credits": 10,
}


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(500, json={"error": True, "status": 500, "message": "Internal error"}),
        httpx.Response(502, text="Bad gateway"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
    ids=["500", "502-html", "read-timeout", "disconnect"],
)
async def test_submit_is_never_resent_after_it_may_have_arrived(pdfco: respx.MockRouter, first: object) -> None:
    route = pdfco.post(f"{API}/v1/pdf/merge").mock(side_effect=[first, httpx.Response(200, json=SUBMITTED)])
    async with make_client() as client:
        with pytest.raises((ServerError, PdfcoConnectionError)):
            await client.submit("/v1/pdf/merge", {"url": "a,b"})
    assert route.call_count == 1


@pytest.mark.parametrize(
    "first",
    [httpx.ConnectError("refused"), httpx.Response(429, json={"error": True, "message": "Too many requests"})],
    ids=["connect-error", "429"],
)
async def test_submit_is_resent_when_it_surely_did_not_arrive(pdfco: respx.MockRouter, first: object) -> None:
    route = pdfco.post(f"{API}/v1/pdf/merge").mock(side_effect=[first, httpx.Response(200, json=SUBMITTED)])
    async with make_client() as client:
        submission = await client.submit("/v1/pdf/merge", {"url": "a,b"})
    assert route.call_count == 2
    assert submission.job_id == "JOB1"
    assert submission.remaining_credits == 990
    assert submission.endpoint == "/v1/pdf/merge"


async def test_idempotent_calls_retry_5xx_429_and_read_errors(pdfco: respx.MockRouter) -> None:
    route = pdfco.post(f"{API}/v1/job/check").mock(
        side_effect=[
            httpx.Response(503, text="unavailable"),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json={"status": "success", "jobId": "JOB1", "url": "https://x/r.pdf"}),
        ]
    )
    async with make_client() as client:
        result = await client.check_job("JOB1")
    assert result.status is JobStatus.SUCCESS
    assert route.call_count == 3


async def test_idempotent_calls_give_up_after_max_attempts(pdfco: respx.MockRouter) -> None:
    route = pdfco.get(f"{API}/v1/account/credit/balance").mock(return_value=httpx.Response(500, text="down"))
    async with make_client() as client:
        with pytest.raises(ServerError):
            await client.credit_balance()
    assert route.call_count == FAST.max_attempts


async def test_client_errors_are_not_retried(pdfco: respx.MockRouter) -> None:
    route = pdfco.get(f"{API}/v1/account/credit/balance").mock(
        return_value=httpx.Response(401, json={"error": True, "status": 401, "message": "Unauthorized"})
    )
    async with make_client() as client:
        with pytest.raises(AuthenticationError):
            await client.credit_balance()
    assert route.call_count == 1


async def test_requests_carry_key_user_agent_async_flag_and_revealed_secrets(pdfco: respx.MockRouter) -> None:
    route = pdfco.post(f"{API}/v1/pdf/security/remove").mock(return_value=httpx.Response(200, json=SUBMITTED))
    async with make_client() as client:
        await client.submit("pdf/security/remove", {"url": "https://x/a.pdf", "password": SecretStr("hunter2")})
    request = route.calls.last.request
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["user-agent"] == USER_AGENT
    assert json.loads(request.content) == {"url": "https://x/a.pdf", "password": "hunter2", "async": True}


async def test_job_check_sends_jobid_and_force(pdfco: respx.MockRouter) -> None:
    route = pdfco.post(f"{API}/v1/job/check").mock(return_value=httpx.Response(200, json={"status": "unknown"}))
    async with make_client() as client:
        result = await client.check_job("JOB9", force=True)
    assert json.loads(route.calls.last.request.content) == {"jobid": "JOB9", "force": True}
    assert result.status is JobStatus.UNKNOWN and result.job_id == "JOB9"


async def test_unrecognised_job_status_is_an_error_never_success(pdfco: respx.MockRouter) -> None:
    pdfco.post(f"{API}/v1/job/check").mock(return_value=httpx.Response(200, json={"status": "finished"}))
    async with make_client() as client:
        with pytest.raises(UnexpectedResponseError, match="finished"):
            await client.check_job("JOB1")


async def test_submit_without_job_id_is_unexpected(pdfco: respx.MockRouter) -> None:
    pdfco.post(f"{API}/v1/pdf/merge").mock(return_value=httpx.Response(200, json={"url": "x", "error": False}))
    async with make_client() as client:
        with pytest.raises(UnexpectedResponseError, match="jobId"):
            await client.submit("/v1/pdf/merge", {})


async def test_the_key_never_leaves_for_another_host() -> None:
    async with make_client() as client:
        for endpoint in ("https://evil.example/v1/pdf/merge", "//evil.example/x"):
            with pytest.raises(ValueError):
                await client.request("GET", endpoint)
    assert client._http.follow_redirects is False


def test_normalize_endpoint() -> None:
    assert normalize_endpoint("pdf/merge") == "/v1/pdf/merge"
    assert normalize_endpoint("/v1/pdf/merge") == "/v1/pdf/merge"
    assert normalize_endpoint("/v2/pdf/compress") == "/v2/pdf/compress"
    assert normalize_endpoint(" /v1/job/check ") == "/v1/job/check"


async def test_remaining_credits_are_remembered_and_repr_hides_key(pdfco: respx.MockRouter) -> None:
    pdfco.get(f"{API}/v1/account/credit/balance").mock(return_value=httpx.Response(200, json={"remainingCredits": 42}))
    async with make_client() as client:
        assert await client.credit_balance() == 42
        assert client.last_remaining_credits == 42
        assert API_KEY not in repr(client)
