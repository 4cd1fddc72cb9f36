"""The callback receiver: tokens, every hostile request (through ``httpx.ASGITransport``), a real uvicorn server on
127.0.0.1 for the network limits (#17.11), and the emulator calling back a real receiver."""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco.callbacks import CallbackReceiver, ReceiverLimits, create_app, serve
from prefect_pdfco.credentials import (
    PdfcoCredentials,
    callback_key,
    callback_url_for,
    new_token,
    verify_token,
    with_callback,
)
from tests.prefect._support_callbacks import EventRecorder
from tests.prefect._support_callbacks import emulator_credentials as _credentials

CREDENTIALS = PdfcoCredentials(api_key=SecretStr("test-key"), base_url="https://api.pdf.co")
KEY = callback_key(CREDENTIALS.api_key)
HTML = "/v1/pdf/convert/from/html"


def _url(token: str | None = None) -> str:
    return f"/{token or new_token(KEY)}"


async def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver")


@pytest.fixture
def recorder() -> EventRecorder:
    return EventRecorder()


@pytest.fixture(scope="module")
def emulator() -> Iterator[PdfcoEmulator]:
    """Where the receivers' confirming checks go (the emulator's own key is ``test-key``, as ``CREDENTIALS``)."""
    with PdfcoEmulator(job_duration=0) as emulator:
        yield emulator


class Checks:
    """Job checks the emulator billed since this was made."""

    def __init__(self, emulator: PdfcoEmulator) -> None:
        self.emulator, self.before = emulator, int(emulator.stats()["job_checks"])

    @property
    def made(self) -> int:
        return int(self.emulator.stats()["job_checks"]) - self.before


def _job(emulator: PdfcoEmulator, outcome: str = "success") -> str:
    """A job that has ended on the emulator (0-second jobs end at their submit)."""
    if outcome != "success":
        emulator.inject_job_outcome(outcome, message="Damaged file")  # type: ignore[arg-type]
    with httpx.Client(base_url=emulator.base_url, headers={"x-api-key": emulator.api_key}, trust_env=False) as api:
        return str(api.post(HTML, json={"html": "<p>x</p>", "async": True}).json()["jobId"])


@pytest.fixture
async def as_posted(emulator: PdfcoEmulator, recorder: EventRecorder) -> AsyncIterator[httpx.AsyncClient]:
    """A receiver that passes on what PDF.co posts (checks only a body without a final status)."""
    async with await _client(create_app(_credentials(emulator), emit=recorder)) as http:
        yield http


# --- tokens and the submit path ----------------------------------------------------------------------------------


def test_tokens_verify_only_with_their_key_and_untampered() -> None:
    token = new_token(KEY)
    assert verify_token(KEY, token) and token != new_token(KEY)
    assert not verify_token(callback_key("another-key"), token)
    nonce, mac = token.split(".")
    assert not verify_token(KEY, f"{nonce}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}")
    assert not verify_token(KEY, f"{nonce[::-1]}.{mac}")
    for junk in ("", ".", "x" * 45, token + ".x", token.replace(".", "/"), "test-key", None, 7):
        assert not verify_token(KEY, junk)
    assert "test-key" not in token and KEY != b"test-key"


def test_callback_urls_take_the_token_as_a_path_segment_or_in_a_placeholder() -> None:
    assert callback_url_for("https://hooks.example/pdfco/", "T") == "https://hooks.example/pdfco/T"
    assert callback_url_for("https://hooks.example/x?t={token}", "T") == "https://hooks.example/x?t=T"


def test_with_callback_adds_a_fresh_token_per_submit_unless_the_caller_gave_one() -> None:
    credentials = CREDENTIALS.model_copy(update={"callback_url": "https://receiver.example/cb"})
    first, second = with_callback(credentials, {"html": "x"}), with_callback(credentials, None)
    assert first["html"] == "x" and first["callback"] != second["callback"]
    assert first["callback"].startswith("https://receiver.example/cb/")
    assert verify_token(KEY, first["callback"].rsplit("/", 1)[-1])
    own = {"Callback": "https://mine.example/x"}
    assert with_callback(credentials, own) == own
    assert with_callback(CREDENTIALS, {"html": "x"}) == {"html": "x"}  # no callback_url: polling


# --- the receiver's logic, in process ------------------------------------------------------------------------------


