"""What every API handler shares: the running server's resources, one call's context, JSON answers; and callbacks.

Callbacks go as PDF.co makes them: a POST of the job's final result (with ``jobId``) to the submit's ``callback``
once the job ends (by its work or by the emulator's clock), retried up to 3 times; loopback receivers only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

from ._inputs import loopback_url
from ._params import Params
from ._pdfco_params import documented_spelling, undocumented_names
from ._state import EmulatorState, Job

__all__ = ["RETRIES", "Call", "Runtime", "call_back", "http_status_for", "not_served", "pdfco_error"]


@dataclass
class Runtime:
    """The server's long-lived resources.

    Attributes:
        state: The account, jobs, files and faults.
        http: The client that fetches loopback inputs (ignores proxy settings: loopback only).
        tasks: Background job tasks, kept referenced until they finish.
    """

    state: EmulatorState
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(trust_env=False, timeout=30.0))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def http_status_for(code: int) -> int:
    """The HTTP status for a PDF.co error code.

    PDF.co's own codes 441-454 (bad password, damaged file, page range...) are not HTTP statuses; whether the
    status line carries them is undocumented (https://developer.pdf.co/api/response-codes/index.html lists
    the codes, not the status line). The emulator answers them as HTTP 400 with the code in the body's
    ``status`` and ``errorCode``, which every official client reads (PDF.co's MCP server reads ``errorCode``
    first). Real HTTP codes (400, 401, 402, 403, 404, 413, 429, 500...) are sent as they are.
    """
    return 400 if 441 <= code <= 454 else code


def pdfco_error(status: int, message: str, *, remaining_credits: int | None = None, **extra: Any) -> JSONResponse:
    """``{"error": true, "status": <code>, "message": ...}``, PDF.co's error body, with its HTTP status."""
    body: dict[str, Any] = {"error": True, "status": status, "message": message}
    if status != http_status_for(status):
        body["errorCode"] = status
    body.update(extra)
    if remaining_credits is not None:
        body["remainingCredits"] = remaining_credits
    return JSONResponse(body, status_code=http_status_for(status))


@dataclass
class Call:
    """One authenticated API call being answered.

    Attributes:
        rt: The server's resources.
        request: The HTTP request.
        path: The normalized API path.
        params: The request's parameters.
        started: ``time.perf_counter()`` when it arrived (for ``duration``).
    """

    rt: Runtime
    request: Request
    path: str
    params: Params
    started: float = field(default_factory=time.perf_counter)

    @property
    def state(self) -> EmulatorState:
        """The emulator's state."""
        return self.rt.state

    def duration(self) -> int:
        """Milliseconds since the call arrived, like PDF.co's ``duration``."""
        return round((time.perf_counter() - self.started) * 1000)

    def ok(self, body: dict[str, Any]) -> JSONResponse:
        """A 200 JSON answer; ``remainingCredits`` is added unless the body already carries it."""
        body.setdefault("remainingCredits", self.state.remaining_credits)
        return JSONResponse(body)

    def error(self, status: int, message: str, **extra: Any) -> JSONResponse:
        """A PDF.co error body with the balance at the bottom, as every PDF.co answer has."""
        return pdfco_error(status, message, remaining_credits=self.state.remaining_credits, **extra)

    def not_enough_credits(self, needed: int) -> JSONResponse:
        """402: PDF.co's current docs use 402 for "not enough credits" (older ones said 403)."""
        return self.error(
            402,
            f"Not enough credits: this call needs {needed} credits and {self.state.remaining_credits} are left. "
            "Buy more credits at https://app.pdf.co/subscriptions",
        )

    def refuse_undocumented(self) -> JSONResponse | None:
        """Strict mode: PDF.co's 454 "invalid parameters" when a name is not documented for this endpoint.

        Names are checked in the spellings ``_pdfco_params`` accepts (the reference table's, lower case, and
        those PDF.co's own clients send); query and body alike, file parts included. The answer names each
        unknown parameter and the endpoint, never a value. None when every name is documented.
        """
        unknown = undocumented_names(self.path, [*self.params.values, *self.params.files])
        if not unknown:
            return None
        self.state.bump("undocumented_parameters", len(unknown))
        described = []
        for name in unknown:
            meant = documented_spelling(self.path, name)
            described.append(f"{name!r} (did you mean {meant!r}?)" if meant and meant != name else repr(name))
        noun = "parameter" if len(unknown) == 1 else "parameters"
        return self.error(
            454,
            f"Invalid parameters: {', '.join(described)}: not a documented {noun} of {self.path} "
            "(the emulator runs in strict mode; names are case-sensitive)",
            unknownParameters=unknown,
        )

    def not_emulated(self) -> JSONResponse:
        """400 naming a documented endpoint the emulator does not serve, with ``notEmulated: true``.

        400, not 501: a 5xx reads as "PDF.co is down, retry later" to clients, while this answer will never
        change; a 400 stops the caller at once. The message itself says it is the emulator's limit, so a client
        needs no special case to tell it from a bad request.
        """
        return self.error(400, not_served(self.path), notEmulated=True)


def not_served(path: str, detail: str | None = None) -> str:
    """The message of a ``notEmulated`` answer: the emulator's limit, said so, never the request's fault."""
    if detail is None:
        return (
            f"Not served by the PDF.co emulator: {path} is a documented PDF.co endpoint that this emulator does "
            "not implement (a limit of the emulator, not an error in the request)"
        )
    return f"Not served by the PDF.co emulator: {path}: {detail} (a limit of the emulator, not of PDF.co)"


#: PDF.co retries a callback "up to 3 times" when the receiver fails or does not answer in 20-30 s.
RETRIES = 3
_ATTEMPT_TIMEOUT = 20.0
_TICK = 0.02
_PAUSE = 0.05


async def call_back(rt: Runtime, job: Job, url: str, body_of: Callable[[Job, str], dict[str, Any]]) -> None:
    """Waits for ``job`` to end, then POSTs ``body_of(job, status)`` to ``url`` (1 attempt + ``RETRIES``)."""
    state = rt.state
    fault = state.faults.take_callback()
    delay = fault.delay if fault is not None else 0.0
    while True:
        now = state.now()
        status = job.status(now)
        if status != "working" and now >= max(job.due_at or 0.0, job.finished_at or 0.0) + delay:
            break
        await asyncio.sleep(_TICK)
    if fault is not None and fault.drop:
        state.bump("callbacks_dropped")
        return
    if not loopback_url(url):  # checked at submit too; never call out of the machine
        return
    body = body_of(job, status)
    for attempt in range(1 + RETRIES):
        state.bump("callback_attempts")
        try:
            answer = await rt.http.post(url, json=body, timeout=_ATTEMPT_TIMEOUT, follow_redirects=False)
            if answer.is_success:
                state.bump("callbacks_delivered")
                return
        except httpx.HTTPError:
            pass
        if attempt < RETRIES:
            await asyncio.sleep(_PAUSE * 2**attempt)
    state.bump("callbacks_failed")
