"""The emulator's account and bookkeeping: credits, clock, rate limit, jobs, durations and counters."""

from __future__ import annotations

import secrets
import string
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ._catalogue import CreditCost, normalize_path
from ._faults import FaultBook
from ._s3 import LinkSigner
from ._store import FileStore, StoredFile

__all__ = ["EmulatorConfig", "EmulatorState", "Job", "remote_key"]

_ID_ALPHABET = string.ascii_uppercase + string.digits
#: Callbacks (``_http.call_back``): POST attempts, delivered (a 2xx answer), failed (every retry spent), dropped
#: (lost on purpose by a fault), not sent (to receivers off this machine).
_CALLBACK_COUNTERS = (
    "callback_attempts",
    "callbacks_delivered",
    "callbacks_failed",
    "callbacks_dropped",
    "callbacks_not_sent",
)


def remote_key(url: str) -> str:
    """How input links are read and matched: without surrounding spaces or PDF.co's ``cache:`` prefix, and with
    ``https://`` before a link that has no scheme (PDF.co's own samples send such image links)."""
    url = url.strip()
    url = url[len("cache:") :] if url.lower().startswith("cache:") else url
    return url if "://" in url or not url else f"https://{url}"


@dataclass(frozen=True)
class EmulatorConfig:
    """The constructor options the server needs (see ``PdfcoEmulator``)."""

    api_key: str
    credits: int
    job_duration: float
    rate_limit: float | None
    link_ttl: float
    retry_after: float | None
    link_host: str
    strict: bool = True


@dataclass
class Job:
    """One background job.

    Status rules, as PDF.co documents them: ``working`` until ``due_at`` (submit time plus the job duration)
    and until the processing finished; then ``success``, or ``failed`` when processing failed, or the
    outcome a fault scripted. ``due_at`` None means "never finishes".
    """

    job_id: str
    endpoint: str
    name: str
    submitted_at: float
    due_at: float | None
    cost: CreditCost
    submit_credits: int
    inline: bool
    placeholder: StoredFile
    url: str
    link_expires_at: float
    link_lifetime: float
    outcome: str | None = None
    outcome_message: str | None = None
    done: bool = False
    error: str | None = None
    error_code: int | None = None
    page_count: int = 0
    body: object | None = None
    fields: dict[str, object] = field(default_factory=dict)
    finished_at: float | None = None
    settled: bool = False

    def status(self, now: float) -> str:
        """The job state at ``now``."""
        if self.due_at is None or now < self.due_at:
            return "working"
        if self.outcome in ("failed", "aborted"):
            return self.outcome
        if not self.done:
            return "working"
        return "failed" if self.error is not None else "success"


