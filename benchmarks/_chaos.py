"""The chaos soak's machinery: documents, the dice that queue faults, and the typed-task leg (``chaos.py`` says why;
the ``run_batch`` legs are in ``_chaos_batch.py``)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias
from uuid import uuid4

from prefect import Flow, flow

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import (
    DownloadedFile,
    JobResult,
    JobSubmission,
    PdfcoConnectionError,
    PdfcoCredentials,
    ServerError,
    SubmitOutcomeUnknown,
    download_result,
    html_to_pdf,
    wait_for_jobs,
)

__all__ = ["CHECK_PATH", "HTML_PATH", "LINKS_PATH", "SUCCESS", "Dice", "Document", "Soak", "SoakConfig", "run_soak"]

HTML_PATH = "/v1/pdf/convert/from/html"
CHECK_PATH = "/v1/job/check"
LINKS_PATH = "/pdf-temp-files"
LINK_MINUTES = 1  # PDF.co's shortest result link
SUCCESS = "success"
#: One scripted answer: its kind in the tally (None: the call goes through) and ``PdfcoEmulator.inject`` options.
Fault: TypeAlias = tuple[str | None, dict[str, Any]]


@dataclass(frozen=True)
class SoakConfig:
    """How big the soak is and how hard it shakes.

    Attributes:
        documents: Documents in all (in each leg).
        batch_size: Documents per flow run.
        seed: Seeds every fault decision.
        flow_retries: ``retries`` of the batch flow.
        timeout_seconds: The credentials block's read timeout (a submit timeout waits this long).
        job_seconds: How long each emulated job works.
        fault_scale: Multiplies every fault probability (the test shakes harder than the benchmark).
        kill_rounds: Rounds of the killed-and-retried leg (SIGKILL and SIGTERM in turn).
        kill_documents: Documents per round of that leg.
    """

    documents: int = 200
    batch_size: int = 20
    seed: int = 9
    flow_retries: int = 2
    timeout_seconds: float = 2.0
    job_seconds: float = 0.05
    fault_scale: float = 1.0
    kill_rounds: int = 2
    kill_documents: int = 30


@dataclass(frozen=True)
class Document:
    """One document; its ``name`` is the marker the emulator counts jobs by."""

    name: str
    html: str
    short_link: bool


def make_documents(config: SoakConfig, run: str) -> list[Document]:
    rng = random.Random(f"{config.seed}-documents")
    paragraph = "<p>" + "Chaos soak line, long enough to make a PDF of a few kilobytes. " * 6 + "</p>"
    documents = []
    for index in range(config.documents):
        name = f"chaos-{run}-{index:04d}.pdf"
        html = f"<h1>Document {index}</h1><!-- marker {name} -->" + paragraph * rng.randint(4, 12)
        documents.append(Document(name, html, rng.random() < 0.05 * config.fault_scale))
    return documents


class Dice:
    """The faults of one step of one attempt, drawn from a seed of their own and queued in the emulator."""

    def __init__(self, emulator: PdfcoEmulator, config: SoakConfig, key: str, injected: Counter[str]) -> None:
        self.emulator, self.config, self.injected = emulator, config, injected
        self.rng = random.Random(f"{config.seed}-{key}")

    def _some(self, documents: int, probability: float) -> int:
        chance = min(1.0, probability * self.config.fault_scale)
        return sum(self.rng.random() < chance for _ in range(documents))

    def _burst(self, probability: float, most: int) -> int:
        return self.rng.randint(1, most) if self.rng.random() < min(1.0, probability * self.config.fault_scale) else 0

    def _queue(self, path: str, blocks: list[list[Fault]], slots: int) -> None:
        """Queues the blocks (each one run of consecutive answers) in random order among ``slots`` calls; the
        calls between them go through (a 1 ms pause), so faults do not all hit the first calls of a step."""
        blocks = [block for block in blocks if block]
        blocks += [[(None, {"delay": 0.001})]] * max(0, slots - len(blocks))
        self.rng.shuffle(blocks)
        for kind, options in (fault for block in blocks for fault in block):
            self.emulator.inject(path, **options)
            if kind is not None:
                self.injected[kind] += 1

    def submits(self, documents: int) -> None:
        # Three times the read timeout: a client whose event loop is busy (twenty task runs on two cores) notices
        # its timeout late, and must still find no answer when it does.
        timeout: Fault = ("submit read timeout", {"delay": self.config.timeout_seconds * 3})
        blocks: list[list[Fault]] = [[("submit 429", {"status": 429})] * self._burst(0.4, 3)]
        blocks += [[timeout]] * self._some(documents, 0.03)
        for _ in range(self._some(documents, 0.03)):
            blocks.append([("submit 5xx", {"status": self.rng.choice((500, 502, 503)), "takes_effect": True})])
        blocks += [[("submit dropped", {"drop": True, "takes_effect": True})]] * self._some(documents, 0.02)
        self._queue(HTML_PATH, blocks, documents)
        failed = self._some(documents, 0.05)
        if failed:
            self.emulator.inject_job_outcome("failed", message="chaos: the job failed", times=failed)
            self.injected["failed job"] += failed

    def checks(self, documents: int) -> None:
        blocks: list[list[Fault]] = [[("check 429", {"status": 429})] * self._burst(0.4, 3)]
        # Up to 6 in a row: past the client's 4 attempts, a check is inconclusive and the job is checked later.
        blocks.append([("check 5xx", {"status": self.rng.choice((500, 502, 503))})] * self._burst(0.5, 6))
        blocks += [[("check dropped", {"drop": True})]] * self._some(documents, 0.05)
        self._queue(CHECK_PATH, blocks, documents)

    def downloads(self, documents: int, expiring: int) -> None:
        if expiring:
            self.emulator.advance_clock(LINK_MINUTES * 60 + 1)
            self.injected["expired link"] += expiring  # links that had not expired yet
        blocks: list[list[Fault]] = [[("download 503", {"status": 503})] * self._burst(0.4, 3)]
        self._queue(LINKS_PATH, blocks, documents)
        for _ in range(self._some(documents, 0.1)):
            self.emulator.inject_download_drop(self.rng.randint(0, 600))
            self.injected["download dropped"] += 1

    def batch(self, documents: int) -> None:
        """Every step's faults at once, for ``run_batch`` (which submits, checks and downloads as it goes)."""
        self.submits(documents)
        self.checks(documents)
        self.downloads(documents, 0)


