"""PdfcoClient: the error boundary, retries by kind of call, and where the API key goes."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import SecretStr

from prefect_pdfco import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    InvalidParametersError,
    JobStatus,
    NotFoundError,
    PdfcoAPIError,
    PdfcoClient,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco._http_errors import map_response
from prefect_pdfco._ratelimit import RateLimiter
from prefect_pdfco.client import USER_AGENT, normalize_endpoint
from prefect_pdfco.testing import PdfcoEmulator

from .conftest import API, API_KEY

FAST = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.001, jitter=0.0, rate_limit_budget_seconds=0.01)


def make_client(**kwargs: object) -> PdfcoClient:
    # A limiter of its own: a 429 scripted here must not slow down other tests of the same key and host.
    kwargs.setdefault("rate_limiter", RateLimiter())
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
        (404, {"error": True, "status": 404, "message": "Not found: /v1/pdf/merj"}, NotFoundError, 404),
        (404, None, NotFoundError, 404),
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


@pytest.mark.parametrize("header", ["garbage", "-1", "nan", "inf", "Mon, 99 Foo 2025 16:00:30 GMT"])
def test_a_retry_after_that_means_nothing_is_ignored_not_raised(header: str) -> None:
    with pytest.raises(RateLimitError) as info:
        map_response(response(429, json={"error": True}, headers={"Retry-After": header}), "/e")
    assert info.value.retry_after is None


def test_a_404_from_the_api_host_says_the_base_url_or_endpoint_is_wrong() -> None:
    with pytest.raises(NotFoundError) as info:
        map_response(response(404, text="<html><h1>404 Not Found</h1></html>"), "/v1/pdf/merj")
    message = str(info.value)
    assert isinstance(info.value, BadRequestError) and info.value.status_code == 404
    assert "base_url" in message and "endpoint" in message and "PDF.co had a problem" not in message


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
    assert "could not connect to api.pdf.co (the PDF.co API)" in str(info.value)
    async with make_client(transport=httpx.MockTransport(read_fail)) as client:
        with pytest.raises(PdfcoConnectionError) as info:
            await client.credit_balance()
    assert info.value.may_have_reached_server is True
    assert "may have reached api.pdf.co (the PDF.co API)" in str(info.value)


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


async def test_a_body_over_4_mb_is_refused_before_any_request(pdfco: respx.MockRouter) -> None:
    route = pdfco.post(f"{API}/v1/pdf/convert/from/html").mock(return_value=httpx.Response(200, json=SUBMITTED))
    async with make_client() as client:
        with pytest.raises(InvalidParametersError) as info:
            await client.submit("/v1/pdf/convert/from/html", {"html": "x" * (5 * 1024 * 1024)})
    assert route.call_count == 0
    assert "4 MB" in str(info.value) and "upload_file" in str(info.value)


def fast_limiter() -> RateLimiter:
    """The account limiter on a clock that moves only when it sleeps, so its pacing costs no real time."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    return RateLimiter(clock=lambda: now[0], sleep=sleep)


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.0) as emu:
        yield emu


def emulator_client(emulator: PdfcoEmulator, limiter: RateLimiter) -> PdfcoClient:
    return PdfcoClient(emulator.api_key, base_url=emulator.base_url, retry_policy=TINY, rate_limiter=limiter)


# Tiny delays and a budget big enough for many of them: the 429 budget, not max_attempts, bounds 429s.
TINY = RetryPolicy(max_attempts=2, initial_delay=0.001, max_delay=0.002, jitter=0.5, rate_limit_budget_seconds=1.0)


async def test_a_burst_of_429s_without_retry_after_is_survived_and_slows_the_account(
    emulator: PdfcoEmulator,
) -> None:
    limiter = fast_limiter()
    async with emulator_client(emulator, limiter) as client:
        submission = await client.submit("/v1/pdf/convert/from/html", {"html": "<p>hi</p>"})
        emulator.inject("/v1/job/check", status=429, times=8)  # PDF.co's 429: no Retry-After
        result = await client.check_job(submission.job_id)
    assert result.status is JobStatus.SUCCESS
    stats = emulator.stats()
    assert stats["requests"]["/v1/job/check"] == 9 and stats["faults_served"] == 8
    assert limiter.rate is not None and limiter.rate < limiter.start_rate  # cut on each new 429


async def test_a_submit_refused_with_429_is_sent_again_and_makes_one_job(emulator: PdfcoEmulator) -> None:
    emulator.inject("/v1/pdf/convert/from/html", status=429, times=3)
    async with emulator_client(emulator, fast_limiter()) as client:
        submission = await client.submit("/v1/pdf/convert/from/html", {"html": "<p>once</p>"})
    stats = emulator.stats()
    assert stats["requests"]["/v1/pdf/convert/from/html"] == 4
    assert stats["jobs_submitted"] == 1 and submission.job_id


async def test_a_429_burst_longer_than_the_budget_fails_with_rate_limit_error(emulator: PdfcoEmulator) -> None:
    emulator.inject("/v1/account/credit/balance", status=429, times=1000)
    policy = RetryPolicy(initial_delay=0.001, max_delay=0.001, jitter=0.0, rate_limit_budget_seconds=0.005)
    async with PdfcoClient(
        emulator.api_key, base_url=emulator.base_url, retry_policy=policy, rate_limiter=fast_limiter()
    ) as client:
        with pytest.raises(RateLimitError) as info:
            await client.credit_balance()
    assert emulator.stats()["requests"]["/v1/account/credit/balance"] == 6  # the first try and 5 x 1 ms
    assert "requests_per_second" in str(info.value)


async def test_a_wrong_base_url_path_is_not_found_not_a_server_error(emulator: PdfcoEmulator) -> None:
    async with emulator_client(emulator, fast_limiter()) as client:
        with pytest.raises(NotFoundError) as info:
            await client.request("POST", "/v1/pdf/merj", json={"url": "x"})
    assert info.value.status_code == 404 and emulator.stats()["requests"]["/v1/pdf/merj"] == 1


@pytest.mark.parametrize(
    ("argument", "value"),
    [("timeout_seconds", float("nan")), ("requests_per_second", 0.0), ("connect_timeout_seconds", -1.0)],
)
def test_client_numbers_are_checked(argument: str, value: float) -> None:
    with pytest.raises(InvalidParametersError, match=argument):
        PdfcoClient(API_KEY, **{argument: value})  # type: ignore[arg-type]


def test_the_blocks_429_budget_reaches_the_client_and_is_checked() -> None:
    from pydantic import ValidationError

    from prefect_pdfco import PdfcoCredentials

    assert PdfcoCredentials(api_key=API_KEY).get_client().retry_policy.rate_limit_budget_seconds == 120.0
    block = PdfcoCredentials(api_key=API_KEY, rate_limit_budget_seconds=5)
    assert block.get_client().retry_policy.rate_limit_budget_seconds == 5.0
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValidationError, match="rate_limit_budget_seconds"):
            PdfcoCredentials(api_key=API_KEY, rate_limit_budget_seconds=bad)


async def test_submit_job_with_a_5_mb_html_is_refused_before_anything_is_sent(emulator: PdfcoEmulator) -> None:
    from prefect_pdfco import submit_job

    with pytest.raises(InvalidParametersError, match="upload_file"):
        await submit_job.fn(emulator.credentials(), "/v1/pdf/convert/from/html", {"html": "x" * (5 * 1024 * 1024)})
    assert emulator.stats()["requests"] == {}