async def test_a_callback_becomes_one_event_of_what_pdfco_posted(
    as_posted: httpx.AsyncClient, recorder: EventRecorder, emulator: PdfcoEmulator
) -> None:
    checks = Checks(emulator)
    posted = {"jobId": "DONE--151-300", "status": "success", "pageCount": 2, "remainingCredits": 90}
    posted |= {"outputLinkValidTill": "2030-01-01T00:00:00", "url": "https://files.example/x.pdf?X-Amz-Signature=s"}
    answer = await as_posted.post(_url(), json=posted)
    assert answer.status_code == 202 and answer.json() == {"status": "accepted"}
    ((event, resource, payload),) = recorder.events
    assert event == "pdfco.job.succeeded"
    assert resource == {"prefect.resource.id": "pdfco.job.DONE--151-300", "prefect.resource.name": "callback"}
    assert payload["confirmed"] is False and payload["source"] == "callback" and payload["pages"] == 2
    assert payload["result_url"] == "https://files.example/x.pdf"  # never the presigned query
    assert payload["output_link_valid_till"].startswith("2030-01-01T00:00:00")
    assert checks.made == 0  # whoever reads the event checks the job for a fresh link: that is the check


@pytest.mark.parametrize(
    ("status", "event"),
    [("failed", "pdfco.job.failed"), ("aborted", "pdfco.job.aborted"), ("unknown", "pdfco.job.not-found")],
)
async def test_every_final_status_has_its_event(
    as_posted: httpx.AsyncClient, recorder: EventRecorder, status: str, event: str
) -> None:
    answer = await as_posted.post(_url(), json={"jobId": "J--1", "status": status, "message": "x" * 9000})
    assert answer.status_code == 202
    ((name, _, payload),) = recorder.events
    assert name == event and payload["status"] == status and len(payload["message"]) == 500


@pytest.mark.parametrize(
    "body",
    [{"status": "working"}, {}, {"status": "done-ish"}, {"status": "success", "pageCount": "many"}, {"status": 7}],
    ids=["working", "no-status", "odd-status", "bad-field", "status-not-a-string"],
)
async def test_a_body_without_a_final_status_is_confirmed_by_one_check(
    as_posted: httpx.AsyncClient, recorder: EventRecorder, emulator: PdfcoEmulator, body: dict[str, Any]
) -> None:
    job_id, checks = _job(emulator), Checks(emulator)
    assert (await as_posted.post(_url(), json={"jobId": job_id, **body})).status_code == 202
    assert (await as_posted.post(_url(), json={"jobId": "NOSUCH--151-300", **body})).status_code == 202
    assert checks.made == 2
    ((event, resource, payload),) = recorder.events  # the unknown id reads "working": no event
    assert event == "pdfco.job.succeeded" and resource["prefect.resource.id"] == f"pdfco.job.{job_id}"
    assert payload["confirmed"] is True and payload["pages"] >= 1 and "?" not in payload["result_url"]


async def test_confirm_mode_checks_every_job_once_and_emits_what_the_check_says(
    recorder: EventRecorder, emulator: PdfcoEmulator
) -> None:
    job_id, checks = _job(emulator, "failed"), Checks(emulator)
    app = create_app(_credentials(emulator), confirm=True, emit=recorder)
    async with await _client(app) as http:
        claim = {"status": "success", "url": "https://files.example/x.pdf"}
        assert (await http.post(_url(), json={"jobId": job_id, **claim})).status_code == 202
        assert (await http.post(_url(), json={"jobId": "FORGED--151-300", **claim})).status_code == 202
    assert checks.made == 2 and app.state.handler.stats["checks"] == 2
    ((event, _, payload),) = recorder.events
    assert event == "pdfco.job.failed" and payload["confirmed"] is True and payload["message"] == "Damaged file"


async def test_a_confirming_check_that_fails_emits_nothing(recorder: EventRecorder, emulator: PdfcoEmulator) -> None:
    wrong_key = _credentials(emulator).model_copy(update={"api_key": SecretStr("not-the-key")})
    app = create_app(wrong_key, confirm=True, emit=recorder)
    async with await _client(app) as http:
        body = {"jobId": "J--151-300", "status": "success"}
        assert (await http.post(f"/{new_token(callback_key(wrong_key.api_key))}", json=body)).status_code == 202
    assert recorder.events == [] and app.state.handler.stats["handled"] == 1
    assert emulator.stats()["unauthorized"] >= 1