class BatchIncomplete(Exception):
    """Some documents of the batch did not land: the flow fails, so Prefect retries it."""


@dataclass
class Soak:
    """The soak's documents, the emulator it shakes, and what every attempt saw."""

    config: SoakConfig
    emulator: PdfcoEmulator
    destination: Path
    documents: list[Document] = field(default_factory=list)
    outcomes: dict[str, object] = field(default_factory=dict)
    submits: dict[str, set[str]] = field(default_factory=dict)
    landed: dict[str, DownloadedFile] = field(default_factory=dict)
    attempts: Counter[int] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    expired: set[str] = field(default_factory=set)
    stats: dict[str, Any] = field(default_factory=dict)  # the emulator's, once the soak is over
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.documents = make_documents(self.config, uuid4().hex[:8])
        self.credentials = PdfcoCredentials(
            api_key=self.emulator.api_key, base_url=self.emulator.base_url, timeout_seconds=self.config.timeout_seconds
        )

    def batches(self) -> Iterator[list[Document]]:
        for start in range(0, len(self.documents), self.config.batch_size):
            yield self.documents[start : start + self.config.batch_size]

    def batch_flow(self) -> Flow[[int], Any]:
        @flow(name="chaos-batch", retries=self.config.flow_retries, retry_delay_seconds=0, validate_parameters=False)
        async def chaos_batch(batch: int) -> int:
            return await self.run_batch(batch)

        return chaos_batch

    def dice(self, batch: int, step: str) -> Dice:
        return Dice(self.emulator, self.config, f"{batch}-{self.attempts[batch]}-{step}", self.injected)

    async def run_batch(self, batch: int) -> int:
        self.attempts[batch] += 1
        everything = list(self.batches())[batch]
        documents = [doc for doc in everything if not (self.destination / doc.name).exists()]
        accepted = await self._submit_step(batch, documents)
        ready = await self._wait_step(batch, accepted)
        await self._download_step(batch, ready)
        missing = sum(self.outcomes.get(doc.name) != SUCCESS for doc in everything)
        if missing:
            raise BatchIncomplete(f"{missing} of {len(everything)} documents did not land")
        return len(everything)

    # Each step draws its faults for the calls it is about to make, and drops what they left unused.

    async def _submit_step(self, batch: int, documents: list[Document]) -> list[tuple[Document, JobSubmission]]:
        # A submit already accepted or of unknown outcome is not sent again: no call, no fault to draw for it.
        sending = sum(not self.submits.get(doc.name, set()) & {"accepted", "ambiguous"} for doc in documents)
        if sending:
            self.dice(batch, "submit").submits(sending)
        submitted = await asyncio.gather(*(self._submit(doc) for doc in documents), return_exceptions=True)
        self.emulator.reset_faults()
        accepted = []
        for doc, answer in zip(documents, submitted, strict=True):
            self._note_submit(doc, answer)
            if isinstance(answer, JobSubmission):
                accepted.append((doc, answer))
        return accepted

    async def _wait_step(
        self, batch: int, accepted: list[tuple[Document, JobSubmission]]
    ) -> list[tuple[Document, JobResult]]:
        if not accepted:
            return []
        self.dice(batch, "check").checks(len(accepted))
        ids = [submission.job_id for _, submission in accepted]
        waited: list[object]
        try:
            waited = list(
                await wait_for_jobs.aio(
                    self.credentials, ids, max_wait_seconds=120, initial_poll_seconds=0.2, max_poll_seconds=1
                )
            )
        except Exception as error:  # recorded for every document of the batch, then judged
            waited = [error] * len(accepted)
        self.emulator.reset_faults()
        ready = []
        for (doc, _), result in zip(accepted, waited, strict=True):
            if isinstance(result, JobResult):
                ready.append((doc, result))
            else:
                self.outcomes[doc.name] = result
        return ready

    async def _download_step(self, batch: int, ready: list[tuple[Document, JobResult]]) -> None:
        if not ready:
            return
        expiring = {doc.name for doc, _ in ready if doc.short_link} - self.expired
        self.expired |= expiring
        self.dice(batch, "download").downloads(len(ready), len(expiring))
        landed = await asyncio.gather(
            *(
                download_result.aio(
                    result, str(self.destination), filename=doc.name, credentials=self.credentials, fingerprint=True
                )
                for doc, result in ready
            ),
            return_exceptions=True,
        )
        self.emulator.reset_faults()
        for (doc, _), outcome in zip(ready, landed, strict=True):
            if isinstance(outcome, DownloadedFile):
                self.landed[doc.name] = outcome
                self.outcomes[doc.name] = SUCCESS
            else:
                self.outcomes[doc.name] = outcome

    async def _submit(self, doc: Document) -> JobSubmission:
        if doc.short_link:
            return await html_to_pdf.aio(
                self.credentials, doc.html, name=doc.name, expiration=LINK_MINUTES, submit_key=doc.name
            )
        return await html_to_pdf.aio(self.credentials, doc.html, name=doc.name, submit_key=doc.name)

    def _note_submit(self, doc: Document, answer: object) -> None:
        seen = self.submits.setdefault(doc.name, set())
        if isinstance(answer, JobSubmission):
            seen.add("accepted")
            return
        self.outcomes[doc.name] = answer
        if isinstance(answer, (SubmitOutcomeUnknown, PdfcoConnectionError, ServerError)):
            seen.add("ambiguous")
        else:
            seen.add("refused")


async def run_soak(config: SoakConfig, destination: Path) -> Soak:
    """Runs every batch flow against a fresh strict emulator (a Prefect API must be reachable: a test harness or
    a server); the soak returned holds what each document got and the emulator's final stats."""
    started = time.perf_counter()
    with PdfcoEmulator(api_key=f"sk-chaos-{uuid4().hex}", job_duration=config.job_seconds, strict=True) as emulator:
        soak = Soak(config, emulator, destination)
        batch_flow = soak.batch_flow()
        for batch in range(len(list(soak.batches()))):
            await batch_flow(batch, return_state=True)
        soak.stats = emulator.stats()
    soak.seconds = time.perf_counter() - started
    return soak
