"""``PdfcoEmulator``: the emulator's server, on uvicorn in a background thread, and its Python control API."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import uvicorn

from ._app import build_app
from ._faults import JobOutcome
from ._inputs import is_loopback
from ._state import EmulatorConfig, EmulatorState

__all__ = ["STRICT_ENV", "PdfcoEmulator"]

#: Environment variable read when ``strict`` is not given: ``0``, ``false``, ``no`` or ``off`` make emulators
#: lenient, anything else (or nothing) leaves them strict. It reaches emulators started in subprocesses too.
STRICT_ENV = "PDFCO_EMULATOR_STRICT"

_DROP_MESSAGE = "ASGI callable returned without completing response."


class _QuietDrops(logging.Filter):
    """Hides uvicorn's error line for the connections the emulator drops on purpose (download faults)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_MESSAGE


def _quiet_drops() -> None:
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _QuietDrops) for existing in uvicorn_logger.filters):
        uvicorn_logger.addFilter(_QuietDrops())


def strict_from_env() -> bool:
    """Strict unless ``PDFCO_EMULATOR_STRICT`` says ``0``, ``false``, ``no`` or ``off``."""
    return os.environ.get(STRICT_ENV, "").strip().lower() not in ("0", "false", "no", "off")


def _bind_address(host: str) -> tuple[socket.AddressFamily, str]:
    if not is_loopback(host):
        raise ValueError(f"host must be a loopback address (127.0.0.1, ::1 or localhost), not {host!r}")
    name = host.strip("[]")
    if name.lower() == "localhost":
        return socket.AF_INET, "127.0.0.1"
    family = socket.AF_INET6 if ipaddress.ip_address(name).version == 6 else socket.AF_INET
    return family, name


