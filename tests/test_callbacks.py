"""PDF.co callbacks: per-job tokens, the receiver over real HTTP on 127.0.0.1 with the emulator calling back,
the event read back from Prefect, and every hostile request we could think of."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.callbacks import CallbackReceiver
from prefect_pdfco.callbacks import receiver as receiver_module
from prefect_pdfco.callbacks.tokens import callback_key, callback_url_for, new_token, verify_token, with_callback
from prefect_pdfco.jobs.submit import submit_and_record
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.testing import PdfcoEmulator

HTML = "/v1/pdf/convert/from/html"


def _until(condition: Callable[[], bool], what: str) -> None:
    """Waits for work on other threads (the receiver's, the emulator's) to happen; fails after a long while."""
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def _submit(credentials: PdfcoCredentials, params: dict[str, Any] | None = None) -> JobSubmission:
    return asyncio.run(submit_and_record(credentials, HTML, params or {"html": "<p>hi</p>", "name": "a.pdf"}))


@pytest.fixture
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=5) as emulator:
        yield emulator


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Events the receiver emits, recorded instead of sent (tests without a Prefect API)."""
    seen: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(receiver_module, "emit_event", lambda event, **kw: seen.append((event, kw)))
    return seen


@pytest.fixture
def receiver(emu: PdfcoEmulator, emitted: list[Any]) -> Iterator[CallbackReceiver]:
    with CallbackReceiver(emu.credentials()) as served:
        yield served


