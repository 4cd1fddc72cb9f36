"""``PdfcoClient``: the only place that speaks HTTP to the PDF.co API, in one straight send chain.

``request -> retrying(_send_paced) -> response_body``. See docs/design/money.md and docs/design/client.md.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from prefect_pdfco import _download, _learning, _waiting
from prefect_pdfco._exceptions import (
    InvalidParametersError,
    JobError,
    PdfcoAPIError,
    PdfcoConnectionError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknown,
    UnexpectedResponseError,
)
from prefect_pdfco._learning import Pacer, check_rate, pacer_for
from prefect_pdfco._linkguard import LinkPolicy, new_link_client, ssl_context
from prefect_pdfco._responses import job_result, response_body, submission, transport_error
from prefect_pdfco._transfer import Links, retrying
from prefect_pdfco._util import SYSTEM_CLOCK, USER_AGENT, Clock, check_number, jsonable
from prefect_pdfco.models import DownloadedFile, JobResult, JobSubmission, PollPolicy, RetryPolicy

DEFAULT_BASE_URL = "https://api.pdf.co"
JOB_CHECK_ENDPOINT = "/v1/job/check"
BALANCE_ENDPOINT = "/v1/account/credit/balance"
#: PDF.co refuses API requests over 4 MB (https://developer.pdf.co/api/account-info/index.html, footnote 3).
MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: How long a wait lasts by default: PDF.co runs async jobs for up to 45 minutes; most take seconds.
DEFAULT_MAX_WAIT_SECONDS = 1800.0
_Hook = Callable[[], Awaitable[None]]


def normalize_endpoint(endpoint: str) -> str:
    """``"pdf/merge"`` -> ``"/v1/pdf/merge"``; documented paths (``/v1/...``, ``/v2/...``) pass unchanged."""
    text = endpoint.strip().split("?", 1)[0].rstrip("/") if isinstance(endpoint, str) else ""
    if "://" in text or text.startswith("//") or not text:  # the API key goes with every call: paths only
        raise InvalidParametersError("endpoint", [f"expected an API path such as /v1/pdf/merge, got {endpoint!r}"])
    path = "/" + text.lstrip("/")
    return path if path.startswith(("/v1/", "/v2/")) else "/v1" + path


class PdfcoClient:
    """An async client for the PDF.co API around one ``httpx.AsyncClient`` (connections are reused).

    The API key goes in the ``x-api-key`` header to the base URL's host and nowhere else (redirects are not
    followed; result links are fetched by a separate keyless client). Calls that are safe to repeat are retried on
    connection errors, 429 and 5xx; a billed submit only when it surely never arrived or was refused with 429.
    Requests are paced only after PDF.co answers 429, adaptively, per account and process, under the optional
    ``requests_per_second`` cap.

    Args:
        api_key: The PDF.co API key.
        base_url: The API root, ``https://api.pdf.co`` unless you test against a local server.
        timeout_seconds: Read/write timeout of one HTTP call.
        connect_timeout_seconds: Connect timeout of one HTTP call.
        requests_per_second: Hard cap in requests/s for this account in this process (0.1 at least); None for
            only the adaptive pacing.
        retry_policy: How transient failures and 429s are retried.
        link_policy: Where result links may lead (default: anywhere but link-local and cloud metadata).
        transport: An httpx transport for the API, for tests (``httpx.MockTransport``).
        link_transport: An httpx transport for result links and uploads, for tests.
        clock: Where time is read and slept, for tests.
        pacer: The pacing of this account (default: the one shared by the process).

    Example:
        ```python
        import asyncio

        from prefect_pdfco import PdfcoClient


        async def main() -> None:
            async with PdfcoClient(api_key="...") as client:
                job = await client.submit("/v1/pdf/convert/from/html", {"html": "<h1>Hi</h1>"})
                result = await client.wait(job.job_id)
                print((await client.download(result, "./output")).path)


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
        retry_policy: RetryPolicy | None = None,
        link_policy: LinkPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        link_transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
        pacer: Pacer | None = None,
    ) -> None:
        caller = "PdfcoClient"
        timeout = check_number(timeout_seconds, "timeout_seconds", caller=caller)
        connect = check_number(connect_timeout_seconds, "connect_timeout_seconds", caller=caller)
        if requests_per_second is not None:
            requests_per_second = check_rate(requests_per_second, caller)
        try:
            self.base_url = httpx.URL(str(base_url).strip().rstrip("/") + "/")
        except (httpx.InvalidURL, TypeError) as error:
            raise InvalidParametersError(caller, [f"base_url: not a URL ({error})"]) from None
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.requests_per_second = requests_per_second
        self.retry_policy = retry_policy or RetryPolicy()
        self.link_policy = link_policy or LinkPolicy()
        self.clock = clock
        self._pacer = pacer or pacer_for(str(self.base_url), self._api_key.get_secret_value())
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(connect, timeout)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
            transport=transport,
            verify=ssl_context(),  # one per process: a new one costs tens of milliseconds of CPU
        )
        self._urls: dict[str, httpx.URL] = {}  # each endpoint joined once: a join parses a URL
        self._link_transport = link_transport
        self._links: httpx.AsyncClient | None = None
        #: The balance PDF.co reported last (every answer carries ``remainingCredits``).
        self.last_remaining_credits: int | None = None

    def __repr__(self) -> str:
        return f"PdfcoClient(base_url={str(self.base_url)!r})"

    async def __aenter__(self) -> PdfcoClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connection pools."""
        await self._http.aclose()
        if self._links is not None:
            await self._links.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose`` was called."""
        return self._http.is_closed

    @property
    def link_client(self) -> httpx.AsyncClient:
        """The keyless client for result links and presigned uploads (guarded by ``link_policy``)."""
        if self._links is None:
            self._links = new_link_client(self.link_policy, transport=self._link_transport)
        return self._links

    async def request(
        self,
        method: str,
        endpoint: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """Sends one API call, retrying per the policy, and returns its JSON body.

        Args:
            method: ``GET`` or ``POST``.
            endpoint: The API path, e.g. ``/v1/pdf/info``.
            json: The JSON body; ``SecretStr`` values are revealed only here, on the wire.
            params: Query parameters.
            idempotent: Whether sending twice is harmless; by default True for GET only.
            before_send: Awaited right before each attempt leaves (after pacing); if it raises, nothing is sent.
            deadline: A ``clock.monotonic()`` time that pacing and retries never wait past.

        Raises:
            InvalidParametersError: The body is over PDF.co's 4 MB cap; nothing was sent.
            PdfcoAPIError: PDF.co answered with an error.
            PdfcoConnectionError: No complete answer came back.
        """
        endpoint = normalize_endpoint(endpoint)
        url = self._urls.get(endpoint) or self._urls.setdefault(endpoint, self.base_url.join(endpoint.lstrip("/")))
        body = jsonable(json) if json is not None else None
        if body is not None and (size := len(_dumps(body))) > MAX_REQUEST_BYTES:
            text = f"the request would be {size / 1_048_576:.1f} MB; PDF.co refuses requests over 4 MB: upload"
            raise InvalidParametersError(endpoint, [f"{text} the content first (upload_file) and pass its URL"])
        request = self._http.build_request(
            method, url, json=body, params=params, headers={"x-api-key": self._api_key.get_secret_value()}
        )
        idempotent = method.upper() == "GET" if idempotent is None else idempotent
        send = functools.partial(self._send_paced, request, endpoint, before_send, deadline)
        data = await retrying(self.retry_policy, self.clock, send, idempotent=idempotent, deadline=deadline)
        remaining = data.get("remainingCredits")
        if isinstance(remaining, int):
            self.last_remaining_credits = remaining
        return data

    async def _send_paced(
        self, request: httpx.Request, endpoint: str, before_send: _Hook | None, deadline: float | None
    ) -> dict[str, Any]:
        ticket = await self._pacer.acquire(self.requests_per_second, deadline=deadline)
        if before_send is not None:
            await before_send()
        try:
            response = await self._http.send(request)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise transport_error(error, request, endpoint, f"{self.base_url.host} (the PDF.co API)") from error
        try:
            data = response_body(response, endpoint)
        except RateLimitError:
            self._pacer.record(ticket, rate_limited=True)
            raise
        self._pacer.record(ticket, rate_limited=False)
        return data

    async def submit(
        self,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> JobSubmission:
        """Submits a background job (``async: true``) and returns its id and result placeholder.

        Never sent twice once it may have reached PDF.co: a read timeout, a connection lost after sending or a
        5xx raises ``SubmitOutcomeUnknown`` (the job may exist and be billed). A 429, or a request that could not
        connect, is sent again.

        Raises:
            SubmitOutcomeUnknown: The job may exist: look at the job history before sending it again.
            PdfcoAPIError: PDF.co refused the job.
        """
        endpoint = normalize_endpoint(endpoint)
        sent_at: datetime | None = None

        async def sending() -> None:
            nonlocal sent_at
            if before_send is not None:
                await before_send()
            sent_at = sent_at or datetime.now(timezone.utc)

        try:
            body = await self.request(
                "POST", endpoint, json={**(params or {}), "async": True}, idempotent=False, before_send=sending
            )
        except (ServerError, PdfcoConnectionError) as error:
            if isinstance(error, PdfcoConnectionError) and not error.may_have_reached_server:
                raise
            reason = f"HTTP {error.status_code}" if isinstance(error, PdfcoAPIError) else _cause_name(error)
            raise SubmitOutcomeUnknown(endpoint, sent_at=sent_at, reason=reason) from error
        job = submission(body, endpoint, submitted_at=datetime.now(timezone.utc))
        _learning.note_submitted(job.job_id, endpoint, at=self.clock.monotonic())  # waits measure from here
        return job

    async def check(self, job_id: str, *, force: bool = False, deadline: float | None = None) -> JobResult:
        """One ``POST /v1/job/check`` (2 credits); the result whatever the status."""
        payload: dict[str, Any] = {"jobid": job_id, **({"force": True} if force else {})}
        body = await self.request("POST", JOB_CHECK_ENDPOINT, json=payload, idempotent=True, deadline=deadline)
        return job_result(body, job_id, JOB_CHECK_ENDPOINT)

    async def wait(
        self,
        job_id: str,
        *,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
        policy: PollPolicy | None = None,
        observer: _waiting.WaitObserver | None = None,
        end_signal: _waiting.EndSignal | None = None,
    ) -> JobResult:
        """Waits for one job: first check where the job should end, then sparse checks, a forced one at the end.

        Raises:
            JobFailed, JobAborted, JobNotFound, JobTimeout: The job did not end in success.
        """
        return await _waiting.wait_one(
            self, job_id, max_wait_seconds=max_wait_seconds, policy=policy, observer=observer, end_signal=end_signal
        )

    async def wait_many(
        self,
        job_ids: Sequence[str],
        *,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
        policy: PollPolicy | None = None,
        observer: _waiting.WaitObserver | None = None,
        end_signal: _waiting.EndSignal | None = None,
        concurrency: int = 16,
    ) -> list[JobResult | JobError]:
        """Waits for many jobs with one poller and one deadline; failures are returned, in order, not raised."""
        options = _waiting.WaitOptions(observer=observer, end_signal=end_signal)
        return await _waiting.wait_many(
            self, job_ids, max_wait_seconds=max_wait_seconds, policy=policy, concurrency=concurrency, **options
        )

    async def credit_balance(self) -> int:
        """The account's remaining credits (``GET /v1/account/credit/balance``, free of charge)."""
        body = await self.request("GET", BALANCE_ENDPOINT)
        remaining = body.get("remainingCredits")
        if not isinstance(remaining, int):
            raise UnexpectedResponseError("no remainingCredits in the answer", endpoint=BALANCE_ENDPOINT, body=body)
        return remaining

    async def download(self, result: JobResult | str, directory: str | Path, **options: Any) -> DownloadedFile:
        """Streams one result into ``directory`` (atomically; resumed on a broken connection).

        Options: ``filename``, ``fingerprint`` (SHA-256), ``verify_etag`` (S3's MD5), ``durable`` (fsync).
        """
        links = Links(self.link_client, self.retry_policy, self.clock)
        return (await _download.land(links, result, Path(directory), **options))[0]

    async def download_parts(self, result: JobResult, directory: str | Path, **options: Any) -> list[DownloadedFile]:
        """Lands every part of a multi-file result (async split's JSON list of links, or ``urls``)."""
        links = Links(self.link_client, self.retry_policy, self.clock)
        return await _download.land(links, result, Path(directory), parts=True, **options)

    async def fetch(self, result: JobResult | str, *, max_bytes: int) -> tuple[bytes, str | None]:
        """A result's bytes and Content-Type, read into memory up to ``max_bytes``."""
        url, valid_till, _ = _download.result_link(result)
        links = Links(self.link_client, self.retry_policy, self.clock)
        return await _download.fetch(links, url, max_bytes=max_bytes, valid_till=valid_till)

    async def upload(self, path: str | os.PathLike[str], *, name: str | None = None, verify_etag: bool = False) -> str:
        """Puts a local file (up to 2 GB) into PDF.co's temporary storage; returns the URL operations take."""
        links = Links(self.link_client, self.retry_policy, self.clock)
        return await _download.upload(links, self, path, name=name, verify_etag=verify_etag)


def _dumps(body: Any) -> bytes:
    # Measured as httpx encodes a body (compact UTF-8), so non-ASCII text is not overestimated.
    return json.dumps(body, default=str, ensure_ascii=False, separators=(",", ":")).encode()


def _cause_name(error: BaseException) -> str:
    return type(error.__cause__).__name__ if error.__cause__ is not None else "connection lost"
