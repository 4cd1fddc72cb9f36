"""Money safety of submits under the real Prefect engine: one submit per document, whatever retries.

PDF.co bills every submit and has no idempotency key. A submit whose outcome is unknown (read timeout, 5xx, a
process that died mid-request) must never be sent again by a task retry, a flow retry or a re-run of the flow
run; a refused one (4xx, 429) may be. Identical submits stay distinct jobs, keyed where the call is made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import httpx
import pytest
import respx
from prefect import flow, unmapped
from prefect.context import FlowRunContext
from prefect.results import ResultRecord
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from prefect.transactions import get_transaction
from pydantic import SecretStr

from prefect_pdfco import (
    BadRequestError,
    InvalidParametersError,
    JobSubmission,
    PdfcoConnectionError,
    PdfcoCredentials,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknown,
    html_to_pdf,
    remove_password,
    submit_job,
)
from prefect_pdfco.jobs import submit as _submit
from prefect_pdfco.jobs.keys import SubmitCachePolicy, fingerprint_key, fingerprint_secrets
from prefect_pdfco.jobs.submit import RECORD_SUFFIX, refused
from prefect_pdfco.testing import PdfcoEmulator

from .conftest import API, API_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")

MERGE = f"{API}/v1/pdf/merge"
HTML = f"{API}/v1/pdf/convert/from/html"
RESULT_URL = "https://pdf-temp-files.s3.us-west-2.amazonaws.com/J1/result.pdf"


def submitted(job_id: str = "J1") -> httpx.Response:
    return httpx.Response(200, json={"jobId": job_id, "url": RESULT_URL, "error": False, "status": 200})


def jobs(count: int) -> list[httpx.Response]:
    return [submitted(f"J{index}") for index in range(count)]


def records() -> dict[str, dict[str, Any]]:
    """Every submit record in the local result storage, by file name."""
    found = {}
    for path in Path(PREFECT_LOCAL_STORAGE_PATH.value()).glob(f"*{RECORD_SUFFIX}"):
        found[path.name] = ResultRecord.deserialize(path.read_bytes()).result
    return found


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emu:
        yield emu


@pytest.fixture
def own_credentials() -> PdfcoCredentials:
    """Credentials with an API key of their own, so no other test's rate limiter or records are shared."""
    return PdfcoCredentials(api_key=f"sk-{uuid4().hex}", base_url=API)


# --- unknown outcomes are never sent again ------------------------------------------------------------------