class _Recorder:
    """A plain HTTP server on 127.0.0.1 that records the POSTs it gets and answers ``statuses`` in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.bodies: list[bytes] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                recorder.bodies.append(self.rfile.read(int(self.headers.get("content-length", 0))))
                status = statuses.pop(0) if statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder_factory() -> Iterator[Callable[[list[int]], _Recorder]]:
    made: list[_Recorder] = []

    def make(statuses: list[int]) -> _Recorder:
        made.append(_Recorder(statuses))
        return made[-1]

    yield make
    for recorder in made:
        recorder.close()


# --- tokens and the submit path ----------------------------------------------------------------------------


def test_tokens_verify_only_with_their_key_and_untampered() -> None:
    key = callback_key("key-one")
    token = new_token(key)
    assert verify_token(key, token)
    assert token != new_token(key)
    assert not verify_token(callback_key("key-two"), token)
    nonce, mac = token.split(".")
    assert not verify_token(key, f"{nonce}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}")
    assert not verify_token(key, f"{nonce[::-1]}.{mac}")
    for junk in ("", ".", "x" * 45, token + ".x", token.replace(".", "/"), "key-one"):
        assert not verify_token(key, junk)
    assert "key-one" not in token and callback_key("key-one") != b"key-one"


def test_callback_urls_take_the_token_as_a_path_segment_or_in_a_placeholder() -> None:
    assert callback_url_for("https://hooks.example/pdfco/", "T") == "https://hooks.example/pdfco/T"
    assert callback_url_for("https://hooks.example/x?t={token}", "T") == "https://hooks.example/x?t=T"


def test_callback_url_must_not_be_plain_http_off_the_machine() -> None:
    assert PdfcoCredentials(api_key="k", callback_url="").callback_url is None
    assert PdfcoCredentials(api_key="k", callback_url="http://127.0.0.1:9/").callback_url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="plain http"):
        PdfcoCredentials(api_key="k", callback_url="http://receiver.example/cb")


def test_with_callback_adds_a_fresh_token_per_job_unless_the_caller_gave_one() -> None:
    credentials = PdfcoCredentials(api_key="k", callback_url="https://receiver.example/cb")
    first, second = with_callback(credentials, {"a": 1}), with_callback(credentials, None)
    assert first is not None and second is not None
    assert first["a"] == 1 and first["callback"] != second["callback"]
    token = str(first["callback"]).rsplit("/", 1)[-1]
    assert verify_token(callback_key(credentials.api_key), token)
    own = {"Callback": "https://mine.example/x"}
    assert with_callback(credentials, own) is own
    assert with_callback(PdfcoCredentials(api_key="k"), own) is own


# --- the emulator calls back --------------------------------------------------------------------------------


def test_the_emulator_posts_the_final_result_once_the_clock_ends_the_job(
    emu: PdfcoEmulator, recorder_factory: Callable[[list[int]], _Recorder]
) -> None:
    hook = recorder_factory([])
    job = _submit(emu.credentials(), {"html": "<p>hi</p>", "name": "a.pdf", "callback": hook.url})
    emu.advance_clock(10)
    _until(lambda: emu.stats()["callbacks_delivered"] == 1, "the callback")
    body = httpx.Response(200, content=hook.bodies[0]).json()
    assert body["jobId"] == job.job_id and body["status"] == "success" and body["pageCount"] >= 1
    assert "url" in body and "outputLinkValidTill" in body
    assert emu.stats()["job_checks"] == 0  # a callback is not a billed check


def test_the_emulator_retries_a_failing_receiver_three_times(
    emu: PdfcoEmulator, recorder_factory: Callable[[list[int]], _Recorder]
) -> None:
    flaky, dead = recorder_factory([500, 503]), recorder_factory([500] * 10)
    _submit(emu.credentials(), {"html": "<p>1</p>", "callback": flaky.url})
    _submit(emu.credentials(), {"html": "<p>2</p>", "callback": dead.url})
    emu.advance_clock(10)
    _until(lambda: emu.stats()["callbacks_delivered"] == 1 and emu.stats()["callbacks_failed"] == 1, "both")
    assert len(flaky.bodies) == 3 and len(dead.bodies) == 4  # the first try and 3 retries
    assert emu.stats()["callback_attempts"] == 7


def test_callbacks_can_be_dropped_or_delayed_on_the_emulators_clock(
    emu: PdfcoEmulator, recorder_factory: Callable[[list[int]], _Recorder]
) -> None:
    lost, late, prompt = recorder_factory([]), recorder_factory([]), recorder_factory([])
    emu.inject_callback(drop=True)
    _submit(emu.credentials(), {"html": "<p>1</p>", "callback": lost.url})
    emu.inject_callback(delay=60)
    _submit(emu.credentials(), {"html": "<p>2</p>", "callback": late.url})
    _submit(emu.credentials(), {"html": "<p>3</p>", "callback": prompt.url})
    assert emu.stats()["pending_faults"]["callback"] == 0
    emu.advance_clock(10)
    _until(lambda: len(prompt.bodies) == 1 and emu.stats()["callbacks_dropped"] == 1, "prompt and dropped")
    assert late.bodies == [] and lost.bodies == []
    emu.advance_clock(60)
    _until(lambda: len(late.bodies) == 1, "the delayed callback")
    assert lost.bodies == []


def test_the_emulator_refuses_callbacks_off_the_machine(emu: PdfcoEmulator) -> None:
    api = httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}, trust_env=False)
    for url in ("https://receiver.example/cb", "http://10.0.0.1/cb", "http://[2001:db8::1]/cb", "ftp://127.0.0.1/x"):
        answer = api.post(HTML, json={"html": "<p>x</p>", "async": True, "callback": url})
        assert answer.status_code == 400, url
        assert "loopback" in answer.json()["message"]
    assert emu.stats()["jobs_submitted"] == 0 and emu.stats()["callback_attempts"] == 0
    api.close()


# --- the receiver -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("confirm", [False, True], ids=["as-posted", "confirmed"])
def test_submits_with_callback_url_reach_the_receiver_which_emits(
    emu: PdfcoEmulator, emitted: list[tuple[str, dict[str, Any]]], confirm: bool
) -> None:
    with CallbackReceiver(emu.credentials(), confirm=confirm) as receiver:
        credentials = emu.credentials().model_copy(update={"callback_url": receiver.url})
        job = _submit(credentials)
        emu.inject_job_outcome("failed", message="Damaged file")
        failed = _submit(credentials)
        emu.advance_clock(10)
        _until(lambda: len(emitted) == 2, "two events")
        checks = 2 if confirm else 0  # as posted: whoever reads the event checks the job (for a fresh link)
        assert receiver.checks == checks and emu.stats()["job_checks"] == checks
    by_id = {kw["resource"]["prefect.resource.id"]: (event, kw["payload"]) for event, kw in emitted}
    event, payload = by_id[f"pdfco.job.{job.job_id}"]
    assert event == "pdfco.job.succeeded" and payload["status"] == "success" and payload["pages"] >= 1
    assert payload["result_url"].startswith("http://localhost:") and "?" not in payload["result_url"]
    assert payload["output_link_valid_till"] and payload["confirmed"] is confirm
    event, payload = by_id[f"pdfco.job.{failed.job_id}"]
    assert event == "pdfco.job.failed" and payload["message"] == "Damaged file"
    assert all(kw["resource"]["prefect.resource.name"] == "callback" for _, kw in emitted)
    assert emu.api_key not in repr(emitted)


def _post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, trust_env=False, **kwargs)


def test_hostile_requests_cost_no_check_and_emit_nothing(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[Any]
) -> None:
    key = callback_key(emu.api_key)
    good = f"{receiver.url}/{new_token(key)}"
    forged = new_token(callback_key("someone-else"))
    body = {"jobId": "ABC--151-300", "status": "success"}
    assert httpx.get(good, trust_env=False).status_code == 404
    assert httpx.put(good, json=body, trust_env=False).status_code == 404
    assert _post(receiver.url, json=body).status_code == 404
    assert _post(f"{good}/extra", json=body).status_code == 404
    assert _post(f"{receiver.url}/{forged}", json=body).status_code == 401
    assert _post(f"{receiver.url}/not-a-token", json=body).status_code == 401
    assert _post(f"{receiver.url}/{'A' * 22}.{'A' * 22}", json=body).status_code == 401
    huge = b'{"jobId": "ABC", "pad": "' + b"x" * 70_000 + b'"}'
    assert _post(good, content=huge).status_code == 413

    def chunks() -> Iterator[bytes]:  # no content-length: the limit holds while streaming
        yield b'{"jobId": "ABC", "pad": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    assert _post(good, content=chunks()).status_code == 413
    for junk in (b"not json", b"[1, 2]", b'{"status": "success"}', b'{"jobId": 7}', b'{"jobId": "../../etc"}',
                 b'{"jobId": "' + b"A" * 500 + b'"}', b"[" * 100_00, b"\xff\xfe", b'{"jobId": "\xc3\xa9"}',
                 b'{"jobId": "A", "n": ' + b"1" * 5000 + b"}", b'{"jobId": "A\\u0000"}'):  # fmt: skip
        assert _post(good, content=junk).status_code == 400, junk[:20]
    assert receiver.checks == 0 and emu.stats()["job_checks"] == 0 and emitted == []


def test_confirmed_unknown_jobs_cost_one_check_and_replays_none(emu: PdfcoEmulator, emitted: list[Any]) -> None:
    with CallbackReceiver(emu.credentials(), confirm=True) as receiver:
        url = f"{receiver.url}/{new_token(callback_key(emu.api_key))}"
        assert _post(url, json={"jobId": "NOSUCHJOB--151-300", "status": "success"}).status_code == 202
        _until(lambda: receiver.handled == 1, "the confirming check")
        assert _post(url, json={"jobId": "NOSUCHJOB--151-300"}).status_code == 200  # a replay: no work
        assert _post(url, json={"jobId": "OTHER--151-300"}).status_code == 200
        assert emu.stats()["job_checks"] == 1 and receiver.checks == 1 and emitted == []  # "working": no event


def test_a_claim_about_an_unknown_job_is_passed_on_marked_unconfirmed(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[tuple[str, dict[str, Any]]]
) -> None:
    # Only a holder of a token (PDF.co) can post one; what reads the event checks the job before trusting it
    # (tests/test_callbacks_flow.py: the triggered flow then raises JobNotFound, having downloaded nothing).
    url = f"{receiver.url}/{new_token(callback_key(emu.api_key))}"
    claim = {"jobId": "NOSUCHJOB--151-300", "status": "success", "url": "https://files.example/x.pdf?X-Amz-Signature=s"}
    assert _post(url, json=claim).status_code == 202
    _until(lambda: len(emitted) == 1, "the event")
    event, kw = emitted[0]
    assert event == "pdfco.job.succeeded" and kw["payload"]["confirmed"] is False
    assert kw["payload"]["result_url"] == "https://files.example/x.pdf"  # never the presigned query
    assert receiver.checks == 0 and emu.stats()["job_checks"] == 0


@pytest.mark.parametrize(
    "body",
    [{"status": "working"}, {}, {"status": "done-ish"}, {"status": "success", "pageCount": "many"}, {"status": 7}],
    ids=["working", "no-status", "odd-status", "bad-field", "status-not-a-string"],
)
def test_a_body_without_a_final_status_is_confirmed_by_one_check(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[Any], body: dict[str, Any]
) -> None:
    url = f"{receiver.url}/{new_token(callback_key(emu.api_key))}"
    assert _post(url, json={"jobId": "NOSUCHJOB--151-300", **body}).status_code == 202
    _until(lambda: receiver.handled == 1, "the confirming check")
    assert emu.stats()["job_checks"] == 1 and receiver.checks == 1 and emitted == []  # "working": no event


def test_concurrent_replays_of_one_token_are_accepted_once(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[Any]
) -> None:
    url = f"{receiver.url}/{new_token(callback_key(emu.api_key))}"
    body = {"jobId": "RACE--151-300", "status": "success"}
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: _post(url, json=body).status_code, range(32)))
    assert sorted(answers) == [200] * 31 + [202]
    _until(lambda: len(emitted) == 1, "the event")
    assert receiver.events == 1


def test_a_long_message_is_cut_in_the_event(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[tuple[str, dict[str, Any]]]
) -> None:
    url = f"{receiver.url}/{new_token(callback_key(emu.api_key))}"
    assert _post(url, json={"jobId": "LONG--151-300", "status": "failed", "message": "x" * 60_000}).status_code == 202
    _until(lambda: len(emitted) == 1, "the event")
    assert len(emitted[0][1]["payload"]["message"]) == 500


def test_a_body_that_drips_in_is_cut_off(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiver_module, "BODY_TIMEOUT_SECONDS", 0.2)
    host, port = receiver.url.removeprefix("http://").rsplit(":", 1)
    token = new_token(callback_key(emu.api_key))
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = f"POST /{token} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n"
        sock.sendall(head.encode() + b'{"jobId": "SLOW--151-300", ')  # and the rest never comes
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:40]
    assert receiver.handled == 0 and emitted == []


def test_the_token_is_read_from_the_path_only(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[Any]
) -> None:
    token = new_token(callback_key(emu.api_key))
    body = {"jobId": "ABC--151-300", "status": "success"}
    assert _post(f"{receiver.url}/?token={token}", json=body).status_code == 404
    assert _post(f"{receiver.url}/x?token={token}", json=body).status_code == 401
    assert _post(f"{receiver.url}/x", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _post(f"{receiver.url}/{token}/../{token}", json=body).status_code in (202, 404)  # normalised, or not
    assert len(emitted) <= 1


def test_a_replayed_real_callback_emits_once(
    emu: PdfcoEmulator, receiver: CallbackReceiver, emitted: list[Any]
) -> None:
    job = _submit(emu.credentials())
    emu.advance_clock(10)
    url = f"{receiver.url}/{new_token(callback_key(emu.api_key))}"
    answers = [_post(url, json={"jobId": job.job_id, "status": "success"}).status_code for _ in range(5)]
    assert answers == [202, 200, 200, 200, 200]
    _until(lambda: len(emitted) == 1, "the event")
    assert receiver.checks == 0 and emu.stats()["job_checks"] == 0


def test_the_receiver_needs_positive_limits(emu: PdfcoEmulator) -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        CallbackReceiver(emu.credentials(), max_body_bytes=0)
    with pytest.raises(RuntimeError, match="not running"):
        _ = CallbackReceiver(emu.credentials()).url


# --- through Prefect ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_harness")
def test_the_event_reaches_prefect(emu: PdfcoEmulator) -> None:
    with CallbackReceiver(emu.credentials()) as served:
        credentials = emu.credentials().model_copy(update={"callback_url": served.url})
        job = _submit(credentials)
        emu.advance_clock(10)
        _until(lambda: served.events == 1, "the event")

    async def read() -> list[Any]:
        filter_ = EventFilter(
            event=EventNameFilter(prefix=["pdfco.job.succeeded"]),
            resource=EventResourceFilter(id=[f"pdfco.job.{job.job_id}"]),
        )
        async with get_client() as client:
            for _ in range(80):  # events reach the API asynchronously
                page = await client.read_events(filter=filter_, limit=5)
                if page.events:
                    return page.events
                await asyncio.sleep(0.25)
        return []

    events = asyncio.run(read())
    assert len(events) == 1
    payload = events[0].payload
    assert payload["job_id"] == job.job_id and payload["status"] == "success" and payload["source"] == "callback"
    assert payload["confirmed"] is False
    assert payload["pages"] >= 1 and "?" not in payload["result_url"]
