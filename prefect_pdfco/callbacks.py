"""PDF.co callbacks as Prefect events: per-job callback tokens, the receiver and its command line.

See docs/design/callbacks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect.events import emit_event

from prefect_pdfco._exceptions import InvalidParametersError, PdfcoError
from prefect_pdfco._util import check_number, safe_url
from prefect_pdfco.credentials import PdfcoCredentials, callback_key, shared_client, verify_token
from prefect_pdfco.models import JobResult

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["CallbackReceiver", "ReceiverLimits", "create_app", "serve"]

logger = logging.getLogger("prefect_pdfco.callbacks")

_ENDS = ("success", "succeeded"), ("failed", "failed"), ("aborted", "aborted"), ("unknown", "not-found")
EVENT_BY_STATUS = {status: f"pdfco.job.{name}" for status, name in _ENDS}
EventSink = Callable[[str, dict[str, str], dict[str, Any]], object]

_JOB_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_SEEN_CAPACITY = 100_000
_STATS = ("accepted", "replayed", "refused", "checks", "events", "handled", "peak", "busy", "header_timeouts")
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 5\r\ncontent-length: 0\r\n\r\n"
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


@dataclass(frozen=True)
class ReceiverLimits:
    """How much of a receiver one client may take (every request is treated as hostile).

    Attributes:
        max_body_bytes: Larger bodies get 413 (PDF.co's final result can carry a parsed invoice).
        body_timeout_seconds: A body still arriving after this gets 408 (PDF.co posts a small body at once).
        header_timeout_seconds: A connection still without its request line and headers this long after it opened
            (or after its last answer) gets 408 and is closed.
        max_connections: Connections held open at once; more get 503 and are closed at once.
    """

    max_body_bytes: int = 64 * 1024
    body_timeout_seconds: float = 10.0
    header_timeout_seconds: float = 10.0
    max_connections: int = 100

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParametersError("ReceiverLimits", [f"{name}: a whole number >= 1, got {value!r}"])
        for name in ("body_timeout_seconds", "header_timeout_seconds"):
            check_number(getattr(self, name), name, caller="ReceiverLimits", maximum=3600)


class _Handler:
    """The receiver's logic, shared by every request of one app."""

    def __init__(self, credentials: PdfcoCredentials, limits: ReceiverLimits, confirm: bool, emit: EventSink) -> None:
        self.credentials, self.key, self.limits = credentials, callback_key(credentials.api_key), limits
        self.confirm_all, self.emit = confirm, emit
        self.stats = dict.fromkeys(_STATS, 0)
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def handle(self, request: Request) -> Response:
        from starlette.background import BackgroundTask
        from starlette.requests import ClientDisconnect
        from starlette.responses import JSONResponse

        token = request.path_params.get("token", "")
        if request.method != "POST":
            return self._refuse(404, "not found")
        if not verify_token(self.key, token):
            return self._refuse(401, "unauthorized")
        try:
            body = await asyncio.wait_for(self._read(request), self.limits.body_timeout_seconds)
        except asyncio.TimeoutError:
            return self._refuse(408, "body too slow")
        except ClientDisconnect:
            return self._refuse(400, "incomplete body")
        parsed = None if body is None else _parse(body)
        if parsed is None:
            return self._refuse(413, "body too large") if body is None else self._refuse(400, "expected a jobId")
        if token in self._seen:  # a token is honoured once: a replay neither checks nor emits again
            self.stats["replayed"] += 1
            return JSONResponse({"status": "already received"}, status_code=200)
        self._seen[token] = None
        if len(self._seen) > _SEEN_CAPACITY:
            self._seen.popitem(last=False)
        self.stats["accepted"] += 1
        return JSONResponse({"status": "accepted"}, status_code=202, background=BackgroundTask(self._work, *parsed))

    def _refuse(self, status: int, message: str) -> Response:
        from starlette.responses import JSONResponse

        self.stats["refused"] += 1
        return JSONResponse({"error": message}, status_code=status, headers={"connection": "close"})

    async def _read(self, request: Request) -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _work(self, job_id: str, posted: dict[str, Any]) -> None:
        try:
            if not self.confirm_all:
                try:
                    result: JobResult | None = JobResult.model_validate({**posted, "jobId": job_id})
                except ValueError:
                    result = None
                if result is not None and result.status.is_terminal:
                    self._emit(result, confirmed=False)
                    return
            await self._confirm(job_id)  # confirm mode, or a body that names no final status
        finally:
            self.stats["handled"] += 1

    async def _confirm(self, job_id: str) -> None:
        self.stats["checks"] += 1
        try:
            result = await (await shared_client(self.credentials)).check(job_id)
        except PdfcoError as error:
            logger.warning("Callback for job %s: the confirming check failed: %s", job_id, type(error).__name__)
            return
        if not result.status.is_terminal:  # unknown ids read "working" too: a forged or early callback ends here
            logger.info("Callback for job %s, but a check says %s: no event", job_id, result.status.value)
            return
        self._emit(result, confirmed=True)

    def _emit(self, result: JobResult, *, confirmed: bool) -> None:
        status, until = result.status.value, result.output_link_valid_till
        event = EVENT_BY_STATUS.get(status, "pdfco.job.failed")
        payload = {
            "job_id": result.job_id,
            "status": status,
            "source": "callback",
            "confirmed": confirmed,
            "result_url": safe_url(result.url) if result.url else None,  # never the presigned query
            "pages": result.page_count,
            "output_link_valid_till": until.isoformat() if until else None,
            "message": result.message[:500] if result.message else None,
            "check_credits": result.credits,
            "remaining_credits": result.remaining_credits,
        }
        # The resource name "callback" is what the triggered deployment's automation matches on.
        resource = {"prefect.resource.id": f"pdfco.job.{result.job_id}", "prefect.resource.name": "callback"}
        try:
            self.emit(event, resource, payload)
        except Exception:
            logger.warning("Callback for job %s: could not emit %s", result.job_id, event, exc_info=True)
            return
        self.stats["events"] += 1
        logger.info("Callback for job %s: %s (%s)", result.job_id, event, "confirmed" if confirmed else "as posted")


def _parse(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """The job id and JSON object of a callback body; None when it is not one."""
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    job_id = parsed.get("jobId", parsed.get("jobid"))
    return (job_id, parsed) if isinstance(job_id, str) and _JOB_ID.match(job_id) else None


def create_app(
    credentials: PdfcoCredentials,
    *,
    confirm: bool = False,
    limits: ReceiverLimits | None = None,
    emit: EventSink | None = None,
) -> Starlette:
    """The receiver as an ASGI app with one route, ``/<token>``: to serve, or to mount in a server of your own.

    Args:
        credentials: The block whose API key made the tokens, and whose account confirms jobs.
        confirm: Check each job once (2 credits) and emit what the check says, not what PDF.co posted: for
            automations that act on the event alone. A body without a final status is always checked.
        limits: Body size and time limits (the connection limits apply where ``CallbackReceiver`` serves it).
        emit: Where events go, ``(event, resource, payload)``; Prefect's ``emit_event`` by default.

    Returns:
        A Starlette app; ``app.state.handler.stats`` counts what it did.
    """
    from starlette.applications import Starlette
    from starlette.routing import Route

    emit = emit or (lambda event, resource, payload: emit_event(event, resource=resource, payload=payload))
    handler = _Handler(credentials, limits or ReceiverLimits(), confirm, emit)
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]  # all 404 but POST, by the handler
    app = Starlette(routes=[Route("/{token}", handler.handle, methods=methods)])
    app.state.handler = handler
    return app


def _server(app: Starlette, *, cli: bool = False, **bind: Any) -> uvicorn.Server:
    """A uvicorn server for ``app`` that caps open connections and times out slow request headers."""
    import h11
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG
    from uvicorn.protocols.http.h11_impl import H11Protocol

    handler: _Handler = app.state.handler
    tally, limits = handler.stats, handler.limits

    class Guarded(H11Protocol):
        """uvicorn's h11 protocol plus what it lacks: a cap on open connections and a header deadline (#17.11)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            busy = len(self.connections) >= limits.max_connections
            super().connection_made(transport)
            self._deadline = self.loop.call_later(limits.header_timeout_seconds, self._headers_too_slow)
            if busy:
                tally["busy"] += 1
                self._close(_BUSY)  # reading stops at once: nothing of it reaches h11 or the app
            else:
                tally["peak"] = max(tally["peak"], len(self.connections))

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
                self._deadline.cancel()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                # The next request on a kept-alive connection has the same deadline.
                self._deadline = self.loop.call_later(limits.header_timeout_seconds, self._headers_too_slow)

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline.cancel()
            super().connection_lost(exc)

        def _headers_too_slow(self) -> None:
            tally["header_timeouts"] += 1
            self._close(_TOO_SLOW)

        def _close(self, answer: bytes) -> None:
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()

    ours = {"prefect_pdfco": {"handlers": ["default"], "level": "INFO", "propagate": False}}  # each outcome, once
    config = uvicorn.Config(
        app,
        http=Guarded,
        lifespan="off",
        access_log=False,  # request paths hold the tokens
        log_config={**LOGGING_CONFIG, "loggers": {**LOGGING_CONFIG["loggers"], **ours}} if cli else None,
        log_level="info" if cli else "warning",
        server_header=False,
        limit_concurrency=limits.max_connections + 1,  # the guard caps connections; this, requests still at work
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=8 * 1024,  # request line and headers: a callback's are a few hundred bytes
        **bind,
    )
    return uvicorn.Server(config)


class CallbackReceiver:
    """Serves ``create_app(...)`` with uvicorn in a background thread, as a context manager, under ``limits``.

    ``credentials.model_copy(update={"callback_url": receiver.url})`` is a block whose submits are called back here.

    Args:
        credentials: The block whose API key makes the tokens (see ``create_app``).
        host: The address to listen on.
        port: The port; 0 picks a free one.
        confirm: Check each job once before its event (see ``create_app``).
        limits: Body size, time and connection limits.
        emit: Where events go (see ``create_app``).

    Example:
        ```python
        with CallbackReceiver(PdfcoCredentials.load("BLOCK_NAME"), host="0.0.0.0", port=8085) as receiver:
            ...  # submit with callback_url = the public URL that reaches receiver.url
        ```
    """

    def __init__(
        self,
        credentials: PdfcoCredentials,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        confirm: bool = False,
        limits: ReceiverLimits | None = None,
        emit: EventSink | None = None,
    ) -> None:
        self.app = create_app(credentials, confirm=confirm, limits=limits, emit=emit)
        self.host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, ``http://<host>:<port>``."""
        if self._server is None or not self._server.started:
            raise RuntimeError("the receiver is not running: use it as a context manager")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.servers[0].sockets[0].getsockname()[1]}"

    @property
    def stats(self) -> dict[str, int]:
        """Counters: callbacks ``accepted``, ``replayed``, ``refused``; ``checks`` made; ``events`` emitted; accepted
        callbacks ``handled``; connections ``open`` now, at the ``peak``, refused as ``busy``; ``header_timeouts``."""
        held = len(self._server.server_state.connections) if self._server is not None else 0
        return {**self.app.state.handler.stats, "open": held}

    def __enter__(self) -> CallbackReceiver:
        self._server = server = _server(self.app, host=self.host, port=self._port)
        # The caller's Prefect settings (a test harness's API URL) go with the server's thread.
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started:  # uvicorn has no start event to wait on
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("the callback receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None


def serve(argv: Sequence[str] | None = None) -> None:
    """``python -m prefect_pdfco callbacks serve --block NAME``: a standalone receiver, until interrupted.

    It loads the ``PdfcoCredentials`` block from the Prefect API of the usual settings and emits its events
    there. Put it behind HTTPS (a reverse proxy) and set the block's ``callback_url`` to its public URL.

    Args:
        argv: The arguments after ``callbacks serve`` (default: the process's).
    """
    parser = argparse.ArgumentParser(prog="python -m prefect_pdfco callbacks serve", description=serve.__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8085, help="port to listen on (default 8085)")
    parser.add_argument("--block", required=True, help="name of the PdfcoCredentials block")
    parser.add_argument("--confirm", action="store_true", help="check each job once (2 credits) before its event")
    parser.add_argument("--max-connections", type=int, default=100, help="connections held open")
    parser.add_argument("--header-timeout", type=float, default=10.0, help="seconds for headers")
    args = parser.parse_args(argv)
    limits = ReceiverLimits(max_connections=args.max_connections, header_timeout_seconds=args.header_timeout)
    app = create_app(PdfcoCredentials.load(args.block), confirm=args.confirm, limits=limits)
    _server(app, cli=True, host=args.host, port=args.port).run()
