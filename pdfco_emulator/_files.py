"""Upload endpoints (``/v1/file/...``) and the S3-like links that serve and receive files."""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._api import iso, link_lifetime
from ._http import Call
from ._inputs import InputError, fetch_input
from ._s3 import LINK_PREFIX, s3_error
from ._state import EmulatorState
from ._store import StoredFile, safe_name

__all__ = ["PRESIGNED_PUT_TTL", "file_endpoint", "serve_link"]

#: Presigned upload URLs expire after 900 s, like PDF.co's examples (``X-Amz-Expires=900``).
PRESIGNED_PUT_TTL = 900
_CHUNK = 64 * 1024
_OCTET = "application/octet-stream"


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or _OCTET


def _uploaded(call: Call, entry: StoredFile, **extra: Any) -> Response:
    call.state.bump("uploads")
    url, valid_till = call.state.signer.sign(entry.key, now=call.state.now(), lifetime=link_lifetime(call))
    body: dict[str, Any] = {"url": url, "error": False, "status": 200, "name": entry.name}
    body.update(extra)
    body.update(
        outputLinkValidTill=iso(valid_till), remainingCredits=call.state.remaining_credits, duration=call.duration()
    )
    return call.ok(body)


def _presigned(call: Call) -> Response:
    state = call.state
    name = call.params.text("name")
    if name is None:
        return call.error(400, "Parameter 'name' is required")
    content_type = call.params.text("contenttype") or _OCTET
    entry = state.store.reserve(name, content_type)
    now = state.now()
    put_url, _ = state.signer.sign(
        entry.key, now=now, lifetime=PRESIGNED_PUT_TTL, method="PUT", content_type=content_type
    )
    url, valid_till = state.signer.sign(entry.key, now=now, lifetime=link_lifetime(call))
    # The fields of the reference's response table (https://docs.pdf.co/api-reference/file-upload/generate-presigned-url),
    # in its order; its example shows the first six. The API tester's generic "status: success" example is not
    # this endpoint's: the reference is the newer, specific page.
    return call.ok(
        {
            "presignedUrl": put_url,
            "url": url,
            "outputLinkValidTill": iso(valid_till),
            "error": False,
            "status": 200,
            "name": entry.name,
            "credits": 0,
            "remainingCredits": state.remaining_credits,
            "duration": call.duration(),
        }
    )


async def _base64(call: Call) -> Response:
    raw = call.params.get("file")
    if not isinstance(raw, str) or not raw.strip():
        return call.error(400, "Parameter 'file' is required (base64 data or a data: URI)")
    data, content_type = raw.strip(), None
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        content_type = header[len("data:") :].split(";", 1)[0] or None
    try:
        content = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return call.error(400, "Parameter 'file' is not valid base64")
    name = safe_name(call.params.text("name"))
    content_type = content_type or _guess_type(name)
    entry = await run_in_threadpool(call.state.store.add_bytes, name, content, content_type, now=call.state.now())
    return _uploaded(call, entry, credits=0)


async def _from_url(call: Call) -> Response:
    url = call.params.text("url")
    if url is None:
        return call.error(400, "Parameter 'url' is required")
    user = call.params.text("httpusername")
    auth = (user, str(call.params.get("httppassword") or "")) if user else None
    try:
        item = await fetch_input(call.state, call.rt.http, url, auth)
    except InputError as error:
        return call.error(error.status, error.message)
    name = safe_name(call.params.text("name") or item.name)
    content_type = item.content_type or _guess_type(name)
    entry = await run_in_threadpool(call.state.store.add_bytes, name, item.content, content_type, now=call.state.now())
    return _uploaded(call, entry)


async def _multipart(call: Call) -> Response:
    part = next((p for k, p in call.params.files.items() if k.lower() == "file"), None)
    if part is None:
        return call.error(400, "A multipart/form-data field 'file' is required")
    name = safe_name(call.params.text("name") or part.filename)
    content_type = part.content_type if part.content_type != "text/plain" else _guess_type(name)
    entry = await run_in_threadpool(call.state.store.add_bytes, name, part.content, content_type, now=call.state.now())
    return _uploaded(call, entry)


