"""Money safety under the real Prefect engine: one submit per document, whatever retries and re-runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prefect import flow
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import (
    BadRequestError,
    InvalidParametersError,
    JobSubmission,
    PdfcoCredentials,
    SubmitOutcomeUnknown,
    html_to_pdf,
    submit_job,
    wait_for_job,
)

HTML = "/v1/pdf/convert/from/html"


def submits(emulator: PdfcoEmulator) -> int:
    return int(emulator.stats()["requests"].get(HTML, 0))


def records() -> dict[str, dict[str, object]]:
    folder = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    return {path.name: json.loads(path.read_text()) for path in folder.glob("pdfco-submit-*.submit-record")}


def test_a_5xx_says_the_job_may_exist_and_no_retry_sends_it_again(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator
) -> None:
    pdfco_emulator.inject(HTML, status=503, times=5)

    @flow(retries=2, retry_delay_seconds=0)
    def render() -> JobSubmission:
        return html_to_pdf(credentials, "<p>once</p>", name="once.pdf")

    with pytest.raises(SubmitOutcomeUnknown) as raised:
        render()
    assert submits(pdfco_emulator) == 1
    assert "may exist" in str(raised.value) and "job history" in str(raised.value)
    assert "Try again later" not in str(raised.value)


def test_a_lost_answer_is_reported_by_every_retry_until_the_caller_opts_in(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator
) -> None:
    pdfco_emulator.inject(HTML, drop=True, takes_effect=True)

    @flow(retries=1, retry_delay_seconds=0)
    def render(resend: bool = False) -> JobSubmission:
        return html_to_pdf(credentials, "<p>lost</p>", name="lost.pdf", resend_if_unknown=resend)

    with pytest.raises(SubmitOutcomeUnknown):
        render()
    assert pdfco_emulator.stats()["jobs_submitted"] == 1
    assert render(resend=True).job_id  # a new flow run, on purpose
    assert pdfco_emulator.stats()["jobs_submitted"] == 2


def test_a_429_is_sent_again_and_makes_one_job(credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator) -> None:
    pdfco_emulator.inject(HTML, status=429, times=2, headers={"Retry-After": "0"})

    @flow
    def render() -> JobSubmission:
        return html_to_pdf(credentials, "<p>busy</p>")

    assert render().job_id
    assert submits(pdfco_emulator) == 3 and pdfco_emulator.stats()["jobs_submitted"] == 1


def test_a_refused_submit_may_be_sent_again_by_a_flow_retry(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator
) -> None:
    pdfco_emulator.inject(HTML, status=400)

    @flow(retries=1, retry_delay_seconds=0)
    def render() -> JobSubmission:
        return html_to_pdf(credentials, "<p>refused, then fine</p>")

    assert render().job_id
    assert submits(pdfco_emulator) == 2 and pdfco_emulator.stats()["jobs_submitted"] == 1


def test_identical_submits_are_distinct_jobs_and_a_flow_retry_reattaches_to_each(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator
) -> None:
    attempts: list[list[str]] = []

    @flow(retries=1, retry_delay_seconds=0)
    def twice() -> list[str]:
        ids = [html_to_pdf(credentials, "<p>same</p>").job_id for _ in range(2)]
        attempts.append(ids)
        if len(attempts) == 1:
            raise RuntimeError("the flow crashes after its submits")
        return ids

    assert twice() == attempts[0]
    assert len(set(attempts[0])) == 2 and pdfco_emulator.stats()["jobs_submitted"] == 2


def test_a_reattach_long_after_checks_that_pdfco_still_has_the_job(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator
) -> None:
    attempts: list[str] = []

    @flow(retries=1, retry_delay_seconds=0)
    def later() -> str:
        job = html_to_pdf(credentials, "<p>hours later</p>", submit_key="report")
        attempts.append(job.job_id)
        if len(attempts) == 1:
            for path, record in records().items():  # two hours pass before the retry
                if job.job_id not in json.dumps(record):
                    continue
                record["accepted_at"] = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
                (Path(PREFECT_LOCAL_STORAGE_PATH.value()) / path).write_text(json.dumps(record))
            raise RuntimeError("crash")
        return wait_for_job(credentials, job).url or ""

    assert later().startswith("http")
    assert attempts[0] == attempts[1] and pdfco_emulator.stats()["jobs_submitted"] == 1
    assert pdfco_emulator.stats()["requests"].get("/v1/job/check", 0) >= 2  # the forced check, then the wait


def test_submit_keys_name_submits(credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator) -> None:
    @flow
    def named() -> list[str]:
        first = html_to_pdf(credentials, "<p>a</p>", submit_key="invoice-17")
        again = html_to_pdf(credentials, "<p>a</p>", submit_key="invoice-17")
        other = html_to_pdf(credentials, "<p>a</p>", submit_key="invoice-18")
        return [first.job_id, again.job_id, other.job_id]

    first, again, other = named()
    assert first == again != other and pdfco_emulator.stats()["jobs_submitted"] == 2
    with pytest.raises(InvalidParametersError, match="submit_key"):
        flow(lambda: html_to_pdf(credentials, "<p>a</p>", submit_key=""))()


def test_map_goes_over_the_documents_never_over_the_block(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator
) -> None:
    @flow
    def mapped() -> list[str]:
        futures = html_to_pdf.map(credentials, ["<p>1</p>", "<p>2</p>", "<p>3</p>"])
        return [future.result().job_id for future in futures]

    assert len(set(mapped())) == 3 and pdfco_emulator.stats()["jobs_submitted"] == 3


def test_bad_arguments_cost_nothing(credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator) -> None:
    @flow
    def bad() -> None:
        html_to_pdf(credentials, "<p>x</p>", pape_size="A4")  # type: ignore[call-arg]

    with pytest.raises(InvalidParametersError, match="unknown argument 'pape_size'; did you mean 'paper_size'"):
        bad()

    @flow
    def refused() -> None:
        submit_job(credentials, "/v1/pdf/convert/from/html", {"html": ""})

    with pytest.raises(BadRequestError):
        refused()
    assert submits(pdfco_emulator) == 1


def test_records_hold_no_secret(credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator) -> None:
    @flow
    def secret() -> None:
        submit_job(credentials, HTML, {"html": "<p>s</p>", "name": "s.pdf", "profiles": "{'x': 'hunter2'}"})

    secret()
    stored = " ".join(json.dumps(record) for record in records().values())
    assert credentials.api_key.get_secret_value() not in stored and "hunter2" not in stored


def test_local_records_under_a_runner_that_may_use_other_machines_are_warned_about(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner

    class ClusterRunner(ThreadPoolTaskRunner):  # stands for Dask or Ray: tasks may run on other machines
        pass

    @flow(task_runner=ClusterRunner())
    def spread() -> str:
        return html_to_pdf(credentials, "<p>elsewhere</p>").job_id

    with caplog.at_level("WARNING"):
        assert spread()
    assert "Submit records" in caplog.text and "ClusterRunner" in caplog.text
