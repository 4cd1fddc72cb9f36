"""The callback receiver: PDF.co's POST at ``<base>/<token>`` in, one Prefect event out.

Every request is treated as hostile, since the receiver is reachable from the internet by design:

- only ``POST <base>/<token>`` with a token this block made (``tokens.verify_token``) is read; any other method
  or path is 404, a bad token 401, and none of them costs a check or emits anything;
- bodies are capped (64 KB by default: PDF.co's final result can carry the parsed invoice), must arrive within
  ``BODY_TIMEOUT_SECONDS`` and be a JSON object with a job id; anything else is 413, 408 or 400;
- a token is honoured once: tokens already seen are kept in a bounded in-memory set, so a replay neither checks
  nor emits again. A restarted receiver has forgotten them and may emit a replayed token's event once more.

The answer (202) goes out at once; the event follows. What it says depends on ``confirm``:

- ``confirm=False`` (the default): the status, pages and link expiry PDF.co posted, with ``"confirmed":
  false``, and no job check. The token shows that the POST came to a URL only PDF.co was given; what reads the
  event must check the job anyway for the presigned link (which events never carry), so that check is the
  confirmation: a waiting ``wait_for_job`` and the triggered flow each make exactly one, and a job ends for 2
  credits in all. A body without a recognisable final status is confirmed by a check instead.
- ``confirm=True``: one ``/v1/job/check`` first (2 credits more per job), and the event says what the check
  says, with ``"confirmed": true``. For automations that act on the event alone (a notification), since PDF.co
  signs nothing and documents the callback body for the AI invoice parser only. An unknown job id reads
  ``working``: no event.

Starlette and uvicorn (the ``emulator`` extra) are imported only when a receiver is built, so importing the
package never needs them.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import socket
import threading
import time
from collections import OrderedDict
from types import TracebackType
from typing import TYPE_CHECKING, Any

from prefect.events import emit_event

from prefect_pdfco._apipool import shared_client
from prefect_pdfco._redact import safe_url
from prefect_pdfco.callbacks.tokens import callback_key, verify_token
from prefect_pdfco.exceptions import PdfcoError
from prefect_pdfco.models import JobResult

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["DEFAULT_MAX_BODY_BYTES", "EVENT_BY_STATUS", "CallbackReceiver", "create_app"]

logger = logging.getLogger("prefect_pdfco.callbacks")

DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: The job events the library emits today (``prefect_pdfco.ui.artifacts``), by the status a check reports.
EVENT_BY_STATUS = {
    "success": "pdfco.job.succeeded",
    "failed": "pdfco.job.failed",
    "aborted": "pdfco.job.aborted",
    "unknown": "pdfco.job.not-found",
}
_JOB_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_SEEN_CAPACITY = 100_000
_MESSAGE_CHARS = 500
#: PDF.co posts a small JSON body at once: a body still arriving after this long is a slow-drip attack (408).
BODY_TIMEOUT_SECONDS = 10.0


class _Handler:
    """The receiver's logic, shared by every request of one app."""

    def __init__(self, credentials: PdfcoCredentials, max_body_bytes: int, confirm: bool) -> None:
        if max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        self.credentials = credentials
        self.confirm_all = confirm
        self.key = callback_key(credentials.api_key)
        self.max_body_bytes = max_body_bytes
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.checks = 0
        self.events = 0
        self.handled = 0

    def first_use(self, token: str) -> bool:
        """Records ``token``; False when it was seen already (the oldest are forgotten past the capacity)."""
        with self._lock:
            if token in self._seen:
                return False
            self._seen[token] = None
            if len(self._seen) > _SEEN_CAPACITY:
                self._seen.popitem(last=False)
            return True

    async def handle(self, request: Request) -> Response:
        """Answers one request (see the module docstring)."""
        from starlette.background import BackgroundTask
        from starlette.responses import JSONResponse

        if request.method != "POST":
            return JSONResponse({"error": "not found"}, status_code=404)
        if not verify_token(self.key, request.path_params.get("token", "")):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            body = await asyncio.wait_for(self._read(request), BODY_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            return JSONResponse({"error": "body too slow"}, status_code=408)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        parsed = _parse(body)
        if parsed is None:
            return JSONResponse({"error": "expected a JSON object with a jobId"}, status_code=400)
        if not self.first_use(request.path_params["token"]):
            return JSONResponse({"status": "already received"}, status_code=200)
        job_id, posted = parsed
        return JSONResponse(
            {"status": "accepted"}, status_code=202, background=BackgroundTask(self.work, job_id, posted)
        )

    async def _read(self, request: Request) -> bytes | None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def work(self, job_id: str, posted: dict[str, Any]) -> None:
        """What follows the answer to an accepted callback."""
        try:
            await (self.confirm(job_id) if self.confirm_all else self.announce(job_id, posted))
        finally:
            self.handled += 1

    async def announce(self, job_id: str, posted: dict[str, Any]) -> None:
        """The event of what PDF.co posted, unconfirmed; a check instead when the body names no final status."""
        try:
            result = JobResult.model_validate({**posted, "jobId": job_id})
        except ValueError:
            result = None
        if result is None or not result.status.is_terminal:
            await self.confirm(job_id)
            return
        emit_job_event(result, confirmed=False)
        self.events += 1

    async def confirm(self, job_id: str) -> None:
        """One job check; an event when it says the job ended."""
        self.checks += 1
        try:
            async with shared_client(self.credentials) as client:
                result = await client.check_job(job_id)
        except PdfcoError as error:
            logger.warning("Callback for job %s: the confirming check failed: %s", job_id, type(error).__name__)
            return
        if not result.status.is_terminal:
            # Unknown ids read "working" too: a forged or early callback ends here.
            logger.info("Callback for job %s, but a check says %s: no event", job_id, result.status.value)
            return
        emit_job_event(result, confirmed=True)
        self.events += 1


def _parse(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """The job id and the JSON object of a callback body; None when it is not one."""
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    job_id = parsed.get("jobId", parsed.get("jobid"))
    return (job_id, parsed) if isinstance(job_id, str) and _JOB_ID.match(job_id) else None


def emit_job_event(result: JobResult, *, confirmed: bool) -> None:
    """Emits the library's job event for a result (no secrets: the result link without its query).

    Args:
        result: What a job check said (``confirmed``), or what PDF.co posted.
        confirmed: Whether a job check made the result, rather than the callback's body.
    """
    status = result.status.value
    valid_till = result.output_link_valid_till
    emit_event(
        EVENT_BY_STATUS.get(status, "pdfco.job.failed"),
        resource={"prefect.resource.id": f"pdfco.job.{result.job_id}", "prefect.resource.name": "callback"},
        payload={
            "job_id": result.job_id,
            "status": status,
            "source": "callback",
            "confirmed": confirmed,
            "result_url": safe_url(result.url) if result.url else None,
            "pages": result.page_count,
            "output_link_valid_till": valid_till.isoformat() if valid_till else None,
            "message": result.message[:_MESSAGE_CHARS] if result.message else None,
            "check_credits": result.credits,
            "remaining_credits": result.remaining_credits,
        },
    )


def create_app(
    credentials: PdfcoCredentials, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, confirm: bool = False
) -> Starlette:
    """The receiver as an ASGI app, to serve or mount (its routes: ``/<token>``) in an existing server.

    Args:
        credentials: The block whose API key made the tokens and whose account confirms the jobs.
        max_body_bytes: The largest body read; larger ones get 413.
        confirm: Check each job once (2 credits) before its event, instead of passing on what PDF.co posted
            (see the module docstring).
    """
    from starlette.applications import Starlette
    from starlette.routing import Route

    handler = _Handler(credentials, max_body_bytes, confirm)
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(routes=[Route("/{token}", handler.handle, methods=methods)])
    app.state.handler = handler
    return app


class CallbackReceiver:
    """Serves ``create_app(credentials)`` on uvicorn in a background thread; use it as a context manager.

    ``credentials.model_copy(update={"callback_url": receiver.url})`` is then the block that submits with
    callbacks to it.

    Args:
        credentials: See ``create_app``.
        host: The address to listen on.
        port: The port; 0 picks a free one.
        max_body_bytes, confirm: See ``create_app``.
    """

    def __init__(
        self,
        credentials: PdfcoCredentials,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        confirm: bool = False,
    ) -> None:
        self.app = create_app(credentials, max_body_bytes=max_body_bytes, confirm=confirm)
        self.host, self._port = host, port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """The base URL, ``http://<host>:<port>``."""
        if self._socket is None:
            raise RuntimeError("the receiver is not running: use it as a context manager")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._socket.getsockname()[1]}"

    @property
    def checks(self) -> int:
        """Job checks made so far."""
        return int(self.app.state.handler.checks)

    @property
    def events(self) -> int:
        """Events emitted so far."""
        return int(self.app.state.handler.events)

    @property
    def handled(self) -> int:
        """Accepted callbacks whose work (check, event) is done."""
        return int(self.app.state.handler.handled)

    def __enter__(self) -> CallbackReceiver:
        import uvicorn

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        config = uvicorn.Config(self.app, log_config=None, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        # The caller's Prefect settings (a test harness's API URL) go with the server's thread.
        run = contextvars.copy_context().run
        thread = threading.Thread(target=run, args=(server.run,), kwargs={"sockets": [sock]}, daemon=True)
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the callback receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
