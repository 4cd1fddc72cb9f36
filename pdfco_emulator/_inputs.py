"""Resolving ``url`` inputs: the emulator's own links are read from disk, loopback URLs fetched over HTTP.

PDF.co fetches any public URL; the emulator never leaves the machine, so it fetches loopback hosts only
(127.0.0.0/8, ``localhost``, ``::1``) and answers anything else with a clear 400.
"""

from __future__ import annotations

import ipaddress
import mimetypes
from urllib.parse import parse_qsl, unquote, urlsplit

import anyio
import httpx

from ._catalogue import MULTI_INPUT
from ._processing import InputFile
from ._s3 import LINK_PREFIX
from ._state import EmulatorState, remote_key

__all__ = [
    "InputError",
    "check_input_urls",
    "fetch_input",
    "is_loopback",
    "loopback_url",
    "resolve_inputs",
    "safe_url",
    "split_urls",
]

#: The most one fetched input may weigh (PDF.co's presigned uploads stop at 2 GB; the emulator is for tests).
MAX_INPUT_BYTES = 512 * 1024 * 1024


class InputError(Exception):
    """An input could not be used; ``status`` is the PDF.co code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8, ``::1`` (and its IPv4-mapped form)."""
    name = (host or "").strip("[]").rstrip(".").lower()
    if not name:
        return False
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def loopback_url(url: str) -> bool:
    """Whether ``url`` is http(s) to a loopback address: the only place the emulator may call or fetch."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    return parsed.scheme in ("http", "https") and is_loopback(parsed.host)


def safe_url(url: str) -> str:
    """``scheme://host/path`` of a URL, without its query string (presigned signatures) or user info."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        return "<invalid url>"
    if not parsed.host:
        return parsed.path
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def split_urls(endpoint: str, raw: str) -> list[str]:
    """The input URLs of a call: comma-separated for merge-like endpoints, one URL otherwise."""
    if endpoint in MULTI_INPUT:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return [raw.strip()]


def check_input_urls(state: EmulatorState, urls: list[str]) -> None:
    """Refuses URLs the emulator will never fetch, before any job exists (a 400 at submit time).

    Raises:
        InputError: A ``filetoken://`` link, a non-HTTP URL or a host that is neither loopback nor a link
            given content with ``add_remote_file``.
    """
    for original in urls:
        url = remote_key(original)
        if url.lower().startswith("filetoken://") and state.remote_file(url) is None:
            raise InputError(
                f"{url}: filetoken:// links point to PDF.co Built-In Files Storage, which the emulator does "
                "not emulate; upload the file with /v1/file/upload/base64 or a presigned URL instead"
            )
        parts = urlsplit(url)
        if state.remote_file(url) is not None:
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"Invalid URL {url!r}: an http(s) URL is required", 400)
        if not is_loopback(parts.hostname) and state.remote_file(url) is None:
            raise InputError(
                f"Cannot fetch {parts.scheme}://{parts.hostname}{parts.path}: only loopback URLs can be fetched "
                "by the emulator (127.0.0.0/8, localhost, ::1). Upload the file to the emulator first, serve "
                "it from a local HTTP server, or give this link its content with add_remote_file."
            )


async def fetch_input(
    state: EmulatorState, http: httpx.AsyncClient, url: str, auth: tuple[str, str] | None = None
) -> InputFile:
    """Reads one input: the emulator's own link from disk (same checks as a download), else over HTTP.

    Raises:
        InputError: The URL is refused, expired, not ready or unreachable.
    """
    url = remote_key(url)
    check_input_urls(state, [url])
    parts = urlsplit(url)
    remote = state.remote_file(url)
    if remote is not None:
        state.bump("remote_fetches")
        name = unquote(parts.path.rsplit("/", 1)[-1]) or "file"
        return InputFile(name=name, content=remote[0], content_type=remote[1] or mimetypes.guess_type(name)[0])
    if parts.port == state.signer.port and parts.path.startswith(LINK_PREFIX):
        key = unquote(parts.path[len(LINK_PREFIX) :])
        checked = state.signer.verify(
            key, dict(parse_qsl(parts.query)), method="GET", content_type=None, now=state.now()
        )
        if checked.error is not None:
            detail = bytes(checked.error.body).decode(errors="replace")
            code = detail.split("<Code>", 1)[-1].split("</Code>", 1)[0]
            raise InputError(f"Failed to download the input file {parts.path}: 403 Forbidden ({code})")
        entry = state.readable(key)
        if entry is None:
            raise InputError(f"Failed to download the input file {parts.path}: 404 Not Found (NoSuchKey)")
        content = await anyio.to_thread.run_sync(state.store.read_bytes, entry)
        return InputFile(name=entry.name, content=content, content_type=entry.content_type)
    try:
        async with http.stream("GET", url, auth=auth) as response:
            if response.status_code >= 400:
                raise InputError(
                    f"Failed to download the input file {parts.hostname}{parts.path}: HTTP {response.status_code}"
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_INPUT_BYTES:
                    raise InputError(f"The input file {parts.path} is larger than the emulator's limit")
                chunks.append(chunk)
            content_type = response.headers.get("content-type")
    except httpx.HTTPError as error:
        raise InputError(
            f"Failed to download the input file {parts.hostname}{parts.path}: {type(error).__name__}"
        ) from error
    name = unquote(parts.path.rsplit("/", 1)[-1]) or "file"
    guessed = mimetypes.guess_type(name)[0]
    return InputFile(
        name=name,
        content=b"".join(chunks),
        content_type=(content_type.split(";", 1)[0].strip() if content_type else guessed),
    )


async def resolve_inputs(
    state: EmulatorState, http: httpx.AsyncClient, urls: list[str], auth: tuple[str, str] | None = None
) -> list[InputFile]:
    """Fetches every input, in order."""
    return [await fetch_input(state, http, url, auth) for url in urls]
