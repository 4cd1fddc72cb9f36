"""Crash-safe submits: a record per submit in the result storage, so no retry or re-run ever pays twice.

See docs/design/money.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext, TaskRunContext
from prefect.filesystems import LocalFileSystem, WritableFileSystem
from prefect.futures import PrefectFuture
from prefect.results import get_default_result_storage
from prefect.utilities.annotations import BaseAnnotation
from pydantic import BaseModel, SecretStr

from prefect_pdfco import _ui
from prefect_pdfco._client import PdfcoClient
from prefect_pdfco._exceptions import (
    InvalidParametersError,
    PdfcoAPIError,
    PdfcoConnectionError,
    PdfcoError,
    SubmitOutcomeUnknown,
    SubmittedJobGone,
)
from prefect_pdfco._operations import build_payload, get_operation
from prefect_pdfco._util import is_sensitive, jsonable
from prefect_pdfco.credentials import PdfcoCredentials, shared_client, with_callback
from prefect_pdfco.models import JobStatus, JobSubmission

#: Options of every task that submits a billed job: never retried by Prefect, never cached (the record decides).
SUBMIT_TASK_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False, "retries": 0}
#: Re-attaching to a job accepted longer ago than this first asks PDF.co whether it still has it (a forced check).
REATTACH_CHECK_AFTER = timedelta(minutes=50)
_HMAC_CONTEXT = b"prefect-pdfco/submit-key/v1"


def canonical(value: Any, secret: Callable[[Any], str], future: str | None = None) -> Any:
    """``value`` as JSON-able data, every secret replaced by ``secret(value)`` (futures by ``future``, if given)."""
    if future is not None and isinstance(value, (PrefectFuture, State)):
        return future
    if isinstance(value, BaseAnnotation):
        return canonical(value.unwrap(), secret, future)
    if isinstance(value, SecretStr):
        return secret(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): secret(v) if is_sensitive(str(k)) else canonical(v, secret, future) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(item, secret, future) for item in value]
    return value


def digest(material: Any, length: int = 40) -> str:
    """A stable hex digest of JSON-able ``material``."""
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:length]


def fingerprint(inputs: Mapping[str, Any], credentials: PdfcoCredentials) -> Any:
    """``inputs`` with every password replaced by an HMAC keyed by the account's API key (which is never stored)."""
    secret_key = hmac.new(credentials.api_key.get_secret_value().encode(), _HMAC_CONTEXT, hashlib.sha256).digest()

    def hashed(value: Any) -> str:
        plain = jsonable(value)
        text = plain if isinstance(plain, str) else json.dumps(plain, sort_keys=True, default=str)
        return "hmac-" + hmac.new(secret_key, text.encode(), hashlib.sha256).hexdigest()[:32]

    return canonical(dict(inputs), hashed)


def _run_identity(ctx: TaskRunContext) -> str:
    # A failed subflow runs as a NEW flow run when its parent is retried: it is known by the parent's task run.
    flow_ctx = FlowRunContext.get()
    flow_run = flow_ctx.flow_run if flow_ctx is not None else None
    if flow_run is not None and flow_run.id == ctx.task_run.flow_run_id and flow_run.parent_task_run_id is not None:
        return f"subflow-of-{flow_run.parent_task_run_id}"
    return str(ctx.task_run.flow_run_id)


