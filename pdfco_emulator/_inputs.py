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

from prefect_pdfco.testing._catalogue import MULTI_INPUT
from prefect_pdfco.testing._processing import InputFile
from prefect_pdfco.testing._s3 import LINK_PREFIX
from prefect_pdfco.testing._state import EmulatorState

__all__ = ["InputError", "check_input_urls", "fetch_input", "is_loopback", "resolve_inputs", "split_urls"]

#: The most one fetched input may weigh (PDF.co's presigned uploads stop at 2 GB; the emulator is for tests).
MAX_INPUT_BYTES = 512 * 1024 * 1024


class InputError(Exception):
    """An input could not be used; ``status`` is the PDF.co code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_urls(endpoint: str, raw: str) -> list[str]:
    """The input URLs of a call: comma-separated for merge-like endpoints, one URL otherwise."""
    if endpoint in MULTI_INPUT:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return [raw.strip()]


def _clean(url: str) -> str:
    # ``cache:`` turns on PDF.co's URL cache; it is not part of the URL.
    return url[len("cache:") :] if url.lower().startswith("cache:") else url


def check_input_urls(urls: list[str]) -> None:
    """Refuses URLs the emulator will never fetch, before any job exists (a 400 at submit time).

    Raises:
        InputError: A ``filetoken://`` link, a non-HTTP URL or a host that is not loopback.
    """
    for original in urls:
        url = _clean(original)
        if url.lower().startswith("filetoken://"):
            raise InputError(
                f"{url}: filetoken:// links point to PDF.co Built-In Files Storage, which the emulator does "
                "not emulate; upload the file with /v1/file/upload/base64 or a presigned URL instead"
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"Invalid URL {url!r}: an http(s) URL is required", 400)
        if not is_loopback(parts.hostname):
            raise InputError(
                f"Cannot fetch {parts.scheme}://{parts.hostname}{parts.path}: only loopback URLs can be fetched "
                "by the emulator (127.0.0.0/8, localhost, ::1). Upload the file to the emulator first, or serve "
                "it from a local HTTP server."
            )


async def fetch_input(
    state: EmulatorState, http: httpx.AsyncClient, url: str, auth: tuple[str, str] | None = None
) -> InputFile:
    """Reads one input: the emulator's own link from disk (same checks as a download), else over HTTP.

    Raises:
        InputError: The URL is refused, expired, not ready or unreachable.
    """
    url = _clean(url.strip())
    check_input_urls([url])
    parts = urlsplit(url)
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