async def test_hostile_requests_cost_no_check_and_emit_nothing(
    as_posted: httpx.AsyncClient, recorder: EventRecorder, emulator: PdfcoEmulator
) -> None:
    http, checks = as_posted, Checks(emulator)
    good, body = _url(), {"jobId": "ABC--151-300", "status": "success"}
    assert (await http.get(good)).status_code == 404
    assert (await http.put(good, json=body)).status_code == 404
    assert (await http.post("/", json=body)).status_code == 404
    assert (await http.post(f"{good}/extra", json=body)).status_code == 404
    assert (await http.post(f"/?token={good[1:]}", json=body)).status_code == 404
    assert (await http.post(_url(new_token(callback_key("someone-else"))), json=body)).status_code == 401
    assert (await http.post("/not-a-token", json=body)).status_code == 401
    assert (await http.post(f"/{'A' * 22}.{'A' * 22}", json=body)).status_code == 401
    assert (await http.post("/x", json=body, headers={"Authorization": f"Bearer {good[1:]}"})).status_code == 401
    huge = b'{"jobId": "ABC", "pad": "' + b"x" * 70_000 + b'"}'
    assert (await http.post(good, content=huge)).status_code == 413

    async def dripped() -> AsyncIterator[bytes]:  # no content-length: the limit holds while streaming
        yield b'{"jobId": "ABC", "pad": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    assert (await http.post(good, content=dripped())).status_code == 413
    for junk in (b"not json", b"[1, 2]", b'{"status": "success"}', b'{"jobId": 7}', b'{"jobId": "../../etc"}',
                 b'{"jobId": "' + b"A" * 500 + b'"}', b"[" * 10_000, b"\xff\xfe", b'{"jobId": "\xc3\xa9"}',
                 b'{"jobId": "A", "n": ' + b"1" * 5000 + b"}", b'{"jobId": "A\\u0000"}'):  # fmt: skip
        answer = await http.post(good, content=junk)
        assert answer.status_code == 400, junk[:20]
        assert answer.headers["connection"] == "close"
    assert checks.made == 0 and recorder.events == []


async def test_a_body_that_drips_in_too_slowly_gets_408(recorder: EventRecorder) -> None:
    app = create_app(CREDENTIALS, emit=recorder, limits=ReceiverLimits(body_timeout_seconds=0.2))
    stalled = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield b'{"jobId": "SLOW--151-300", '
        await stalled.wait()  # the rest never comes
        yield b"}"

    async with await _client(app) as http:
        assert (await http.post(_url(), content=stalls())).status_code == 408
    assert recorder.events == [] and app.state.handler.stats["accepted"] == 0


async def test_a_token_is_honoured_once_even_when_replayed_at_once(
    as_posted: httpx.AsyncClient, recorder: EventRecorder
) -> None:
    http = as_posted
    url, body = _url(), {"jobId": "RACE--151-300", "status": "success"}
    answers = await asyncio.gather(*(http.post(url, json=body) for _ in range(32)))
    assert sorted(answer.status_code for answer in answers) == [200] * 31 + [202]
    assert (await http.post(url, json={"jobId": "OTHER--1", "status": "success"})).status_code == 200
    assert len(recorder.events) == 1


async def test_an_event_that_cannot_be_emitted_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
        raise ConnectionError("no Prefect API")

    app = create_app(CREDENTIALS, emit=broken)
    async with await _client(app) as http:
        assert (await http.post(_url(), json={"jobId": "J--1", "status": "success"})).status_code == 202
    assert app.state.handler.stats["events"] == 0 and "could not emit pdfco.job.succeeded" in caplog.text


@pytest.mark.parametrize(
    "limits",
    [
        {"max_body_bytes": 0},
        {"max_connections": 1.5},
        {"header_timeout_seconds": float("nan")},
        {"body_timeout_seconds": -1},
        {"max_connections": True},
    ],
)
def test_limits_must_be_positive(limits: dict[str, Any]) -> None:
    with pytest.raises(InvalidParametersError, match=next(iter(limits))):
        ReceiverLimits(**limits)


def test_the_url_is_known_only_while_serving() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = CallbackReceiver(CREDENTIALS).url


def test_serve_has_the_documented_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve(["--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    for option in ("--host", "--port", "--block", "--confirm", "--max-connections", "--header-timeout"):
        assert option in usage
    with pytest.raises(SystemExit):
        serve([])  # --block is required


# --- a real server on 127.0.0.1 -------------------------------------------------------------------------------------


def _address(receiver: CallbackReceiver) -> tuple[str, int]:
    host, port = receiver.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _answers(sockets: list[socket.socket], deadline: float, drip: int = 0) -> dict[socket.socket, tuple[bytes, float]]:
    """What the server sends each socket until it closes it: {socket: (answer, when closed)}. The first ``drip``
    sockets keep sending a byte of their request line while they wait, as a slow-loris client does."""
    closed: dict[socket.socket, tuple[bytes, float]] = {}
    received = {sock: b"" for sock in sockets}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, data=sock)
        while len(closed) < len(sockets) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.1):
                ready: socket.socket = key.data
                try:
                    data = ready.recv(4096)
                except OSError:  # reset by the server: closed too
                    data = b""
                received[ready] += data
                if not data:
                    closed[ready] = (received[ready], time.monotonic())
                    selector.unregister(ready)
            for sock in sockets[:drip]:
                if sock not in closed:
                    with contextlib.suppress(OSError):
                        sock.send(b"x")
    return closed