class SubmitRecord:
    """One submit's record in the result storage: in_flight, then refused, unknown, accepted or landed; no expiry."""

    def __init__(self, storage: WritableFileSystem, key: str, endpoint: str) -> None:
        self.storage, self.key, self.endpoint = storage, key, endpoint
        self.sent_at: datetime | None = None
        self._path: Path | None = None  # on a local directory the record is replaced whole, else through write_path
        if isinstance(storage, LocalFileSystem):
            self._path = Path(storage.basepath or "~/.prefect/storage").expanduser() / key

    @classmethod
    def for_task(
        cls, credentials: PdfcoCredentials, endpoint: str, inputs: Mapping[str, Any], submit_key: str | None
    ) -> SubmitRecord | None:
        """The record of this call inside the running task; None outside a flow run or without a submit key."""
        ctx = TaskRunContext.get()
        if ctx is None or ctx.task_run.flow_run_id is None or submit_key is None:
            return None
        material = {"flow_run": _run_identity(ctx), "task": ctx.task.name, "host": credentials.base_url}
        material |= {"inputs": fingerprint(inputs, credentials), "submit_key": submit_key}
        storage = ctx.result_store.result_storage or get_default_result_storage()
        return cls(storage, f"pdfco-submit-{digest(material)}.submit-record", endpoint)  # type: ignore[arg-type]

    def item(self, name: str) -> SubmitRecord:
        """The record of one of several submits under this one (a batch's items)."""
        return SubmitRecord(self.storage, self.key.replace(".submit-record", f".{name}.submit-record"), self.endpoint)

    async def read(self) -> dict[str, Any] | None:
        """The record of an earlier attempt; None when there is none (``PdfcoError`` when the storage fails)."""
        try:
            if self._path is not None:
                content = self._path.read_bytes()  # a few hundred bytes: inline costs less than a thread hop
            else:
                content = await self.storage.read_path(self.key)
        except Exception as error:
            if _missing(error):
                return None
            raise PdfcoError(
                f"{self.endpoint}: could not read this submit's record ({type(error).__name__}), so it was not sent: "
                "an earlier attempt may have paid for it"
            ) from error
        try:
            value = json.loads(content) if content else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def write(self, state: str, **fields: Any) -> None:
        """Replaces the record (whole, or not at all)."""
        record = {"state": state, "endpoint": self.endpoint, "sent_at": _iso(self.sent_at), "recorded_at": _iso(_now())}
        content = json.dumps({**record, **fields}).encode()
        if self._path is not None:
            _replace_file(self._path, content)  # inline, as the read: a batch writes three records per document
        else:
            await self.storage.write_path(self.key, content)

    async def mark_in_flight(self) -> None:
        """Written right before the request leaves; if it cannot be written, the request is not sent."""
        if self.sent_at is not None:
            return  # a re-send after 429 or a connect error: in flight already
        sent_at = _now()
        try:
            await self.write("in_flight", sent_at=_iso(sent_at))
        except Exception as error:
            raise PdfcoError(
                f"{self.endpoint}: could not record the submit before sending it, so it was not sent"
            ) from error
        self.sent_at = sent_at


def _missing(error: BaseException) -> bool:
    if isinstance(error, (FileNotFoundError, KeyError)):
        return True
    text = f"{type(error).__name__} {error}".lower()
    return any(sign in text for sign in ("does not exist", "not found", "notfound", "nosuchkey", "no such file"))