class _TokenBucket:
    """``rate`` requests per second, with a burst of ``max(1, rate)`` (real monotonic time)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class EmulatorState:
    """Everything the server remembers, shared between its thread and the caller's (one lock)."""

    def __init__(self, config: EmulatorConfig, port: int) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.store = FileStore()
        self.faults = FaultBook()
        self.signer = LinkSigner(config.link_host, port)
        self.jobs: dict[str, Job] = {}
        self.remaining_credits = config.credits
        self._clock_offset = 0.0
        self._job_duration = config.job_duration
        self._job_durations: dict[str, float] = {}
        self._buckets: dict[str, _TokenBucket] = {}
        self.requests: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self._remote: dict[str, tuple[bytes, str | None]] = {}

    # --- clock -------------------------------------------------------------------------------------------
    def now(self) -> float:
        """The emulator's clock: wall time plus whatever ``advance_clock`` added."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Moves the emulator's clock forward (link expiry, job durations)."""
        with self.lock:
            self._clock_offset += seconds

    # --- job durations -----------------------------------------------------------------------------------
    def set_job_duration(self, seconds: float, path: str | None = None) -> None:
        """Sets how long jobs stay ``working``, globally or for one endpoint."""
        if seconds < 0:
            raise ValueError("job duration must be >= 0")
        with self.lock:
            if path is None:
                self._job_duration = seconds
            else:
                self._job_durations[normalize_path(path)] = seconds

    def job_duration(self, path: str, override: float | None = None) -> float:
        """The duration for a job on ``path``: the request header wins, then the endpoint's, then global."""
        if override is not None:
            return max(0.0, override)
        with self.lock:
            return self._job_durations.get(path, self._job_duration)

    # --- remote inputs ------------------------------------------------------------------------------------
    def add_remote_file(self, url: str, content: bytes, content_type: str | None = None) -> None:
        """Serves ``content`` for the input link ``url`` (see ``PdfcoEmulator.add_remote_file``)."""
        key = remote_key(url)
        if not key.lower().startswith(("http://", "https://", "filetoken://")):
            raise ValueError(f"a remote file needs an http(s) or filetoken:// link, not {url!r}")
        with self.lock:
            self._remote[key] = (bytes(content), content_type)

    def remote_file(self, url: str) -> tuple[bytes, str | None] | None:
        """The content given for ``url`` (and its type), or None."""
        with self.lock:
            return self._remote.get(remote_key(url))

    # --- money and limits --------------------------------------------------------------------------------
    def charge(self, amount: int) -> bool:
        """Takes ``amount`` credits; False (and nothing taken) when the balance is too low."""
        with self.lock:
            if amount > self.remaining_credits:
                return False
            self.remaining_credits -= amount
            self.counters["credits_used"] += amount
            return True

    def charge_up_to(self, amount: int) -> int:
        """Takes ``amount`` credits or whatever is left (work already done is not undone); returns it."""
        with self.lock:
            taken = min(amount, self.remaining_credits)
            self.remaining_credits -= taken
            self.counters["credits_used"] += taken
            return taken

    def refund(self, amount: int) -> None:
        """Gives credits back (failed and aborted jobs, under PDF.co's older billing model)."""
        with self.lock:
            self.remaining_credits += amount
            self.counters["credits_used"] -= amount
            self.counters["credits_refunded"] += amount

    def allow_request(self, api_key: str) -> bool:
        """The per-key rate limit; always True without one."""
        if self.config.rate_limit is None:
            return True
        with self.lock:
            bucket = self._buckets.get(api_key)
            if bucket is None:
                bucket = self._buckets[api_key] = _TokenBucket(self.config.rate_limit)
            return bucket.take()

    # --- jobs --------------------------------------------------------------------------------------------
    @staticmethod
    def new_job_id(endpoint: str) -> str:
        """An opaque id shaped like PDF.co's: a UUID for the invoice parser, ``<32 chars>--151-300`` else."""
        if endpoint == "/v1/ai-invoice-parser":
            return str(uuid.uuid4())
        return "".join(secrets.choice(_ID_ALPHABET) for _ in range(32)) + "--151-300"

    def add_job(self, job: Job) -> None:
        """Registers a job."""
        with self.lock:
            self.jobs[job.job_id] = job
            self.counters["jobs_submitted"] += 1

    def get_job(self, job_id: str) -> Job | None:
        """The job with this id (ids are case-sensitive), or None once its result link has expired: PDF.co deletes
        a job's output then, and whether it still answers for the job is undocumented; the emulator forgets it."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and job.status(self.now()) != "working" and self.now() >= job.link_expires_at:
                return None
            return job

    def readable(self, key: str) -> StoredFile | None:
        """The object under ``key`` if a GET may read it now: it has content, and its job (for a result
        placeholder) succeeded. PDF.co's placeholder is not readable before job check says ``success``."""
        entry = self.store.get(key)
        if entry is None or entry.path is None:
            return None
        if entry.job_id is not None:
            job = self.get_job(entry.job_id)
            if job is None or job.status(self.now()) != "success":
                return None
        return entry

    # --- stats -------------------------------------------------------------------------------------------
    def count_request(self, path: str) -> None:
        """Counts one API request on ``path``."""
        with self.lock:
            self.requests[path] += 1

    def bump(self, name: str, amount: int = 1) -> None:
        """Adds to a named counter."""
        with self.lock:
            self.counters[name] += amount

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (see ``PdfcoEmulator.stats``)."""
        now = self.now()
        with self.lock:
            job_states = Counter(job.status(now) for job in self.jobs.values())
            return {
                "requests": dict(self.requests),
                "jobs_submitted": self.counters["jobs_submitted"],
                "credits_used": self.counters["credits_used"],
                "credits_refunded": self.counters["credits_refunded"],
                "job_checks": self.counters["job_checks"],
                "remaining_credits": self.remaining_credits,
                "result_link_requests": self.counters["result_link_requests"],
                "result_link_requests_with_api_key": self.counters["result_link_requests_with_api_key"],
                "presigned_put_requests": self.counters["presigned_put_requests"],
                "presigned_put_requests_with_api_key": self.counters["presigned_put_requests_with_api_key"],
                "sync_calls": self.counters["sync_calls"],
                "uploads": self.counters["uploads"],
                "rate_limited": self.counters["rate_limited"],
                "unauthorized": self.counters["unauthorized"],
                "undocumented_parameters": self.counters["undocumented_parameters"],
                "faults_served": self.counters["faults_served"],
                "remote_fetches": self.counters["remote_fetches"],
                "downloads_dropped": self.counters["downloads_dropped"],
                **{name: self.counters[name] for name in _CALLBACK_COUNTERS},
                "jobs": dict(job_states),
                "jobs_by_name": dict(Counter(job.name for job in self.jobs.values())),
                "pending_faults": self.faults.pending(),
            }
