"""``PdfcoClient``: the only place that speaks HTTP to the PDF.co API, and the one boundary for its errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from prefect_pdfco._http_errors import map_response, map_transport_error
from prefect_pdfco._netguard import _ssl_context
from prefect_pdfco._ratelimit import RateLimiter, Ticket, limiter_for
from prefect_pdfco._redact import jsonable
from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retries
from prefect_pdfco._validate import check_number
from prefect_pdfco._version import __version__
from prefect_pdfco.exceptions import (
    InvalidParametersError,
    PdfcoError,
    RateLimitError,
    UnexpectedResponseError,
)
from prefect_pdfco.models import JobResult, JobSubmission

__all__ = ["DEFAULT_BASE_URL", "PdfcoClient", "normalize_endpoint"]

DEFAULT_BASE_URL = "https://api.pdf.co"
USER_AGENT = f"prefect-pdfco/{__version__}"
JOB_CHECK_ENDPOINT = "/v1/job/check"
BALANCE_ENDPOINT = "/v1/account/credit/balance"

logger = logging.getLogger("prefect_pdfco.client")

def normalize_endpoint(endpoint: str) -> str:
    """``"pdf/merge"`` -> ``"/v1/pdf/merge"``; documented paths (``/v1/...``, ``/v2/...``) pass unchanged."""
    endpoint = endpoint.strip()
    if "://" in endpoint or endpoint.startswith("//"):
        # The API key goes with every call: only paths on the configured base URL are accepted.
        raise ValueError(f"expected an API path such as /v1/pdf/merge, got a URL: {endpoint!r}")
    path = "/" + endpoint.lstrip("/")
    if not path.startswith(("/v1/", "/v2/")):
        path = "/v1" + path
    return path


#: PDF.co refuses API requests over 4 MB (https://developer.pdf.co/api/account-info/index.html, footnote 3);
#: bigger inputs go in by URL.
MAX_REQUEST_BYTES = 4 * 1024 * 1024


def check_request_size(operation: str, payload: Mapping[str, Any]) -> None:
    """Refuses a payload over PDF.co's 4 MB request cap before it is sent.

    Raises:
        InvalidParametersError: The JSON body would exceed 4 MB.
    """
    # Measured as httpx encodes a body (compact, UTF-8), so a non-ASCII body is not overestimated.
    size = len(json.dumps(payload, default=str, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_REQUEST_BYTES:
        raise InvalidParametersError(
            operation,
            [f"the request would be {size / 1_048_576:.1f} MB; PDF.co refuses requests over 4 MB: upload the "
             "content first (upload_file) and pass its URL"],
        )  # fmt: skip


def parse_job_result(body: Mapping[str, Any], job_id: str) -> JobResult:
    """Parses a job-check body; a status PDF.co does not document is an error, never a success."""
    try:
        # A "working" answer carries no job id; the one we asked about is the one it is about.
        return JobResult.model_validate({"jobId": job_id, **body})
    except ValidationError as error:
        raise UnexpectedResponseError(
            f"unrecognised job-check answer for job {job_id} (status {body.get('status')!r})",
            endpoint=JOB_CHECK_ENDPOINT,
            body=dict(body),
        ) from error


class PdfcoClient:
    """An async client for the PDF.co API around one ``httpx.AsyncClient`` (connections are reused).

    The API key is sent in the ``x-api-key`` header to the base URL's host and nowhere else; redirects are
    not followed, so it cannot leak to another host either. Idempotent calls are retried on connection
    errors, 429 and 5xx; billed submits only when they surely never arrived or were refused with 429 (see
    ``_retry``). Every client of one account in this process shares one rate limiter that slows down only
    after PDF.co answers 429 (see ``_ratelimit``); ``requests_per_second`` is a hard cap on top of it.

    Args:
        api_key: The PDF.co API key.
        base_url: The API root, ``https://api.pdf.co`` unless you run the emulator.
        timeout_seconds: Read/write timeout of one HTTP call.
        connect_timeout_seconds: Connect timeout of one HTTP call.
        requests_per_second: Hard cap in requests/s for this client (the account's requests in this process
            are spaced at least ``1 / requests_per_second`` apart); None leaves only the adaptive limiter.
        global_rate_limit: Name of a Prefect global concurrency limit with slot decay; each request takes a
            slot from it, so processes on several machines share one rate (a missing limit only warns).
        low_credits_threshold: Balance under which the tasks using this client emit ``pdfco.credits.low``.
        retry_policy: How transient failures and 429s are retried.
        transport: An httpx transport, for tests.
        rate_limiter: The limiter to pace requests with, for tests (default: the account's, shared in the
            process).

    Raises:
        InvalidParametersError: A timeout or ``requests_per_second`` is NaN, infinite, negative or zero.

    Example:
        ```python
        import asyncio
        from prefect_pdfco import PdfcoClient

        async def main():
            async with PdfcoClient(api_key="...") as client:
                print(await client.credit_balance())

        asyncio.run(main())
        ```
    """

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = 30.0,
        connect_timeout_seconds: float = 10.0,
        requests_per_second: float | None = None,
        global_rate_limit: str | None = None,
        low_credits_threshold: int | None = None,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        caller = "PdfcoClient"
        timeout_seconds = check_number(timeout_seconds, "timeout_seconds", caller=caller)
        connect_timeout_seconds = check_number(connect_timeout_seconds, "connect_timeout_seconds", caller=caller)
        self.requests_per_second = (
            None
            if requests_per_second is None
            else check_number(requests_per_second, "requests_per_second", caller=caller)
        )
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self.retry_policy = retry_policy
        self._limiter = rate_limiter or limiter_for(str(self.base_url), self._api_key.get_secret_value())
        self.global_rate_limit = global_rate_limit
        #: Balance under which the tasks emit ``pdfco.credits.low`` (the client itself only records it).
        self.low_credits_threshold = low_credits_threshold
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(connect_timeout_seconds, timeout_seconds)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
            transport=transport,
            # One SSL context per process: a task run on a Dask worker runs in its own event loop, so it gets its own
            # client (and pool), but not its own tens of milliseconds of certificate loading.
            verify=_ssl_context(),
        )
        #: The balance PDF.co reported last (every response carries ``remainingCredits``).
        self.last_remaining_credits: int | None = None

    def __repr__(self) -> str:
        return f"PdfcoClient(base_url={str(self.base_url)!r})"

    async def __aenter__(self) -> PdfcoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connection pool."""
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose`` was called (the client can no longer send)."""
        return self._http.is_closed

    def _api_url(self, endpoint: str) -> httpx.URL:
        url = self.base_url.join(normalize_endpoint(endpoint).lstrip("/"))
        if url.host != self.base_url.host or url.port != self.base_url.port:
            raise ValueError(f"{endpoint!r} is not a path on {self.base_url.host}")
        return url

    async def request(
        self,
        method: str,
        endpoint: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Sends one API call, retrying per the policy, and returns its JSON body.

        Args:
            method: ``GET`` or ``POST``.
            endpoint: The API path, e.g. ``/v1/pdf/info``.
            json: The JSON body. ``SecretStr`` values are revealed only here, on the wire.
            params: Query parameters.
            idempotent: Whether sending twice is harmless; defaults to True for GET only.
            before_send: Awaited right before each attempt leaves, after the rate-limit waits (the submit
                record is written there); if it raises, nothing is sent.

        Raises:
            InvalidParametersError: The JSON body is over PDF.co's 4 MB cap; nothing was sent.
            PdfcoAPIError: PDF.co answered with an error (see the exception tree).
            PdfcoConnectionError: No complete answer came back.
            UnexpectedResponseError: A success body that is not a JSON object.
        """
        endpoint = normalize_endpoint(endpoint)
        url = self._api_url(endpoint)
        if idempotent is None:
            idempotent = method.upper() == "GET"
        headers = {"x-api-key": self._api_key.get_secret_value()}
        body = jsonable(json) if json is not None else None
        if body is not None:
            # PDF.co bounces bodies over 4 MB with 413; refused here, the request costs nothing and says why.
            check_request_size(endpoint, body)

        async def attempt() -> dict[str, Any]:
            ticket = await self._wait_for_rate_limits()
            if before_send is not None:
                await before_send()
            try:
                response = await self._http.request(method, url, json=body, params=params, headers=headers)
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                raise map_transport_error(error, endpoint, host=self.base_url.host, role="the PDF.co API") from error
            try:
                data = map_response(response, endpoint)
            except RateLimitError:
                self._limiter.record(ticket, rate_limited=True)
                raise
            self._limiter.record(ticket, rate_limited=False)
            return data

        def log_retry(error: PdfcoError, failed: int, delay: float) -> None:
            logger.debug("%s %s failed (%s); retry %d in %.1fs", method, endpoint, error, failed, delay)

        data = await call_with_retries(attempt, idempotent=idempotent, policy=self.retry_policy, on_retry=log_retry)
        remaining = data.get("remainingCredits")
        if isinstance(remaining, int):
            self.last_remaining_credits = remaining
        return data

    async def _wait_for_rate_limits(self) -> Ticket:
        if self.global_rate_limit:
            from prefect_pdfco._globalrate import take_rate_slot  # needs a Prefect API: only imported when used

            await take_rate_slot(self.global_rate_limit)
        # The process's own pacing last, right before the request leaves.
        return await self._limiter.acquire(self.requests_per_second)

    async def submit(
        self,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> JobSubmission:
        """Submits a background job (``async: true``) and returns its id and result placeholder.

        Never re-sent once it may have reached PDF.co: a read timeout or a 5xx raises at once, because the
        job may exist and be billed. A 429 was refused by PDF.co, so it is sent again (within the policy's
        ``rate_limit_budget_seconds``), as is a request that could not connect.

        Args:
            endpoint: The API path.
            params: The operation's parameters.
            before_send: Awaited right before each attempt leaves (see ``request``).

        Raises:
            InvalidParametersError: The parameters are over PDF.co's 4 MB request cap: upload the content
                first (``upload_file``) and pass its URL.
        """
        endpoint = normalize_endpoint(endpoint)
        body = await self.request(
            "POST", endpoint, json={**(params or {}), "async": True}, idempotent=False, before_send=before_send
        )
        try:
            submission = JobSubmission.model_validate({**body, "endpoint": endpoint})
        except ValidationError as error:
            raise UnexpectedResponseError(
                "the submit answer has no jobId; was the endpoint asynchronous?", endpoint=endpoint, body=body
            ) from error
        from prefect_pdfco.jobs.learn import note_submitted  # jobs imports this module: no import at the top

        note_submitted(submission.job_id, endpoint)  # the waits of this process measure from here
        return submission

    async def check_job(self, job_id: str, *, force: bool = False) -> JobResult:
        """One ``POST /v1/job/check`` (2 credits). Returns the result whatever the status."""
        payload: dict[str, Any] = {"jobid": job_id}
        if force:
            payload["force"] = True
        body = await self.request("POST", JOB_CHECK_ENDPOINT, json=payload, idempotent=True)
        return parse_job_result(body, job_id)

    async def credit_balance(self) -> int:
        """The account's remaining credits (``GET /v1/account/credit/balance``, free of charge)."""
        body = await self.request("GET", BALANCE_ENDPOINT)
        remaining = body.get("remainingCredits")
        if not isinstance(remaining, int):
            raise UnexpectedResponseError("no remainingCredits in the answer", endpoint=BALANCE_ENDPOINT, body=body)
        return remaining