def _replace_file(path: Path, content: bytes) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        try:
            partial.write_bytes(content)
        except FileNotFoundError:  # the first record in this storage: its directory, then the write
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(content)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def parse_time(value: Any) -> datetime | None:
    """A datetime from a record's ISO text; None when absent or garbled."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# Two calls naming the same submit in one process (an explicit submit_key): the second waits for the first to
# settle and then reads its record. Tasks of a process run on several threads and loops: a thread lock, polled.
_claims: dict[str, tuple[threading.Lock, int]] = {}
_claims_lock = threading.Lock()


@asynccontextmanager
async def _claimed(key: str) -> AsyncIterator[None]:
    with _claims_lock:
        lock, users = _claims.get(key, (threading.Lock(), 0))
        _claims[key] = (lock, users + 1)
    try:
        while not lock.acquire(blocking=False):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            lock.release()
    finally:
        with _claims_lock:
            lock, users = _claims[key]
            _claims[key] = (lock, users - 1)
            if users <= 1:
                del _claims[key]


async def submit_operation(
    credentials: PdfcoCredentials,
    operation: str,
    payload: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """What every typed task does: its payload and ``extra`` checked (or given twice: refused), then submitted once."""
    spec = get_operation(operation)
    given = {name: value for name, value in payload.items() if value is not None}
    if extra is not None and not isinstance(extra, Mapping):
        raise InvalidParametersError(
            spec.name, [f"extra: expected a dict of PDF.co parameters, got {type(extra).__name__}"]
        )
    twice = sorted(set(given) & set(extra or {}))
    if twice:
        raise InvalidParametersError(spec.name, [f"extra: {name!r} is given by an argument already" for name in twice])
    params = build_payload(spec, {**given, **(extra or {})}, caller=spec.name)
    return await submit_once(
        credentials, spec.endpoint, params, spec.name, submit_key, resend_if_unknown, _ui.document_label(params)
    )


async def submit_once(
    credentials: PdfcoCredentials,
    endpoint: str,
    params: Mapping[str, Any],
    operation: str,
    submit_key: str | None,
    resend_if_unknown: bool,
    document: str | None = None,
    *,
    record: SubmitRecord | None = None,
) -> JobSubmission:
    """Submits one job, unless an earlier attempt of the same submit (same key) was accepted or may have been."""
    record = record or SubmitRecord.for_task(credentials, endpoint, params, submit_key)
    client = await shared_client(credentials)
    if record is None:
        return await _send(credentials, client, endpoint, params, operation, document, None)
    await _ui.warn_if_records_are_local(record.storage)
    async with _claimed(record.key):
        earlier = await record.read()
        state = earlier.get("state") if earlier else None
        if earlier is not None and state in ("accepted", "landed"):
            job = await reattach(client, earlier, resend_if_unknown=resend_if_unknown)
            if job is not None:
                return job
        elif earlier is not None and state in ("in_flight", "unknown"):
            reason = str(earlier.get("reason") or "the attempt stopped before PDF.co's answer was recorded")
            sent_at = parse_time(earlier.get("sent_at"))
            unknown = SubmitOutcomeUnknown(endpoint, sent_at=sent_at, submit_key=record.key, reason=reason)
            if not resend_if_unknown:
                raise unknown
            _ui.run_logger().warning("Sending again as asked (resend_if_unknown=True): %s", unknown)
        return await _send(credentials, client, endpoint, params, operation, document, record)


async def reattach(client: PdfcoClient, earlier: Mapping[str, Any], *, resend_if_unknown: bool) -> JobSubmission | None:
    """The job an earlier attempt paid for; when PDF.co forgot it, None to pay again, else ``SubmittedJobGone``."""
    job = JobSubmission.model_validate(earlier["submission"])
    accepted = parse_time(earlier.get("accepted_at") or earlier.get("recorded_at"))
    if accepted is None or _now() - accepted >= REATTACH_CHECK_AFTER:
        result = await client.check(job.job_id, force=True)
        if result.status is JobStatus.UNKNOWN:
            gone = SubmittedJobGone(job.job_id, job.submitted_at or accepted)
            if not resend_if_unknown:
                raise gone
            _ui.run_logger().warning("Paying for a new job as asked (resend_if_unknown=True): %s", gone)
            return None
    _ui.run_logger().info("Re-attached to job %s, submitted and paid for by an earlier attempt", job.job_id)
    return job


async def _send(
    credentials: PdfcoCredentials,
    client: PdfcoClient,
    endpoint: str,
    params: Mapping[str, Any],
    operation: str,
    document: str | None,
    record: SubmitRecord | None,
) -> JobSubmission:
    params = with_callback(credentials, params)  # a fresh token per send: never part of the key
    try:
        job = await client.submit(endpoint, params, before_send=record.mark_in_flight if record else None)
    except Exception as error:
        if record is None or record.sent_at is None:
            raise  # nothing left: a local refusal or a connect error before the record was written
        refused = isinstance(error, PdfcoAPIError) or (
            isinstance(error, PdfcoConnectionError) and not error.may_have_reached_server
        )
        try:
            await record.write("refused" if refused else "unknown", reason=_reason(error))
        except Exception:  # the in-flight record stays: a retry reports an unknown outcome, the safe side
            _ui.run_logger().warning("Could not update the record of submit %s", record.key, exc_info=True)
        if isinstance(error, SubmitOutcomeUnknown):
            raise SubmitOutcomeUnknown(
                endpoint, sent_at=record.sent_at, submit_key=record.key, reason=error.reason
            ) from error.__cause__
        raise
    # Anything else (cancellation, the process exiting) leaves the in-flight record: reported, never re-paid.
    if record is not None:
        try:
            await record.write("accepted", accepted_at=_iso(_now()), submission=job.model_dump(mode="json"))
        except Exception:
            _ui.run_logger().warning("Could not record job %s as accepted", job.job_id, exc_info=True)
    _ui.submitted(job, operation, document, account=client.base_url.host, threshold=credentials.low_credits_threshold)
    return job


def _reason(error: BaseException) -> str:
    if isinstance(error, SubmitOutcomeUnknown):
        return error.reason
    if isinstance(error, PdfcoAPIError):
        return f"HTTP {error.status_code}"
    return type(error.__cause__ or error).__name__
