"""Shared pieces of the callback and job-event tests: an event recorder, end events, emulator credentials."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from pydantic import SecretStr

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco._events import EndEvents
from prefect_pdfco.credentials import PdfcoCredentials

#: Generous: work crosses threads and a server on a busy 2-core machine. No test measures how long it took.
PATIENCE = 60.0


class EventRecorder:
    """An ``emit`` for the receiver that records events, safe to call from the receiver's thread."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self._changed = threading.Condition()

    def __call__(self, event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
        with self._changed:
            self.events.append((event, resource, payload))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = PATIENCE) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        """The events once there are ``count`` of them (AssertionError after ``timeout`` seconds)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.events) >= count, timeout):
                raise AssertionError(f"{len(self.events)} event(s) after {timeout} s, expected {count}")
            return list(self.events)

    def by_job(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """``{job_id: (event, payload)}``."""
        return {resource["prefect.resource.id"].removeprefix("pdfco.job."): (name, payload)
                for name, resource, payload in self.events}  # fmt: skip


@contextlib.asynccontextmanager
async def end_events(**options: Any) -> AsyncIterator[EndEvents]:
    """An ``EndEvents`` of the running loop, closed afterwards."""
    events = EndEvents(**options)
    try:
        yield events
    finally:
        await events.aclose()


def emulator_credentials(emulator: PdfcoEmulator) -> PdfcoCredentials:
    """Credentials for a running emulator (``prefect_pdfco.testing.credentials_for`` once its protocol takes the
    emulator's read-only properties: see /work/notes/requests-C.md)."""
    return PdfcoCredentials(api_key=SecretStr(emulator.api_key), base_url=emulator.base_url)