class PdfcoEmulator:
    """A local, PDF.co-compatible HTTP server for tests and offline work.

    It really processes documents, keeps jobs, credits and expiring signed result links, and injects faults
    on demand. It serves on ``http://127.0.0.1:<port>`` from a background thread (Starlette on uvicorn).
    Point any PDF.co client at ``base_url`` (instead of ``https://api.pdf.co``) with ``api_key``.

    Args:
        api_key: The only API key accepted (``x-api-key`` header, or the ``x-api-key`` query parameter the
            older docs allow).
        credits: The account's starting balance.
        job_duration: Seconds an async job stays ``working`` (override per endpoint with
            ``set_job_duration``, per request with the ``x-emulator-job-duration`` header). A job of 0 seconds
            is done when its submit answers.
        rate_limit: Requests per second per key (None: unlimited); excess calls get PDF.co's 429.
        link_ttl: Lifetime of result and upload links in seconds (whole seconds, like ``X-Amz-Expires``);
            PDF.co's ``expiration`` parameter (minutes) overrides it per call.
        retry_after: When set, 429 answers carry ``Retry-After: <seconds>``. PDF.co documents none, so the
            default sends none.
        port: The port to listen on; 0 picks a free one.
        host: The loopback address to listen on (``127.0.0.1``, another 127.x address, ``::1``); anything else
            is refused: the emulator is for this machine only.
        link_host: The host name in file links. ``localhost`` by default, so links are on a different host
            than the API (``127.0.0.1``) as PDF.co's S3 links are: a client that sends its API key to result
            links is caught (``stats()["result_link_requests_with_api_key"]``). Set ``"127.0.0.1"`` where
            ``localhost`` does not resolve to 127.0.0.1.
        strict: Refuse parameter names PDF.co does not document for the endpoint, with PDF.co's 454 "invalid
            parameters" (HTTP 400, ``errorCode`` 454, ``unknownParameters``), letter case included: the
            reference tables' spelling, the lower-case one of PDF.co's OpenAPI description, and the spellings
            PDF.co's own clients send are accepted. On by default; ``False`` ignores unknown names, as PDF.co
            may. None reads ``PDFCO_EMULATOR_STRICT`` (strict unless it says ``0``/``false``).

    Example:
        ```python
        import httpx
        from pdfco_emulator import PdfcoEmulator

        with PdfcoEmulator(api_key="test-key", credits=1000, job_duration=0.1) as emu:
            answer = httpx.get(f"{emu.base_url}/v1/account/credit/balance", headers={"x-api-key": emu.api_key})
            assert answer.json() == {"remainingCredits": 1000}
        ```
    """

    def __init__(
        self,
        api_key: str = "test-key",
        credits: int = 100_000,
        job_duration: float = 0.5,
        rate_limit: float | None = None,
        link_ttl: float = 3600,
        *,
        retry_after: float | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        link_host: str | None = None,
        strict: bool | None = None,
    ) -> None:
        if rate_limit is not None and rate_limit <= 0:
            raise ValueError("rate_limit must be positive (or None for no limit)")
        if job_duration < 0:
            raise ValueError("job_duration must be >= 0")
        self._family, self._host = _bind_address(host)
        default_link_host = "localhost" if self._family == socket.AF_INET else f"[{self._host}]"
        self.api_key = api_key
        self._config = EmulatorConfig(
            api_key=api_key,
            credits=credits,
            job_duration=job_duration,
            rate_limit=rate_limit,
            link_ttl=link_ttl,
            retry_after=retry_after,
            link_host=link_host or default_link_host,
            strict=strict_from_env() if strict is None else strict,
        )
        self._port = port
        self._state: EmulatorState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> PdfcoEmulator:
        """Starts serving; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        # IPPROTO_TCP stated: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it every
        # answer on a reused connection waits ~40 ms (Nagle against the client's delayed ACK).
        sock = socket.socket(self._family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        state = EmulatorState(self._config, port)
        config = uvicorn.Config(
            build_app(state),
            log_config=None,  # leave the host application's logging alone
            log_level="warning",
            access_log=False,
            lifespan="on",
            loop="asyncio",
            ws="none",
            timeout_graceful_shutdown=2,
            # Idle connections outlive httpx's 5 s pool expiry, as behind a real load balancer (60 s and more):
            # with uvicorn's 5 s the server could close a pooled connection just as a client reuses it.
            timeout_keep_alive=30,
        )
        server = uvicorn.Server(config)
        _quiet_drops()
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"pdfco-emulator-{port}", daemon=True
        )
        self._state, self._server, self._thread, self._socket = state, server, thread, sock
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the PDF.co emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stops serving and deletes every file it holds. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None and thread.is_alive():
            thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        if self._state is not None:
            self._state.store.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> PdfcoEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._thread is not None else "stopped"
        return f"PdfcoEmulator({where}{', strict' if self.strict else ', lenient'})"

    @property
    def strict(self) -> bool:
        """Whether undocumented parameter names are refused (see ``strict`` above)."""
        return self._config.strict

    # --- what clients need -------------------------------------------------------------------------------
    @property
    def _live(self) -> EmulatorState:
        if self._state is None:
            raise RuntimeError("the emulator is not running: use it as a context manager or call start()")
        return self._state

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._live.signer.port

    @property
    def base_url(self) -> str:
        """The API root to give clients instead of ``https://api.pdf.co``: ``http://127.0.0.1:<port>``."""
        host = f"[{self._host}]" if self._family == socket.AF_INET6 else self._host
        return f"http://{host}:{self.port}"

    @property
    def link_base_url(self) -> str:
        """The origin of file links, ``http://<link_host>:<port>``."""
        return self._live.signer.origin

    def stats(self) -> dict[str, Any]:
        """Counters since start.

        Keys: ``requests`` ({API path: count}, every call to an API path whatever its answer; file links
        and ``/__emulator__`` are not counted there), ``jobs_submitted`` (async jobs created),
        ``sync_calls`` (sync processing calls that succeeded), ``credits_used`` (net of refunds),
        ``credits_refunded``, ``job_checks`` (billed job checks), ``remaining_credits``,
        ``result_link_requests`` (GET/HEAD on file links), ``result_link_requests_with_api_key`` (those
        carrying an ``x-api-key`` header: a client should never send one), ``presigned_put_requests`` and
        ``presigned_put_requests_with_api_key``, ``uploads`` (files stored by any upload route),
        ``rate_limited`` (429s), ``unauthorized`` (401s), ``undocumented_parameters`` (names strict mode
        refused), ``faults_served`` (scripted answers sent), ``downloads_dropped``, ``remote_fetches``
        (inputs served from ``add_remote_file``), ``callback_attempts`` (callback POSTs made),
        ``callbacks_delivered`` (answered 2xx), ``callbacks_failed`` (every retry spent), ``callbacks_dropped``
        (lost by a fault), ``callbacks_not_sent`` (to receivers off this machine, which the emulator never
        calls), ``jobs`` ({status: count} now), ``jobs_by_name`` ({output ``name``: async jobs created}: give
        each document its own name to see how many jobs, so how many bills, it got) and ``pending_faults``
        ({kind: uses left}).
        """
        return self._live.stats()

    def add_remote_file(self, url: str, content: bytes, *, content_type: str | None = None) -> None:
        """Serves ``content`` wherever a request names ``url`` as an input, without leaving the machine.

        PDF.co fetches any public link; the emulator fetches only loopback ones. Code under test that passes
        fixed links (``https://example.com/invoice.pdf``, a bucket, a demo file) runs unchanged once each link
        is given its content here. The URL matches exactly (a ``cache:`` prefix aside); ``filetoken://`` links
        of PDF.co's Built-In Files Storage can be given content the same way.

        Args:
            url: The http(s) or ``filetoken://`` link as the client sends it.
            content: What fetching it returns.
            content_type: Its Content-Type (guessed from the name when None).
        """
        self._live.add_remote_file(url, content, content_type)

    # --- fault injection ---------------------------------------------------------------------------------
    def inject(
        self,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        drop: bool = False,
        takes_effect: bool = False,
    ) -> None:
        """Scripts the answer to the next ``times`` calls to an API path.

        The scripted answer replaces the real one entirely: a scripted answer to a submit creates no job
        and bills nothing, unless ``takes_effect``. With only ``delay`` (no status, json, body or drop), the
        call sleeps and then gets its real answer, which is how to provoke a client read timeout on a call that
        still takes effect.

        Args:
            path: The API path, e.g. ``"/v1/job/check"`` (``"pdf/merge"`` means ``/v1/pdf/merge``);
                ``"/pdf-temp-files"`` scripts the answer of file links.
            status: The HTTP status. Alone, it comes with a PDF.co-style JSON error body (PDF.co's own 429
                body for 429).
            json: A JSON body (e.g. ``{"error": True, "status": 441, ...}`` with ``status=200`` for an error
                inside a 200).
            body: A raw body (str or bytes) for non-JSON answers, e.g. a proxy's HTML error page.
            content_type: The Content-Type of ``body`` (``text/plain`` by default).
            delay: Seconds to wait before answering.
            times: How many calls this applies to.
            headers: Extra response headers (e.g. ``{"Retry-After": "2"}``).
            drop: Hang up instead of answering: the status line and headers go out, then the connection closes
                before the body (httpx raises ``RemoteProtocolError``), as when a connection drops mid-answer.
            takes_effect: Run the real call first (a submit creates and bills its job), then send the scripted
                answer or drop instead of its answer: PDF.co did the work and the answer was lost.

        Raises:
            ValueError: Nothing to inject, or contradictory options.
        """
        self._live.faults.add_response(
            path, status=status, json=json, body=body, content_type=content_type, delay=delay, times=times,
            headers=headers, drop=drop, takes_effect=takes_effect,
        )  # fmt: skip

    def inject_job_outcome(self, outcome: JobOutcome, *, message: str | None = None, times: int = 1) -> None:
        """Decides how the next ``times`` async jobs end, whatever their input.

        Args:
            outcome: ``"failed"`` (with ``message``), ``"aborted"``, or ``"never"`` (stays ``working`` for ever;
                a forced check says ``working`` too).
            message: The job-check ``message`` for failed and aborted jobs.
            times: How many jobs this applies to.
        """
        self._live.faults.add_job(outcome, message=message, times=times)

    def inject_download_drop(self, after_bytes: int, *, times: int = 1) -> None:
        """Makes the next ``times`` file-link downloads send ``after_bytes`` bytes, then drop the connection.

        The answer declares the full ``Content-Length`` (or range), so the client sees a truncated body:
        httpx raises ``RemoteProtocolError``. A later ``Range`` request can resume.
        """
        self._live.faults.add_download(after_bytes, times=times)

    def inject_callback(self, *, drop: bool = False, delay: float = 0.0, times: int = 1) -> None:
        """Loses (``drop``) or delays the callbacks of the next ``times`` jobs submitted with a ``callback``.

        ``delay`` counts on the emulator's clock: the callback goes out once ``advance_clock`` (or time) has
        moved ``delay`` seconds past the job's end.
        """
        self._live.faults.add_callback(drop=drop, delay=delay, times=times)

    def reset_faults(self) -> None:
        """Drops every pending fault (not job-duration overrides)."""
        self._live.faults.reset()

    def set_job_duration(self, seconds: float, *, path: str | None = None) -> None:
        """Sets how long async jobs submitted from now on stay ``working``: for one endpoint, or all.

        A request can also set its own with the ``x-emulator-job-duration: <seconds>`` header, which wins.
        """
        self._live.set_job_duration(seconds, path)

    def advance_clock(self, seconds: float) -> None:
        """Moves the emulator's clock forward: links expire and jobs come due without waiting."""
        self._live.advance_clock(seconds)
