"""The Starlette application: routing, and the gauntlet every API call runs.

Order for an API call: count it, consume a scripted fault (delay and/or replacement answer), check the API
key (401), the rate limit (429), the 4 MB body cap (413), read the parameters, refuse undocumented parameter
names in strict mode (454), then dispatch; a fault that ``takes_effect`` replaces the answer only then. File
links (``/pdf-temp-files/...``) skip the API gauntlet: like S3, they need no key. ``/__emulator__/...`` is the
control API for standalone mode and needs no key either.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ._api import balance, check_job, run_processing
from ._catalogue import DOCUMENTED_ENDPOINTS, DOCUMENTED_PREFIXES
from ._faults import ResponseFault
from ._files import count_link_request, file_endpoint, serve_link
from ._http import Call, Runtime, pdfco_error
from ._params import ParamError, parse_params
from ._processing import EMULATED_ENDPOINTS
from ._s3 import LINK_PREFIX
from ._state import EmulatorState

__all__ = ["MAX_REQUEST_BYTES", "RATE_LIMIT_MESSAGE", "build_app"]

logger = logging.getLogger("pdfco_emulator")

#: PDF.co refuses API requests over 4 MB (https://developer.pdf.co/api/account-info/index.html, footnote 3);
#: large inputs go in by URL.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: PDF.co's 429 body, word for word (https://support.bytescout.com/hc/en-us/articles/11540153138707). It has no
#: ``status`` and no ``remainingCredits``.
RATE_LIMIT_MESSAGE = "Too many requests (limit by your current plan). Please try again later"


# The invoice parser's docs page shows ``POST /ai-invoice-parser``; PDF.co's own clients use ``/v1/...``.
_ALIASES = {"/ai-invoice-parser": "/v1/ai-invoice-parser"}


def api_path(raw: str) -> str:
    """The key a request path is counted and routed by: lower case, no trailing slash, aliases resolved."""
    path = "/" + raw.strip("/").lower()
    return _ALIASES.get(path, path)


async def _read_body(request: Request) -> tuple[bytes, bool]:
    # Read (and past the cap, drain and drop) the whole body before answering: answering while the client
    # still writes would break its connection instead of giving it the 413.
    chunks: list[bytes] = []
    size, too_big = 0, False
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            too_big, chunks = True, []
        elif not too_big:
            chunks.append(chunk)
    return b"".join(chunks), too_big


class _HangUp(Response):
    """Sends the status line and headers (announcing a body), then returns: uvicorn closes the connection, so
    the client sees the answer cut off, as when a connection drops mid-answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})


def scripted_response(fault: ResponseFault) -> Response:
    """The answer a response fault scripts."""
    headers = dict(fault.headers)
    if fault.drop:
        return _HangUp(status_code=fault.status, headers={**headers, "Content-Length": "64"})
    if fault.json is not None:
        return JSONResponse(fault.json, status_code=fault.status, headers=headers)
    if fault.body is not None:
        return Response(
            fault.body, status_code=fault.status, headers=headers, media_type=fault.content_type or "text/plain"
        )
    if fault.status == 429:
        return JSONResponse({"error": True, "message": RATE_LIMIT_MESSAGE}, status_code=429, headers=headers)
    body = {"error": fault.status >= 400, "status": fault.status, "message": f"Injected fault: HTTP {fault.status}"}
    return JSONResponse(body, status_code=fault.status, headers=headers)


async def _dispatch(call: Call) -> Response:
    if call.path == "/v1/job/check":
        return check_job(call)
    if call.path == "/v1/account/credit/balance":
        return balance(call)
    if call.path.startswith("/v1/file/"):
        answer = await file_endpoint(call)
        if answer is not None:
            return answer
    if call.path in EMULATED_ENDPOINTS:
        return await run_processing(call)
    if call.path in DOCUMENTED_ENDPOINTS or call.path.startswith(DOCUMENTED_PREFIXES):
        return call.not_emulated()
    return call.error(404, f"Not found: {call.path} is not a PDF.co API endpoint")


def build_app(state: EmulatorState) -> Starlette:
    """The emulator's ASGI application over ``state``."""
    rt = Runtime(state)

    async def api(request: Request) -> Response:
        path = api_path(request.url.path)
        body, too_big = await _read_body(request)
        state.count_request(path)
        fault = state.faults.take_response(path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.scripted and not fault.takes_effect:
                state.bump("faults_served")
                return scripted_response(fault)
        answer = await answer_api(request, path, body, too_big)
        if fault is not None and fault.scripted:  # takes_effect: the call did its work, its answer is lost
            state.bump("faults_served")
            return scripted_response(fault)
        return answer

    async def answer_api(request: Request, path: str, body: bytes, too_big: bool) -> Response:
        key = request.headers.get("x-api-key") or request.query_params.get("x-api-key")
        if key != state.config.api_key:
            state.bump("unauthorized")
            return pdfco_error(401, "Unauthorized: the API key is missing or invalid. Send it in the x-api-key header.")
        if not state.allow_request(state.config.api_key):
            state.bump("rate_limited")
            retry = state.config.retry_after
            headers = {"Retry-After": f"{retry:g}"} if retry is not None else None
            return JSONResponse({"error": True, "message": RATE_LIMIT_MESSAGE}, status_code=429, headers=headers)
        if too_big:
            return pdfco_error(
                413,
                "Request is too large: PDF.co accepts API requests up to 4 MB. Upload big files with "
                "/v1/file/upload/get-presigned-url and pass their url instead.",
                remaining_credits=state.remaining_credits,
            )
        try:
            params = parse_params(request.query_params, request.headers.get("content-type", ""), body)
        except ParamError as error:
            return pdfco_error(400, str(error), remaining_credits=state.remaining_credits)
        call = Call(rt, request, path, params)
        if state.config.strict and (refusal := call.refuse_undocumented()) is not None:
            return refusal
        return await _dispatch(call)

    async def links(request: Request) -> Response:
        # Counted before any scripted fault: a key sent to a link must be seen even when the answer is scripted.
        count_link_request(state, request)
        fault = state.faults.take_response(request.url.path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.scripted:
                state.bump("faults_served")
                return scripted_response(fault)
        return await serve_link(state, request)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.reset()
            return JSONResponse({"ok": True, "pending_faults": state.faults.pending()})
        if request.method == "GET":
            return JSONResponse({"pending_faults": state.faults.pending()})
        try:
            payload: Any = json.loads(await request.body() or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            kind = payload.get("kind", "response")
            if kind == "job_duration":
                state.set_job_duration(float(payload["seconds"]), payload.get("path"))
            elif kind == "clock":
                state.advance_clock(float(payload["seconds"]))
            elif kind == "remote_file":
                content = base64.b64decode(str(payload["content_base64"]), validate=True)
                state.add_remote_file(str(payload["url"]), content, payload.get("content_type"))
            else:
                state.faults.add_from_json(payload)
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            return JSONResponse({"error": True, "status": 400, "message": str(error)}, status_code=400)
        return JSONResponse({"ok": True, "pending_faults": state.faults.pending()})

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for task in list(rt.tasks):
                task.cancel()
            await asyncio.gather(*rt.tasks, return_exceptions=True)
            await rt.http.aclose()

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/__emulator__/faults", faults, methods=["GET", "POST", "DELETE"]),
            Route("/__emulator__/stats", stats, methods=["GET"]),
            Route(LINK_PREFIX + "{key:path}", links, methods=["GET", "HEAD", "PUT"]),
            Route("/{path:path}", api, methods=methods),
        ],
        lifespan=lifespan,
    )
