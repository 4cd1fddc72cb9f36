"""A submit's record in the task's result store: what keeps a re-run from paying twice (see ``jobs.submit``).

On local result storage a record is read and written in place, whole or not at all (a temporary file, then a
rename): a few hundred bytes cost less to write than the three hops to a worker thread (open, write, close) of
Prefect's own ``LocalFileSystem`` write, which a batch pays twice per document on a busy event loop; and that
write leaves half a file if the process dies mid-write.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from prefect.context import TaskRunContext
from prefect.filesystems import LocalFileSystem
from prefect.results import ResultStore
from prefect.transactions import get_transaction

from prefect_pdfco.exceptions import PdfcoAPIError, PdfcoConnectionError, PdfcoError, ServerError
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.ui.logs import run_logger

__all__ = ["RECORD_SUFFIX", "SubmitRecord", "parse_time", "refused"]

#: Appended to a submit's cache key to name its record in the result storage.
RECORD_SUFFIX = ".submit-record"


def refused(error: BaseException) -> bool:
    """True when PDF.co surely did not take the submit: it answered with a 4xx, or the request never left."""
    if isinstance(error, PdfcoAPIError):
        return not isinstance(error, ServerError)
    if isinstance(error, PdfcoConnectionError):
        return not error.may_have_reached_server
    return False


def _reason(error: BaseException) -> str:
    if isinstance(error, PdfcoAPIError):
        return f"HTTP {error.status_code}"
    if isinstance(error, PdfcoConnectionError):
        cause = error.__cause__
        return f"no answer: {type(cause).__name__ if cause is not None else 'connection lost'}"
    return type(error).__name__


def _now() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass
class SubmitRecord:
    """The record of one submit in the task's result store (see the module docstring).

    Attributes:
        store: The task's result store (the one Prefect caches its result in).
        key: The record's key: the submit's cache key and ``RECORD_SUFFIX``.
        endpoint: The API path.
        expiration: How long an ``accepted`` record hands back its job (the task's cache expiration).
        sent_at: When this attempt's request left, once it has.
    """

    store: ResultStore
    key: str
    endpoint: str
    expiration: timedelta | None = None
    sent_at: datetime | None = None
    _resolved: tuple[Path, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _template: Any = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def for_current_task(cls, endpoint: str, item_key: str | None = None) -> SubmitRecord | None:
        """The record of the running task's submit (``item_key``: one of its several); None without a key."""
        transaction = get_transaction()
        ctx = TaskRunContext.get()
        if ctx is None or transaction is None or not transaction.key:
            return None
        if not isinstance(transaction.store, ResultStore):
            return None
        key = transaction.key + (f".{item_key}" if item_key else "") + RECORD_SUFFIX
        return cls(transaction.store, key, endpoint, ctx.task.cache_expiration)

    async def read(self) -> dict[str, Any] | None:
        """The record of an earlier attempt, None when there is none.

        Raises:
            PdfcoError: The storage failed for another reason than a missing record: nothing is sent, since an
                earlier attempt may have paid for this submit already.
        """
        try:
            local = self._local_path()
            if local is not None and not local.exists():
                return None  # the common case, a first attempt: no trip through the storage block
            stored = await self.store.aread(self.key)
        except Exception as error:
            if _missing(error):
                return None
            raise PdfcoError(
                f"{self.endpoint}: could not read this submit's record from the result storage, so it was not "
                f"sent (an earlier attempt may have paid for it): {type(error).__name__}"
            ) from error
        value = stored.result
        return value if isinstance(value, dict) else None

    async def mark_in_flight(self) -> None:
        """Writes ``in_flight`` before the first send (the client calls it right before each attempt).

        Raises:
            PdfcoError: The record could not be written; the request is not sent.
        """
        if self.sent_at is not None:
            return  # a re-send after 429 or a connect error: the record says in flight already
        sent_at = _now()
        try:
            await self._write("in_flight", sent_at=sent_at)
        except Exception as error:
            raise PdfcoError(
                f"{self.endpoint}: could not record the submit in the result storage before sending it, so it was "
                f"not sent: {type(error).__name__}"
            ) from error
        self.sent_at = sent_at

    async def settle_failure(self, error: BaseException) -> None:
        """Records ``refused`` (a retry may send again) or ``unknown`` (it may not)."""
        state = "refused" if refused(error) else "unknown"
        try:
            await self._write(state, sent_at=self.sent_at, reason=_reason(error))
        except Exception:
            # The in-flight record stays: a retry reports an unknown outcome, which is the safe side.
            run_logger().warning("Could not update the record of submit %s to %r", self.key, state, exc_info=True)

    async def settle_success(self, submission: JobSubmission) -> None:
        """Records ``accepted`` with the job, so a crash before Prefect persists the result re-attaches."""
        try:
            await self._write("accepted", sent_at=self.sent_at, submission=submission.model_dump(mode="json"))
        except Exception:
            run_logger().warning("Could not record job %s as accepted", submission.job_id, exc_info=True)

    def fresh(self, record: Mapping[str, Any]) -> bool:
        """Whether an ``accepted`` record still hands back its job (its result links may have expired)."""
        recorded = parse_time(record.get("recorded_at"))
        return self.expiration is None or (recorded is not None and _now() - recorded < self.expiration)

    async def _write(self, state: str, *, sent_at: datetime | None, **fields: Any) -> None:
        ctx = TaskRunContext.get()
        content = {
            "state": state,
            "endpoint": self.endpoint,
            "sent_at": sent_at.isoformat() if sent_at else None,
            "recorded_at": _now().isoformat(),
            "task_run_id": str(ctx.task_run.id) if ctx is not None else None,
            **fields,
        }
        local = self._local_path()
        if local is not None:
            _replace_file(local, self._local_record(content).serialize())
        else:
            await self.store.awrite(obj=content, key=self.key)

    def _local_record(self, content: dict[str, Any]) -> Any:
        """What ``store.create_result_record`` makes for this key: made once (it resolves the path twice), then
        copied with each new content."""
        if self._template is None:
            self._template = self.store.create_result_record(content, key=self.key)
            return self._template
        return self._template.model_copy(update={"result": content})

    def _local_path(self) -> Path | None:
        """Where the record lives when the result storage is a local directory (and nothing else is involved:
        no separate metadata storage, no locks); None for any other storage, which the store reads and writes.

        Resolved once per record: a batch reads and writes each of its records three times, and resolving
        (a ``stat`` per part of the path) cost more than the write."""
        if self._resolved is None:
            store = self.store
            storage = store.result_storage
            local = (
                isinstance(storage, LocalFileSystem) and store.metadata_storage is None and store.lock_manager is None
            )
            self._resolved = (storage._resolve_path(self.key),) if local else ()  # type: ignore[union-attr]
        return self._resolved[0] if self._resolved else None


def _replace_file(path: Path, content: bytes) -> None:
    """Writes ``path`` whole or not at all: a crash mid-write leaves the previous record, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        partial.write_bytes(content)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _missing(error: BaseException) -> bool:
    """Whether a storage error means "no such record" (each storage block says it its own way)."""
    if isinstance(error, (FileNotFoundError, KeyError)):
        return True
    text = f"{type(error).__name__} {error}".lower()
    return any(sign in text for sign in ("does not exist", "not found", "notfound", "nosuchkey", "no such file"))
