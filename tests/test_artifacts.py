"""What the Prefect UI shows, read back through Prefect's own API after real runs against the emulator."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
from prefect.context import get_run_context
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from prefect_pdfco import (
    JobFailed,
    JobResult,
    PdfcoCredentials,
    download_result,
    submit_job,
    wait_for_job,
    wait_for_jobs,
)
from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.ui import ledger as _ledger_module
from prefect_pdfco.ui.artifacts import slug
from prefect_pdfco.ui.ledger import JOB_ID_SHOWN, short_job_id

pytestmark = pytest.mark.usefixtures("prefect_harness")

PASSWORD = "pdf-" + "secret-pass"  # built, so tracebacks quoting the source do not show it


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.2) as emu:
        yield emu


def test_slug() -> None:
    assert slug("Pdfco Result 6YSZD3U872ZYYFEDMQCQSGEEO8YSF5WA--151-300") == (
        "pdfco-result-6yszd3u872zyyfedmqcqsgeeo8ysf5wa-151-300"
    )
    assert slug("***") == "job"


async def _artifacts_of(flow_run_id: UUID) -> list[Any]:
    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )


async def _events(name_prefix: str, resource_id: str | None = None, expected: int = 1) -> list[Any]:
    filter_ = EventFilter(event=EventNameFilter(prefix=[name_prefix]))
    if resource_id:
        filter_.resource = EventResourceFilter(id=[resource_id])
    async with get_client() as client:
        for _ in range(60):  # events reach the API asynchronously
            page = await client.read_events(filter=filter_, limit=50)
            if len(page.events) >= expected:
                return page.events
            await asyncio.sleep(0.25)
    return page.events


async def _logs_of(flow_run_id: UUID) -> list[str]:
    async with get_client() as client:
        for _ in range(20):
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            if logs:
                await asyncio.sleep(0.5)
                logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
                return [log.message for log in logs]
            await asyncio.sleep(0.25)
    return []


async def test_a_chained_run_leaves_links_table_events_and_clean_logs(emulator: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = PdfcoCredentials(api_key=emulator.api_key, base_url=emulator.base_url, low_credits_threshold=10**9)

    @flow
    async def chained() -> tuple[UUID, str, JobResult, str]:
        run_id = get_run_context().flow_run.id  # type: ignore[union-attr]
        job = await submit_job(credentials, "/v1/pdf/convert/from/html", {"html": "<h1>Hi</h1>"})
        result = await wait_for_job(credentials, job.job_id, initial_poll_seconds=0.05, max_poll_seconds=0.1)
        await download_result(result, str(tmp_path), filename="hello.pdf")
        emulator.inject_job_outcome("failed", message="Invalid password", times=1)
        params = {"url": result.url, "password": PASSWORD}
        failing = await submit_job(credentials, "/v1/pdf/security/remove", params)
        with pytest.raises(JobFailed):
            await wait_for_job(credentials, failing.job_id, initial_poll_seconds=0.05)
        return run_id, failing.job_id, result, job.job_id

    run_id, failed_id, result, job_id = await chained()

    artifacts = await _artifacts_of(run_id)
    links = [a for a in artifacts if a.type == "markdown" and result.url and result.url in str(a.data)]
    assert len(links) == 1 and links[0].key is None  # no card per job on the Artifacts page
    assert "valid until" in (links[0].description or "") and job_id in (links[0].description or "")
    failures = [a for a in artifacts if a.type == "markdown" and "What to do" in str(a.data)]
    assert len(failures) == 1 and failures[0].key is None and "Invalid password" in str(failures[0].data)

    tables = [a for a in artifacts if a.key == "pdfco-jobs"]
    assert len(tables) == 1, "a short run writes its jobs table once, when it ends"
    table = tables[0]
    assert table.task_run_id is None and table.flow_run_id == run_id
    rows = table.data if isinstance(table.data, list) else __import__("json").loads(table.data)
    assert all(len(row) <= 8 for row in rows)
    by_job = {row["job"]: row for row in rows}
    job_id_shown, failed_id_shown = short_job_id(job_id), short_job_id(failed_id)
    assert job_id.startswith(job_id_shown.rstrip("…")) and len(job_id_shown) <= JOB_ID_SHOWN + 1
    assert by_job[job_id_shown]["status"] == "success"
    assert by_job[job_id_shown]["operation"] == "pdf/convert/from/html"
    assert by_job[job_id_shown]["pages"] == 1
    size = (tmp_path / "hello.pdf").stat().st_size
    expected_size = f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} B"
    assert f"Downloaded 1 file(s), {expected_size}." in (table.description or "")
    assert by_job[job_id_shown]["checks"] > 0
    assert by_job[failed_id_shown]["status"] == "failed"
    total = rows[-1]
    assert total["operation"] == "total"
    assert total["credits"] == sum(by_job[j]["credits"] for j in (job_id_shown, failed_id_shown))
    assert total["checks"] == by_job[job_id_shown]["checks"] + by_job[failed_id_shown]["checks"]
    assert "credits left" in (table.description or "")
    assert _ledger_module._ledgers.get(str(run_id)) is None, "the run's ledger is dropped when the run ends"
    # The table shows what PDF.co billed; the refund of a failed job's submit is not reported by PDF.co.
    stats = emulator.stats()
    assert stats["credits_used"] == total["credits"] + 2 * total["checks"] - stats["credits_refunded"]

    submitted = await _events("pdfco.job.submitted", f"pdfco.job.{job_id}")
    assert submitted
    assert submitted[0].resource["prefect.resource.name"] == f"PDF.co job {job_id} (pdf/convert/from/html)"
    succeeded = await _events("pdfco.job.succeeded", f"pdfco.job.{job_id}")
    assert succeeded[0].payload["operation"] == "pdf/convert/from/html"
    assert succeeded[0].payload["check_credits"] == 2 * by_job[job_id_shown]["checks"]
    assert {"credits", "remaining_credits", "duration_seconds"} <= set(succeeded[0].payload)
    failed = await _events("pdfco.job.failed", f"pdfco.job.{failed_id}")
    assert failed[0].payload["message"] == "Invalid password"
    assert await _events("pdfco.credits.low")

    logs = await _logs_of(run_id)
    assert any(job_id in line for line in logs)
    # Result links are the one place a presigned URL belongs (that is their point); nowhere else.
    everything = "\n".join(logs) + str([a.data for a in artifacts if a not in links])
    for secret in (emulator.api_key, PASSWORD, "X-Amz-Signature"):
        assert secret not in everything


def test_wait_for_jobs_keeps_successes_beside_failures_and_tracks_progress(emulator: PdfcoEmulator) -> None:
    credentials = emulator.credentials()

    @flow
    def batch() -> tuple[UUID, list[Any]]:
        run_id = get_run_context().flow_run.id  # type: ignore[union-attr]
        ok = submit_job(credentials, "/v1/pdf/convert/from/html", {"html": "<p>one</p>"})
        emulator.inject_job_outcome("failed", message="damaged")
        bad = submit_job(credentials, "/v1/pdf/convert/from/html", {"html": "<p>two</p>"})
        results = wait_for_jobs(
            credentials,
            [ok.job_id, bad.job_id, "NO-SUCH-JOB"],
            max_wait_seconds=1.0,
            initial_poll_seconds=0.05,
            max_poll_seconds=0.1,
        )
        return run_id, results

    run_id, results = batch()
    assert isinstance(results[0], JobResult) and results[0].url
    assert isinstance(results[1], JobFailed) and results[1].message == "damaged"
    assert type(results[2]).__name__ == "JobNotFound"
    progress = [a for a in asyncio.run(_artifacts_of(run_id)) if a.type == "progress"]
    assert progress and float(progress[-1].data) == 100.0


def test_a_long_single_wait_shows_its_time_budget_as_progress(
    emulator: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect_pdfco.jobs import wait as _waiting

    monkeypatch.setattr(_waiting, "LONG_WAIT_SECONDS", 0.1)
    credentials = emulator.credentials()
    emulator.set_job_duration(0.6)

    @flow
    def long_wait() -> UUID:
        job = submit_job(credentials, "/v1/pdf/convert/from/html", {"html": "<p>slow</p>"})
        wait_for_job(credentials, job.job_id, initial_poll_seconds=0.1, max_poll_seconds=0.1)
        return get_run_context().flow_run.id  # type: ignore[union-attr]

    run_id = long_wait()
    progress = [a for a in asyncio.run(_artifacts_of(run_id)) if a.type == "progress"]
    assert len(progress) == 1 and float(progress[0].data) == 100.0
    assert "share of the 1800 s wait used" in (progress[0].description or "")


async def test_a_wait_alone_notices_low_credits(emulator: PdfcoEmulator) -> None:
    threshold = 10**9 + 7  # unique, to find this test's event among the session's
    credentials = PdfcoCredentials(
        api_key=emulator.api_key, base_url=emulator.base_url, low_credits_threshold=threshold
    )
    submission = await submit_job.fn(credentials, "/v1/pdf/convert/from/html", {"html": "<p>x</p>"})  # no run: no event

    @flow
    async def just_wait() -> None:
        await wait_for_job(credentials, submission.job_id, initial_poll_seconds=0.05, max_poll_seconds=0.1)

    await just_wait()
    mine: list[Any] = []
    for _ in range(60):  # events reach the API asynchronously, among other tests' events of the same name
        events = await _events("pdfco.credits.low")
        mine = [event for event in events if event.payload.get("threshold") == threshold]
        if mine:
            break
        await asyncio.sleep(0.25)
    assert mine and mine[0].payload["remaining_credits"] < threshold


def test_long_runs_republish_the_table_at_a_bounded_rate_and_forget_the_run_at_its_end(
    emulator: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = emulator.credentials()
    monkeypatch.setattr(_ledger_module, "PUBLISH_INTERVAL_SECONDS", 0.0)  # every change is "long enough ago"

    @flow
    def two_jobs() -> UUID:
        for n in (1, 2):
            job = submit_job(credentials, "/v1/pdf/convert/from/html", {"html": f"<p>{n}</p>"})
            wait_for_job(credentials, job.job_id, initial_poll_seconds=0.05, max_poll_seconds=0.1)
        return get_run_context().flow_run.id  # type: ignore[union-attr]

    run_id = two_jobs()
    tables = sorted((a for a in asyncio.run(_artifacts_of(run_id)) if a.key == "pdfco-jobs"), key=lambda a: a.created)
    # One version per finished job during the run, and the final one from the end-of-run hook.
    assert len(tables) == 3
    final = tables[-1].data if isinstance(tables[-1].data, list) else __import__("json").loads(tables[-1].data)
    assert [row["status"] for row in final[:-1]] == ["success", "success"]
    assert str(run_id) not in _ledger_module._ledgers


def test_ledgers_of_runs_never_seen_ending_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ledger_module, "_ledgers", __import__("collections").OrderedDict())
    with _ledger_module._lock:
        for n in range(_ledger_module.MAX_LEDGERS + 10):
            _ledger_module._ledger(f"run-{n}")
    assert len(_ledger_module._ledgers) == _ledger_module.MAX_LEDGERS
    assert "run-0" not in _ledger_module._ledgers and f"run-{_ledger_module.MAX_LEDGERS + 9}" in _ledger_module._ledgers


def test_wait_for_jobs_lists_its_results_in_one_artifact_and_one_log_line(emulator: PdfcoEmulator) -> None:
    credentials = emulator.credentials()

    @flow
    def batch() -> tuple[UUID, list[Any]]:
        run_id = get_run_context().flow_run.id  # type: ignore[union-attr]
        jobs = [submit_job(credentials, "/v1/pdf/convert/from/html", {"html": f"<p>{n}</p>"}) for n in range(3)]
        emulator.inject_job_outcome("failed", message="damaged")
        bad = submit_job(credentials, "/v1/pdf/convert/from/html", {"html": "<p>bad</p>"})
        ids = [job.job_id for job in jobs] + [bad.job_id]
        return run_id, wait_for_jobs(credentials, ids, initial_poll_seconds=0.05, max_poll_seconds=0.1)

    run_id, results = batch()
    done = [result for result in results if isinstance(result, JobResult)]
    assert len(done) == 3 and isinstance(results[3], JobFailed)
    artifacts = asyncio.run(_artifacts_of(run_id))
    listed = [a for a in artifacts if a.type == "markdown" and "| job | result |" in str(a.data)]
    assert len(listed) == 1 and listed[0].key is None
    for result in done:  # no link artifact per result: each would be one more Prefect API call
        assert [a for a in artifacts if str(result.url) in str(a.data)] == listed
    assert all(result.job_id in str(listed[0].data) and str(result.url) in str(listed[0].data) for result in done)
    assert "Results of 3 PDF.co job(s) of 4" in (listed[0].description or "")
    assert len([a for a in artifacts if a.type == "markdown" and "What to do" in str(a.data)]) == 1
    logs = asyncio.run(_logs_of(run_id))
    summary = [line for line in logs if line.startswith("3 of 4 job(s) succeeded (1 JobFailed) after ")]
    assert len(summary) == 1 and re.search(r"after (\d+) check\(s\) \((\d+) credits\)", summary[0])
    assert not any(" succeeded: " in line for line in logs), "no INFO line per job"


async def test_a_batch_announces_its_submits_together_and_each_end_on_its_own(
    emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    from prefect_pdfco.flows import run_batch

    items = [{"html": f"<p>{n}</p>", "name": f"d{n}.pdf"} for n in range(3)]

    @flow
    async def nightly() -> list[str]:
        batch = await run_batch.aio(emulator.credentials(), "html_to_pdf", items, tmp_path)
        return [str(item.job_id) for item in batch.items]

    job_ids = await nightly()
    announced = await _events("pdfco.batch.submitted")
    mine = [event for event in announced if set(event.payload["job_ids"]) & set(job_ids)]
    assert sorted(job for event in mine for job in event.payload["job_ids"]) == sorted(job_ids)
    assert mine[0].payload["operation"] == "html_to_pdf" and mine[0].resource.id.startswith("pdfco.batch.")
    for job_id in job_ids:
        assert await _events("pdfco.job.succeeded", f"pdfco.job.{job_id}")
    assert not await _events("pdfco.job.submitted", f"pdfco.job.{job_ids[0]}", expected=0)