def _own_key(call: Call, url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.port != call.state.signer.port or not parts.path.startswith(LINK_PREFIX):
        return None
    return unquote(parts.path[len(LINK_PREFIX) :])


def _delete(call: Call) -> Response:
    url = call.params.text("url")
    if url is None:
        return call.error(400, "Parameter 'url' is required")
    key = _own_key(call, url)
    if key is None:
        return call.error(400, "The url is not a temporary file of this account")
    call.state.store.delete(key)  # deleting twice is fine, as on S3
    return call.ok({"error": False, "status": 200, "message": "Success", "credits": 0, "duration": call.duration()})


async def _hash(call: Call) -> Response:
    url = call.params.text("url")
    if url is None:
        return call.error(400, "Parameter 'url' is required")
    try:
        item = await fetch_input(call.state, call.rt.http, url)
    except InputError as error:
        return call.error(error.status, error.message)
    digest = hashlib.md5(item.content).hexdigest()  # noqa: S324 - the endpoint is documented as MD5
    return call.ok({"hash": digest, "error": False, "status": 200, "credits": 0, "duration": call.duration()})


async def file_endpoint(call: Call) -> Response | None:
    """Answers ``/v1/file/...``; None for other paths."""
    if call.path == "/v1/file/upload/get-presigned-url":
        return _presigned(call)
    if call.path == "/v1/file/upload/base64":
        return await _base64(call)
    if call.path == "/v1/file/upload/url":
        return await _from_url(call)
    if call.path == "/v1/file/upload":
        return await _multipart(call)
    if call.path == "/v1/file/delete":
        return _delete(call)
    if call.path == "/v1/file/hash":
        return await _hash(call)
    return None


# --- the links ---------------------------------------------------------------------------------------------


class _FileStream(Response):
    """Streams part of a file from disk; with ``drop_after`` it sends that many bytes and hangs up.

    The headers announce the full length, so a client sees the body end early: httpx raises
    ``RemoteProtocolError`` (or ``ReadError``). Returning without the final ASGI message makes uvicorn close
    the connection, which is exactly a dropped download.
    """

    def __init__(
        self, entry: StoredFile, start: int, length: int, status: int, headers: dict[str, str], *,
        head: bool, drop_after: int | None,
    ) -> None:  # fmt: skip
        super().__init__(status_code=status, headers=headers, media_type=entry.content_type)
        self.file_path = entry.path
        self.start, self.length, self.head, self.drop_after = start, length, head, drop_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self.head or self.file_path is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        remaining, sent = self.length, 0
        async with await anyio.open_file(self.file_path, "rb") as handle:
            await handle.seek(self.start)
            while remaining > 0:
                chunk = await handle.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                if self.drop_after is not None and sent + len(chunk) >= self.drop_after:
                    part = chunk[: self.drop_after - sent]
                    await send({"type": "http.response.body", "body": part, "more_body": True})
                    return  # no final message: uvicorn closes the connection mid-body
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
                remaining -= len(chunk)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """``(start, end)`` inclusive, None to send the whole file, "invalid" for a 416."""
    if not header or not header.strip().lower().startswith("bytes=") or "," in header:
        return None  # S3 ignores what it does not understand (and multi-ranges) and sends everything
    spec = header.strip()[len("bytes=") :].strip()
    first, sep, last = spec.partition("-")
    if not sep:
        return None
    try:
        if not first:  # bytes=-N, the last N bytes
            count = int(last)
            return "invalid" if count <= 0 or size == 0 else (max(0, size - count), size - 1)
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        return "invalid"
    if end < start:
        return None
    return start, min(end, size - 1)


def count_link_request(state: EmulatorState, request: Request) -> None:
    """Counts a request to a file link, and whether it carried an API key (a client should never send it)."""
    kind = "presigned_put_requests" if request.method == "PUT" else "result_link_requests"
    state.bump(kind)
    if "x-api-key" in request.headers:
        state.bump(f"{kind}_with_api_key")


async def serve_link(state: EmulatorState, request: Request) -> Response:
    """GET/HEAD/PUT on ``/pdf-temp-files/<key>``: the S3 side of the emulator (no API key needed)."""
    method = request.method
    # scope["path"] is already percent-decoded (request.url.path would be decoded twice by unquote).
    key = str(request.scope["path"])[len(LINK_PREFIX) :]
    checked = state.signer.verify(
        key, dict(request.query_params), method=method, content_type=request.headers.get("content-type"),
        now=state.now(),
    )  # fmt: skip
    if checked.error is not None:
        return checked.error
    if method == "PUT":
        return await _receive_upload(state, request, key)
    entry = state.readable(key)
    if entry is None:
        return s3_error("NoSuchKey", "The specified key does not exist.", 404, Key=key)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": entry.etag,
        "Last-Modified": formatdate(entry.last_modified, usegmt=True),
    }
    wanted = _parse_range(request.headers.get("range"), entry.size)
    if wanted == "invalid":
        response = s3_error(
            "InvalidRange", "The requested range is not satisfiable", 416,
            RangeRequested=request.headers.get("range", ""), ActualObjectSize=str(entry.size),
        )  # fmt: skip
        response.headers["Content-Range"] = f"bytes */{entry.size}"
        return response
    status, start, length = 200, 0, entry.size
    if isinstance(wanted, tuple):
        status, start, length = 206, wanted[0], wanted[1] - wanted[0] + 1
        headers["Content-Range"] = f"bytes {wanted[0]}-{wanted[1]}/{entry.size}"
    headers["Content-Length"] = str(length)
    drop = state.faults.take_download() if method == "GET" else None
    if drop is not None:
        state.bump("downloads_dropped")
    return _FileStream(
        entry, start, length, status, headers, head=method == "HEAD", drop_after=drop.after_bytes if drop else None
    )


async def _receive_upload(state: EmulatorState, request: Request, key: str) -> Response:
    entry = state.store.get(key)
    if entry is None:
        return s3_error("NoSuchUpload", "The upload slot no longer exists.", 404, Key=key)
    entry.content_type = request.headers.get("content-type") or _OCTET
    entry = await state.store.write_stream(entry, request.stream(), now=state.now())
    state.bump("uploads")
    return Response(status_code=200, headers={"ETag": entry.etag})
