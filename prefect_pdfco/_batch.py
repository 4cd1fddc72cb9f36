"""The engine behind ``run_batch``: every item followed from its submit to its files, at most once per document.

See docs/guides/batches.md and docs/design/money.md.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from prefect_pdfco import _ui, _waiting
from prefect_pdfco._events import wait_for_end
from prefect_pdfco._exceptions import JobError, PdfcoError
from prefect_pdfco._operations import Operation, OutputKind
from prefect_pdfco._prefect_task import pdfco_task
from prefect_pdfco._submit_guard import SubmitRecord, digest, fingerprint, submit_once
from prefect_pdfco.credentials import PdfcoCredentials, shared_client
from prefect_pdfco.files import Destination, land_result
from prefect_pdfco.models import DownloadedFile, JobResult

DEFAULT_MAX_CONCURRENCY = 16  # submits and downloads in flight; the pacing slows them to what the account admits
MANIFEST = ".pdfco-manifest.jsonl"  # beside the outputs: the files each item landed, for skip_done (design: money)


class BatchItem(BaseModel):
    """What became of one item of a batch.

    Attributes:
        index: The item's place in the list given to ``run_batch``.
        document: How the UI names it: its ``name``, its input's file name, or ``item <index>``.
        job_id: PDF.co's job id, once submitted.
        result: The ``success`` result (None when the files were already there).
        files: The files that landed (empty without a destination).
        error: The typed error the item ended with; None on success.
        skipped: True when an earlier run had landed its files already (``skip_done``): nothing was sent.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    index: int
    document: str = ""
    job_id: str | None = None
    result: JobResult | None = None
    files: list[DownloadedFile] = []
    error: PdfcoError | None = None
    skipped: bool = False

    @property
    def ok(self) -> bool:
        """True when the item succeeded (and landed, given a destination)."""
        return self.error is None


class _Manifest:
    """The lines of ``MANIFEST`` in a directory destination: what landed, from which parameters."""

    def __init__(self, destination: object) -> None:
        self.path = Path(destination) / MANIFEST if isinstance(destination, (str, os.PathLike)) else None
        self.done: dict[str, list[DownloadedFile]] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    self.done[entry["key"]] = [_manifest_file(self.path.parent, file) for file in entry["files"]]
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue  # a line cut by a crash says nothing

    def landed(self, key: str) -> list[DownloadedFile] | None:
        """The files an earlier run landed for ``key``, when every one of them is still there, whole."""
        return _still_there(self.done.get(key, []))

    def add(self, key: str, files: Sequence[DownloadedFile]) -> None:
        if self.path is None or not files:
            return
        landed = [{"name": Path(f.path).name, "size": f.size, "url": f.url, "job_id": f.job_id} for f in files]
        entry = {"key": key, "landed_at": datetime.now(timezone.utc).isoformat(), "files": landed}
        with open(self.path, "a", encoding="utf-8") as handle:  # one short line: appended whole
            handle.write(json.dumps(entry) + "\n")


@pdfco_task(submits=True, task_run_name=lambda: "batch")
async def batch_items(
    credentials: PdfcoCredentials,
    operation: Operation,
    items: list[dict[str, Any]],
    destination: Destination | None,
    *,
    max_wait_seconds: float,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    fail_fast: bool = False,
    skip_done: bool = False,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> list[BatchItem]:
    """Submits, waits for and lands every item, each followed from its own submit; checked items only."""
    client = await shared_client(credentials)
    batch = SubmitRecord.for_task(
        credentials, operation.endpoint, {"operation": operation.name, "items": items}, submit_key
    )
    manifest = _Manifest(destination) if destination is not None else None
    slots, downloads = asyncio.Semaphore(max_concurrency), asyncio.Semaphore(max_concurrency)
    # Names taken by every landing, an earlier attempt's too: landings wait until each item knows if it landed before.
    taken: set[str] = set()
    unchecked, all_checked = [len(items)], asyncio.Event()
    progress = _ui.Progress(len(items), f"PDF.co documents done, of {len(items)}")
    observer, end_signal = _ui.Observer(link_artifacts=False), wait_for_end if credentials.callback_url else None
    waiter = _waiting.Waiter(
        client, operation.poll_policy, max_wait_seconds, slots=slots, observer=observer, end_signal=end_signal
    )

    async def one(index: int, params: dict[str, Any]) -> BatchItem:
        label = _ui.document_label(params)
        document = f"{label} (item {index})" if label else f"item {index}"
        key = digest({"operation": operation.name, "params": fingerprint(params, credentials)})
        record = batch.item(f"item-{index}") if batch is not None else None
        item = BatchItem(index=index, document=document)
        try:
            try:
                earlier = await record.read() if record is not None else None
                files = _landed(earlier) or (manifest.landed(key) if manifest is not None and skip_done else None)
                taken.update(Path(file.path).name.lower() for file in files or ())
            finally:
                unchecked[0] -= 1
                if unchecked[0] == 0:
                    all_checked.set()
            if files is not None:
                _ui.run_logger().info("%s: landed already, not sent again", document)
                return item.model_copy(update={"files": files, "skipped": True, "job_id": files[0].job_id})
            async with slots:
                job = await submit_once(
                    credentials,
                    operation.endpoint,
                    params,
                    operation.name,
                    submit_key,
                    resend_if_unknown,
                    document,
                    record=record,
                )
            item = item.model_copy(update={"job_id": job.job_id})
            result = await waiter.follow(job.job_id)
            item = item.model_copy(update={"result": result})
            if destination is not None and operation.output is not OutputKind.NONE:
                async with downloads:
                    await all_checked.wait()
                    files = await land_result(
                        client, result, destination, output=operation.output, taken=taken, index=index
                    )
                item = item.model_copy(update={"files": files})
                if record is not None:
                    await record.write(
                        "landed", submission=job.model_dump(mode="json"), files=[f.model_dump() for f in files]
                    )
                if manifest is not None:
                    manifest.add(key, files)
            return item
        except PdfcoError as error:
            if fail_fast:
                raise
            # A job's own outcome keeps PDF.co's words (the status column says failed): the reason fits the table.
            reason = error.message if isinstance(error, JobError) and error.message else _ui.failure_line(error)
            _ui.row_of(item.job_id or f"item-{index}").error = reason
            return item.model_copy(update={"error": error})
        finally:
            await progress.advance()

    token = _ui.quiet_items.set(True)  # one summary rather than lines and artifacts per document
    try:
        await progress.start()
        outcomes = await _waiting.gather_or_cancel([one(index, dict(params)) for index, params in enumerate(items)])
    finally:
        _ui.quiet_items.reset(token)
    await progress.advance(0, force=True)
    return outcomes


def _landed(earlier: Mapping[str, Any] | None) -> list[DownloadedFile] | None:
    """The files an earlier attempt of this item landed, when they are all still there."""
    if not earlier or earlier.get("state") != "landed":
        return None
    return _still_there([DownloadedFile.model_validate(file) for file in earlier.get("files") or []])


def _manifest_file(folder: Path, file: dict[str, Any]) -> DownloadedFile:
    path, url = folder / str(file.get("name")), file.get("url", "")
    return DownloadedFile(path=str(path), size=file["size"], url=url, job_id=file.get("job_id"))


def _still_there(files: list[DownloadedFile]) -> list[DownloadedFile] | None:
    if files and all(Path(f.path).is_file() and Path(f.path).stat().st_size == f.size for f in files):
        return files
    return None
