"""Helpers the emulator tests share: uploads, job waits, reading PDFs."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

import httpx
from pypdf import PdfReader


def upload(api: httpx.Client, content: bytes, name: str = "in.pdf", **extra: object) -> str:
    """Uploads ``content`` (base64 route) and returns its link."""
    body = {"file": base64.b64encode(content).decode(), "name": name, **extra}
    answer = api.post("/v1/file/upload/base64", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["url"])


def presigned(api: httpx.Client, content: bytes, name: str) -> str:
    """A presigned upload the way PDF.co's samples make one (octet-stream both sides); returns its link."""
    slot = api.get(
        "/v1/file/upload/get-presigned-url", params={"name": name, "contenttype": "application/octet-stream"}
    )
    put = httpx.put(slot.json()["presignedUrl"], content=content, headers={"content-type": "application/octet-stream"})
    assert put.status_code == 200, put.text
    return str(slot.json()["url"])


def wait(api: httpx.Client, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Job check until the job leaves ``working`` (or ``timeout`` passes: then the last answer)."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = api.post("/v1/job/check", json={"jobid": job_id}).json()
        if body["status"] != "working" or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def texts(content: bytes, password: str | None = None) -> list[str]:
    """The text of each page of a PDF."""
    reader = PdfReader(io.BytesIO(content))
    if password is not None:
        reader.decrypt(password)
    return [page.extract_text() for page in reader.pages]


def fetched_texts(url: str) -> list[str]:
    """The text of each page of the PDF at a result link."""
    answer = httpx.get(url)
    assert answer.status_code == 200, answer.text
    return texts(answer.content)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Polls ``check`` until it holds: for what the server counts just after a client saw it happen."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)