@pytest.fixture
def guarded(recorder: EventRecorder) -> Iterator[CallbackReceiver]:
    limits = ReceiverLimits(max_connections=20, header_timeout_seconds=1.0, body_timeout_seconds=0.5)
    with CallbackReceiver(CREDENTIALS, limits=limits, emit=recorder) as receiver:
        yield receiver


def test_half_open_connections_are_capped_and_timed_out(guarded: CallbackReceiver, recorder: EventRecorder) -> None:
    # #17.11: 3,000 half-open connections were all held. Now at most max_connections are, for the header timeout.
    address, token = _address(guarded), new_token(KEY)
    sockets = [socket.create_connection(address, timeout=5) for _ in range(200)]
    for sock in sockets:
        sock.sendall(f"POST /{token} HT".encode())  # half a request line, and nothing more
    opened = time.monotonic()
    with httpx.Client(trust_env=False) as http:
        assert http.post(f"{guarded.url}/{token}", json={"jobId": "J--1"}).status_code == 503  # the cap is full
    closed = _answers(sockets, deadline=opened + 15, drip=5)
    try:
        assert len(closed) == 200, f"{200 - len(closed)} connection(s) still open after 15 s"
        held = [(answer, at) for answer, at in closed.values() if not answer.startswith(b"HTTP/1.1 503")]
        assert len(held) == 20 and all(answer.startswith(b"HTTP/1.1 408") for answer, _ in held)
        assert all(opened + 0.5 < at < opened + 6 for _, at in held)  # at the header deadline, drips or not
        stats = guarded.stats
        assert stats["peak"] == 20 and stats["busy"] == 181 and stats["header_timeouts"] == 20 and stats["open"] == 0
    finally:
        for sock in sockets:
            sock.close()
    with httpx.Client(trust_env=False) as http:  # a real callback still gets through
        answer = http.post(f"{guarded.url}/{token}", json={"jobId": "LATE--151-300", "status": "success"})
    assert answer.status_code == 202
    assert recorder.wait_for(1)[0][0] == "pdfco.job.succeeded"
    assert guarded.stats["peak"] == 20


def test_a_slow_body_and_oversized_headers_are_cut_off(guarded: CallbackReceiver, recorder: EventRecorder) -> None:
    address, token = _address(guarded), new_token(KEY)
    with socket.create_connection(address, timeout=10) as slow, socket.create_connection(address, timeout=10) as big:
        slow.sendall(f"POST /{token} HTTP/1.1\r\nHost: r\r\nContent-Length: 100\r\n\r\n".encode() + b'{"jobId": ')
        big.sendall(f"POST /{token} HTTP/1.1\r\nHost: r\r\nX-Pad: {'a' * 9000}\r\n".encode())
        assert slow.recv(4096).startswith(b"HTTP/1.1 408")
        assert big.recv(4096).startswith(b"HTTP/1.1 400")
    assert recorder.events == [] and guarded.stats["accepted"] == 0


@pytest.mark.parametrize("confirm", [False, True], ids=["as-posted", "confirmed"])
def test_the_emulator_calls_back_a_real_receiver(recorder: EventRecorder, confirm: bool) -> None:
    with PdfcoEmulator(job_duration=5) as emulator, httpx.Client(trust_env=False) as http:  # a clock of its own
        credentials = _credentials(emulator)
        with CallbackReceiver(credentials, confirm=confirm, emit=recorder) as receiver:
            with_url = credentials.model_copy(update={"callback_url": receiver.url})
            jobs = []
            for outcome in ("success", "failed"):
                if outcome == "failed":
                    emulator.inject_job_outcome("failed", message="Damaged file")
                params = with_callback(with_url, {"html": "<p>hi</p>", "name": "a.pdf", "async": True})
                answer = http.post(f"{emulator.base_url}{HTML}", json=params, headers={"x-api-key": emulator.api_key})
                jobs.append(answer.json()["jobId"])
            emulator.advance_clock(10)
            recorder.wait_for(2)
            assert receiver.stats["checks"] == emulator.stats()["job_checks"] == (2 if confirm else 0)
    events = recorder.by_job()
    event, payload = events[jobs[0]]
    assert event == "pdfco.job.succeeded" and payload["pages"] >= 1 and payload["confirmed"] is confirm
    assert payload["result_url"].startswith("http://localhost:") and "?" not in payload["result_url"]
    event, payload = events[jobs[1]]
    assert event == "pdfco.job.failed" and payload["message"] == "Damaged file"
    assert emulator.api_key not in repr(recorder.events)