def test_a_read_timeout_is_not_sent_again_by_flow_retries(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    route = pdfco.post(MERGE).mock(side_effect=httpx.ReadTimeout("timed out"))
    errors: list[BaseException] = []

    @flow(retries=2, retry_delay_seconds=0)
    def merge() -> JobSubmission:
        try:
            return submit_job(own_credentials, "/v1/pdf/merge", {"url": "https://x/a.pdf"})
        except Exception as error:
            errors.append(error)
            raise

    with pytest.raises(SubmitOutcomeUnknown) as info:
        merge()
    assert route.call_count == 1
    assert [type(error) for error in errors] == [PdfcoConnectionError, SubmitOutcomeUnknown, SubmitOutcomeUnknown]
    error = info.value
    assert error.endpoint == "/v1/pdf/merge" and error.sent_at is not None and error.sent_at.tzinfo is not None
    assert "ReadTimeout" in error.reason and error.submit_key.endswith(RECORD_SUFFIX)
    for words in ("/v1/pdf/merge", " UTC", "https://app.pdf.co", "resend_if_unknown=True", "job history"):
        assert words in str(error)


async def test_a_5xx_is_not_sent_again_by_flow_retries_of_an_async_flow(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    route = pdfco.post(HTML).mock(return_value=httpx.Response(503, text="Service Unavailable"))
    errors: list[BaseException] = []

    @flow(retries=2, retry_delay_seconds=0)
    async def render() -> JobSubmission:
        try:
            return await html_to_pdf(own_credentials, "<h1>Invoice</h1>")
        except Exception as error:
            errors.append(error)
            raise

    with pytest.raises(SubmitOutcomeUnknown) as info:
        await render()
    assert route.call_count == 1
    assert [type(error) for error in errors] == [ServerError, SubmitOutcomeUnknown, SubmitOutcomeUnknown]
    assert info.value.reason == "HTTP 503" and info.value.endpoint == "/v1/pdf/convert/from/html"


def test_the_caller_may_opt_in_to_sending_again(own_credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    route = pdfco.post(HTML).mock(side_effect=[httpx.ReadTimeout("timed out"), submitted("J2")])
    attempts: list[int] = []

    @flow(retries=1, retry_delay_seconds=0)
    def render() -> JobSubmission:
        attempts.append(1)
        return html_to_pdf(own_credentials, "<h1>Invoice</h1>", resend_if_unknown=len(attempts) > 1)

    assert render().job_id == "J2"
    assert route.call_count == 2


def test_the_record_says_in_flight_before_the_request_leaves(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        transaction = get_transaction()
        assert transaction is not None and transaction.key
        path = Path(PREFECT_LOCAL_STORAGE_PATH.value()) / (transaction.key + RECORD_SUFFIX)
        seen.append(ResultRecord.deserialize(path.read_bytes()).result["state"])
        return submitted()

    pdfco.post(MERGE).mock(side_effect=answer)

    @flow
    def merge() -> JobSubmission:
        return submit_job(own_credentials, "/v1/pdf/merge", {"url": "https://x/recorded.pdf"})

    assert merge().job_id == "J1"
    assert seen == ["in_flight"]


class ProcessDied(BaseException):
    """What the engine sees when the process is killed mid-request: nothing after it runs."""


def test_a_crash_mid_request_then_a_rerun_of_the_same_flow_run_is_detected(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    sent: list[httpx.Request] = []

    def die(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise ProcessDied

    route = pdfco.post(MERGE).mock(side_effect=die)
    run_ids: list[str] = []

    @flow
    def merge() -> JobSubmission:
        run_ids.append(str(FlowRunContext.get().flow_run.id))  # type: ignore[union-attr]
        return submit_job(own_credentials, "/v1/pdf/merge", {"url": "https://x/crash.pdf"})

    with pytest.raises(ProcessDied):
        merge()
    states = {record["state"] for record in records().values() if record["endpoint"] == "/v1/pdf/merge"}
    assert "in_flight" in states

    # The same flow run, re-run (as a worker does after a crash, or "Retry" in the UI).
    route.mock(side_effect=jobs(1))
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_ids[0], Scheduled(), force=True)
        flow_run = client.read_flow_run(run_ids[0])
    state = run_flow(merge, flow_run=flow_run, return_type="state")
    assert run_ids == [run_ids[0], run_ids[0]]
    assert state.is_failed()
    with pytest.raises(SubmitOutcomeUnknown, match=r"the attempt stopped before PDF\.co's answer was recorded"):
        state.result()
    assert len(sent) == 1 and route.call_count == 0  # the re-run sent nothing


def test_an_answer_recorded_before_a_crash_is_handed_back(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    route = pdfco.post(MERGE).mock(side_effect=jobs(2))
    attempts: list[str] = []

    @flow(retries=1, retry_delay_seconds=0)
    def merge() -> str:
        job = submit_job(own_credentials, "/v1/pdf/merge", {"url": "https://x/window.pdf"})
        attempts.append(job.job_id)
        if len(attempts) == 1:
            # The process died after PDF.co answered but before Prefect persisted the task's result.
            for path in Path(PREFECT_LOCAL_STORAGE_PATH.value()).glob("pdfco-submit-*"):
                if not path.name.endswith(RECORD_SUFFIX) and records().get(path.name + RECORD_SUFFIX):
                    path.unlink()
            raise RuntimeError("died")
        return job.job_id

    assert merge() == "J0"
    assert attempts == ["J0", "J0"]
    assert route.call_count == 1


# --- refused submits may be sent again ----------------------------------------------------------------------


def test_a_429_is_sent_again_and_makes_one_job(own_credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    too_many = httpx.Response(429, headers={"Retry-After": "0"}, json={"error": True, "message": "Too many"})
    route = pdfco.post(MERGE).mock(side_effect=[too_many, submitted("J7")])

    @flow
    def merge() -> JobSubmission:
        return submit_job(own_credentials, "/v1/pdf/merge", {"url": "https://x/a.pdf"})

    assert merge().job_id == "J7"
    assert route.call_count == 2


def test_a_refused_submit_may_be_sent_again_by_a_flow_retry(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    bad = httpx.Response(400, json={"error": True, "status": 400, "message": "Bad url"})
    route = pdfco.post(MERGE).mock(side_effect=[bad, submitted("J3")])
    errors: list[BaseException] = []

    @flow(retries=1, retry_delay_seconds=0)
    def merge() -> JobSubmission:
        try:
            return submit_job(own_credentials, "/v1/pdf/merge", {"url": "https://x/refused.pdf"})
        except Exception as error:
            errors.append(error)
            raise

    assert merge().job_id == "J3"
    assert route.call_count == 2
    assert [type(error) for error in errors] == [BadRequestError]


def test_what_counts_as_refused() -> None:
    request = httpx.Request("POST", MERGE)
    assert refused(BadRequestError("bad", status_code=400))
    assert refused(RateLimitError("slow down", status_code=429))
    assert refused(PdfcoConnectionError("refused", request=request, may_have_reached_server=False))
    assert not refused(PdfcoConnectionError("lost", request=request, may_have_reached_server=True))
    assert not refused(ServerError("oops", status_code=502))
    assert not refused(ValueError("anything else"))


# --- identical submits, explicit keys -----------------------------------------------------------------------


def test_identical_submits_stay_distinct_jobs_and_a_retry_reattaches_to_each(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    route = pdfco.post(HTML).mock(side_effect=jobs(4))
    attempts: list[list[str]] = []

    @flow(retries=1, retry_delay_seconds=0)
    def render() -> list[str]:
        called = html_to_pdf(own_credentials, "<p>same</p>").job_id
        submitted_ = html_to_pdf.submit(own_credentials, "<p>same</p>").result().job_id
        mapped = [
            job.job_id for job in html_to_pdf.map(unmapped(own_credentials), ["<p>same</p>", "<p>same</p>"]).result()
        ]
        attempts.append([called, submitted_, *mapped])
        if len(attempts) == 1:
            raise RuntimeError("crash after the submits")
        return attempts[-1]

    first = render()
    assert sorted(first) == ["J0", "J1", "J2", "J3"]
    assert attempts[0] == attempts[1]
    assert route.call_count == 4


def test_explicit_submit_keys(own_credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    route = pdfco.post(HTML).mock(side_effect=jobs(3))

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def render() -> list[str]:
        named = [html_to_pdf(own_credentials, "<p>x</p>", submit_key=key).job_id for key in ("a", "b")]
        again = html_to_pdf(own_credentials, "<p>x</p>", submit_key="a").job_id
        together = [html_to_pdf.submit(own_credentials, "<p>x</p>", submit_key="c") for _ in range(3)]
        return [*named, again, *(future.result().job_id for future in together)]

    ids = render()
    assert ids[:3] == ["J0", "J1", "J0"]
    assert len(set(ids[3:])) == 1 and ids[3] not in ids[:3]
    assert route.call_count == 3


def test_mapped_runs_take_a_list_of_keys(own_credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    route = pdfco.post(HTML).mock(side_effect=jobs(2))

    @flow
    def render() -> list[str]:
        pages = ["<p>a</p>", "<p>a</p>"]
        return [job.job_id for job in html_to_pdf.map(unmapped(own_credentials), pages, submit_key=["x", "y"]).result()]

    assert sorted(render()) == ["J0", "J1"]
    assert route.call_count == 2


def test_a_submit_key_must_be_a_string(own_credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    route = pdfco.post(MERGE).mock(side_effect=jobs(1))

    @flow
    def merge() -> JobSubmission:
        return submit_job(own_credentials, "/v1/pdf/merge", {"url": "u"}, submit_key=17)  # type: ignore[arg-type]

    with pytest.raises(InvalidParametersError, match="submit_key"):
        merge()
    assert route.call_count == 0


# --- keys: counted where the call is made, stateless where they are computed --------------------------------


def _task_ctx(task_name: str = "submit_job", flow_run_id: str = "run-1") -> Any:
    return SimpleNamespace(task=SimpleNamespace(name=task_name), task_run=SimpleNamespace(flow_run_id=flow_run_id))


def _key(inputs: dict[str, Any], api_key: str = API_KEY) -> str | None:
    credentials = PdfcoCredentials(api_key=api_key, base_url=API)
    return SubmitCachePolicy().compute_key(_task_ctx(), {"credentials": credentials, **inputs}, {})


def test_computing_a_key_keeps_no_count() -> None:
    inputs = {"endpoint": "/v1/pdf/merge", "params": {"url": "u"}, "submit_key": "auto-x-0"}
    keys = [_key(inputs) for _ in range(3)]
    keys.append(_key({**inputs, "resend_if_unknown": True}))
    worker: list[str | None] = []
    thread = threading.Thread(target=lambda: worker.append(_key(inputs)))
    thread.start()
    thread.join()
    assert len({*keys, *worker}) == 1 and keys[0] is not None
    assert _key({**inputs, "submit_key": "auto-x-1"}) != keys[0]
    assert _key({**inputs, "submit_key": None}) is None  # not keyed where it was called: never merged


def test_identical_calls_are_numbered_where_they_are_made(own_credentials: PdfcoCredentials) -> None:
    from prefect_pdfco.jobs.keys import with_submit_key

    @flow
    def calls() -> tuple[str, list[str]]:
        made = [with_submit_key(html_to_pdf, (own_credentials, "<p>same</p>"), {}) for _ in range(2)]
        made.append(with_submit_key(html_to_pdf, (own_credentials,), {"html": "<p>other</p>"}))
        flow_run_id = str(FlowRunContext.get().flow_run.id)  # type: ignore[union-attr]
        return flow_run_id, [call["submit_key"] for call in made]

    flow_run_id, submit_keys = calls()
    assert submit_keys[0].endswith("-0") and submit_keys[1].endswith("-1") and submit_keys[2].endswith("-0")
    assert len(set(submit_keys)) == 3

    # Each worker computes its key with no memory of other calls: one thread per task run, as on other machines.
    computed: list[str | None] = []
    inputs = [{"html": "<p>same</p>"}, {"html": "<p>same</p>"}, {"html": "<p>other</p>"}]
    for submit_key, values in zip(submit_keys, inputs, strict=True):
        context = _task_ctx("html_to_pdf", flow_run_id)
        worker = threading.Thread(
            target=lambda c=context, v=values, k=submit_key: computed.append(
                SubmitCachePolicy().compute_key(c, {"credentials": own_credentials, **v, "submit_key": k}, {})
            )
        )
        worker.start()
        worker.join()
    assert None not in computed and len(set(computed)) == 3


def test_identical_submits_on_worker_processes_are_distinct_jobs(emulator: PdfcoEmulator) -> None:
    credentials = emulator.credentials()

    @flow(task_runner=ProcessPoolTaskRunner(max_workers=2))
    def render() -> list[str]:
        futures = [html_to_pdf.submit(credentials, "<p>same</p>") for _ in range(2)]
        return [future.result().job_id for future in futures]

    assert len(set(render())) == 2
    assert emulator.stats()["jobs_submitted"] == 2


def test_password_fingerprints_are_keyed_fast_hmacs() -> None:
    password = "hunter" + "2"
    base = {"endpoint": "/v1/pdf/security/remove", "submit_key": "k"}
    same = _key({**base, "params": {"url": "u", "password": password}})
    assert same == _key({**base, "params": {"url": "u", "password": SecretStr(password)}})
    assert same != _key({**base, "params": {"url": "u", "password": "hunter3"}})
    assert same != _key({**base, "params": {"url": "u", "password": password}}, api_key="sk-other")
    # Typed tasks name it http_password; PDF.co's payloads httpPassword: both are secrets.
    typed = fingerprint_secrets({"http_password": password, "extra": {"ownerPassword": password}}, key=b"k")
    text = json.dumps(typed) + str(same)
    assert password not in text and hashlib.sha256(password.encode()).hexdigest()[:16] not in text
    whole = fingerprint_secrets(SecretStr(password), key=b"k")
    assert typed["http_password"] == typed["extra"]["ownerPassword"] == whole
    assert fingerprint_key(SecretStr(API_KEY)) != fingerprint_key("sk-other")


def test_the_api_key_and_passwords_never_reach_the_result_store(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    pdfco.post(f"{API}/v1/pdf/security/remove").mock(side_effect=jobs(1))
    password = "hunter" + "2"
    secret_api_key = own_credentials.api_key.get_secret_value()

    @flow
    def unlock() -> JobSubmission:
        return remove_password(own_credentials, "https://x/locked.pdf", password=password)

    unlock()
    storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    for path in storage.iterdir():
        if path.is_file():
            content = path.read_bytes()
            assert secret_api_key.encode() not in content and password.encode() not in content
            assert secret_api_key not in path.name and password not in path.name


# --- shared result storage for multi-machine deployments ----------------------------------------------------


@pytest.fixture
def fresh_warning_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_submit, "_storage_warned", False)
    monkeypatch.setattr(_submit, "_storage_checked", set())
    monkeypatch.setattr(_submit, "_pool_types", {})
    yield


@pytest.mark.usefixtures("fresh_warning_state")
def test_local_storage_on_remote_workers_is_warned_once_per_process(
    own_credentials: PdfcoCredentials,
    pdfco: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pdfco.post(MERGE).mock(side_effect=jobs(4))

    async def kubernetes(flow_ctx: Any) -> str:
        return "the deployment runs on work pool 'k8s' of type 'kubernetes' (a fresh container or machine per run)"

    monkeypatch.setattr(_submit, "_elsewhere_reason", kubernetes)

    @flow
    def merge() -> None:
        submit_job(own_credentials, "/v1/pdf/merge", {"url": "u"})
        submit_job(own_credentials, "/v1/pdf/merge", {"url": "u"})

    with caplog.at_level(logging.WARNING):
        merge()
        merge()
    warnings = [r.getMessage() for r in caplog.records if "local result storage" in r.getMessage()]
    assert len(warnings) == 1
    assert "kubernetes" in warnings[0] and "PREFECT_DEFAULT_RESULT_STORAGE_BLOCK" in warnings[0]


@pytest.mark.usefixtures("fresh_warning_state")
async def test_what_counts_as_running_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    class DaskLikeTaskRunner:
        pass

    async def pool_type(name: str) -> str:
        return {"local": "process", "cluster": "kubernetes"}[name]

    monkeypatch.setattr(_submit, "_work_pool_type", pool_type)

    def context(runner: Any, pool: str | None = None) -> Any:
        flow_run = SimpleNamespace(deployment_id=uuid4() if pool else None, work_pool_name=pool)
        return SimpleNamespace(task_runner=runner, flow_run=flow_run)

    assert await _submit._elsewhere_reason(context(ThreadPoolTaskRunner())) is None
    assert await _submit._elsewhere_reason(context(ProcessPoolTaskRunner())) is None
    assert await _submit._elsewhere_reason(context(ThreadPoolTaskRunner(), "local")) is None
    assert "DaskLikeTaskRunner" in str(await _submit._elsewhere_reason(context(DaskLikeTaskRunner())))
    assert "kubernetes" in str(await _submit._elsewhere_reason(context(ThreadPoolTaskRunner(), "cluster")))


def test_every_submitting_task_takes_the_submit_options() -> None:
    import inspect

    import prefect_pdfco
    from prefect_pdfco.jobs.keys import SubmitTask

    submitting = [getattr(prefect_pdfco, name) for name in prefect_pdfco.__all__]
    submitting = [task for task in submitting if isinstance(task, SubmitTask)]
    assert submit_job in submitting and html_to_pdf in submitting and len(submitting) > 20
    for task in submitting:
        parameters = inspect.signature(task.fn).parameters
        assert parameters["submit_key"].default is None and parameters["resend_if_unknown"].default is False
        assert "submit_key:" in (task.fn.__doc__ or "") and "resend_if_unknown:" in (task.fn.__doc__ or "")


def test_a_subflow_made_anew_by_a_parent_retry_does_not_send_again(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    route = pdfco.post(MERGE).mock(side_effect=[httpx.ReadTimeout("timed out"), submitted()])
    subflow_runs: list[str] = []

    @flow
    def merge_one() -> JobSubmission:
        subflow_runs.append(str(FlowRunContext.get().flow_run.id))  # type: ignore[union-attr]
        return submit_job(own_credentials, "/v1/pdf/merge", {"url": "https://x/sub.pdf"})

    @flow(retries=1, retry_delay_seconds=0)
    def parent() -> JobSubmission:
        return merge_one()

    with pytest.raises(SubmitOutcomeUnknown):
        parent()
    assert len(set(subflow_runs)) == 2  # Prefect ran the failed subflow as a new flow run
    assert route.call_count == 1


def test_submits_made_inside_a_task_are_found_again_by_a_flow_retry(
    own_credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    from prefect import task

    route = pdfco.post(MERGE).mock(side_effect=jobs(4))
    attempts: list[list[str]] = []

    @task
    def merge_twice(url: str) -> list[str]:
        return [submit_job(own_credentials, "/v1/pdf/merge", {"url": url}).job_id for _ in range(2)]

    @flow(retries=1, retry_delay_seconds=0)
    def batch() -> list[str]:
        attempts.append(merge_twice("https://x/a.pdf") + merge_twice("https://x/b.pdf"))
        if len(attempts) == 1:
            raise RuntimeError("crash after the submits")
        return attempts[-1]

    assert sorted(batch()) == ["J0", "J1", "J2", "J3"]
    assert attempts[0] == attempts[1]
    assert route.call_count == 4
