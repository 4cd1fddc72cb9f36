"""Fault injection: scripted responses, job outcomes and dropped downloads, consumed in order."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ._catalogue import normalize_path

__all__ = ["JOB_OUTCOMES", "CallbackFault", "DownloadFault", "FaultBook", "JobFault", "JobOutcome", "ResponseFault"]

JobOutcome = Literal["failed", "aborted", "never"]
JOB_OUTCOMES: frozenset[str] = frozenset({"failed", "aborted", "never"})
#: Scripted at this path, a response fault applies to every result or upload link.
LINKS_PATH = "/pdf-temp-files"


def _times(times: int) -> int:
    if times < 1:
        raise ValueError(f"times must be at least 1, not {times}")
    return times


_Fault = TypeVar("_Fault", "JobFault", "DownloadFault", "CallbackFault")


def _take(queue: list[_Fault]) -> _Fault | None:
    if not queue:
        return None
    fault = queue[0]
    fault.remaining -= 1
    if fault.remaining <= 0:
        queue.pop(0)
    return fault


@dataclass
class ResponseFault:
    """A scripted answer for the next ``remaining`` calls to ``path``.

    ``scripted`` is False for a pure delay: the call sleeps ``delay`` seconds and then gets its real answer.
    ``drop`` hangs up instead of answering; ``takes_effect`` runs the real call first (a submit creates and
    bills its job) and replaces only its answer: the work was done, the answer was lost.
    """

    path: str
    status: int
    json: Any = None
    body: str | bytes | None = None
    content_type: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int = 1
    drop: bool = False
    takes_effect: bool = False

    @property
    def scripted(self) -> bool:
        """Whether this fault replaces the real answer (else it only delays it)."""
        return self.drop or self.json is not None or self.body is not None or self.status != 200


@dataclass
class JobFault:
    """How the next ``remaining`` async jobs end."""

    outcome: JobOutcome
    message: str | None = None
    remaining: int = 1


@dataclass
class DownloadFault:
    """The next ``remaining`` link downloads send ``after_bytes`` bytes, then drop the connection."""

    after_bytes: int
    remaining: int = 1


@dataclass
class CallbackFault:
    """The callbacks of the next ``remaining`` jobs that asked for one: lost (``drop``), or sent ``delay``
    seconds of the emulator's clock after the job ended."""

    drop: bool = False
    delay: float = 0.0
    remaining: int = 1


class FaultBook:
    """The pending faults, shared by the server thread and the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: list[ResponseFault] = []
        self._jobs: list[JobFault] = []
        self._downloads: list[DownloadFault] = []
        self._callbacks: list[CallbackFault] = []

    def add_response(
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
    ) -> ResponseFault:
        """Queues a scripted response (see ``PdfcoEmulator.inject``)."""
        if json is not None and body is not None:
            raise ValueError("give json or body, not both")
        if drop and (json is not None or body is not None):
            raise ValueError("a dropped connection has no body: give drop or json/body, not both")
        if delay < 0:
            raise ValueError("delay must be >= 0")
        fault = ResponseFault(
            path=normalize_path(path),
            status=status,
            json=json,
            body=body,
            content_type=content_type,
            delay=delay,
            headers=dict(headers or {}),
            remaining=_times(times),
            drop=drop,
            takes_effect=takes_effect,
        )
        if not fault.scripted and not delay:
            raise ValueError("nothing to inject: give a status, json, body, drop or delay")
        if takes_effect and not fault.scripted:
            raise ValueError("takes_effect replaces an answer: give a status, json, body or drop")
        with self._lock:
            self._responses.append(fault)
        return fault

    def add_job(self, outcome: str, *, message: str | None = None, times: int = 1) -> JobFault:
        """Queues a job outcome (see ``PdfcoEmulator.inject_job_outcome``)."""
        if outcome not in JOB_OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(JOB_OUTCOMES)}, not {outcome!r}")
        fault = JobFault(outcome=outcome, message=message, remaining=_times(times))  # type: ignore[arg-type]
        with self._lock:
            self._jobs.append(fault)
        return fault

    def add_download(self, after_bytes: int, *, times: int = 1) -> DownloadFault:
        """Queues a dropped download (see ``PdfcoEmulator.inject_download_drop``)."""
        if after_bytes < 0:
            raise ValueError("after_bytes must be >= 0")
        fault = DownloadFault(after_bytes=after_bytes, remaining=_times(times))
        with self._lock:
            self._downloads.append(fault)
        return fault

    def add_callback(self, *, drop: bool = False, delay: float = 0.0, times: int = 1) -> CallbackFault:
        """Queues a lost or late callback (see ``PdfcoEmulator.inject_callback``)."""
        if delay < 0:
            raise ValueError("delay must be >= 0")
        if not drop and not delay:
            raise ValueError("nothing to inject: give drop or delay")
        fault = CallbackFault(drop=drop, delay=delay, remaining=_times(times))
        with self._lock:
            self._callbacks.append(fault)
        return fault

    def add_from_json(self, payload: Mapping[str, Any]) -> object:
        """Queues a fault described by the HTTP control API's JSON body (``kind`` picks the type)."""
        kind = payload.get("kind", "response")
        times = int(payload.get("times", 1))
        if kind == "response":
            if not isinstance(payload.get("path"), str):
                raise ValueError("a response fault needs a path")
            return self.add_response(
                payload["path"],
                status=int(payload.get("status", 200)),
                json=payload.get("json"),
                body=payload.get("body"),
                content_type=payload.get("content_type"),
                delay=float(payload.get("delay", 0.0)),
                times=times,
                headers=payload.get("headers"),
                drop=bool(payload.get("drop", False)),
                takes_effect=bool(payload.get("takes_effect", False)),
            )
        if kind == "job":
            return self.add_job(str(payload.get("outcome")), message=payload.get("message"), times=times)
        if kind == "download":
            return self.add_download(int(payload.get("after_bytes", 0)), times=times)
        if kind == "callback":
            return self.add_callback(
                drop=bool(payload.get("drop", False)), delay=float(payload.get("delay", 0.0)), times=times
            )
        raise ValueError(f"unknown fault kind {kind!r}: use response, job, download or callback")

    def take_response(self, path: str) -> ResponseFault | None:
        """Consumes one use of the first response fault for ``path`` (or for any link)."""
        is_link = path.startswith(LINKS_PATH + "/")
        with self._lock:
            for fault in self._responses:
                if fault.path == path or (is_link and fault.path == LINKS_PATH):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._responses.remove(fault)
                    return fault
        return None

    def take_job(self) -> JobFault | None:
        """Consumes one use of the first job-outcome fault."""
        with self._lock:
            return _take(self._jobs)

    def take_download(self) -> DownloadFault | None:
        """Consumes one use of the first dropped-download fault."""
        with self._lock:
            return _take(self._downloads)

    def take_callback(self) -> CallbackFault | None:
        """Consumes one use of the first callback fault."""
        with self._lock:
            return _take(self._callbacks)

    def reset(self) -> None:
        """Drops every pending fault."""
        with self._lock:
            self._responses.clear()
            self._jobs.clear()
            self._downloads.clear()
            self._callbacks.clear()

    def pending(self) -> dict[str, int]:
        """How many uses of each kind of fault are left."""
        with self._lock:
            return {
                "response": sum(f.remaining for f in self._responses),
                "job": sum(f.remaining for f in self._jobs),
                "download": sum(f.remaining for f in self._downloads),
                "callback": sum(f.remaining for f in self._callbacks),
            }
