"""Chaos soak: documents through real Prefect flows and the emulator, with faults at random, and the tally.

Each batch of documents runs in one async flow with flow retries: ``html_to_pdf`` per document (gathered, each
with its own ``submit_key``), one ``wait_for_jobs`` for the batch, then ``download_result`` per document into
one directory; a document already landed there is skipped, and a batch that did not land every document
raises, so Prefect retries the flow. Before each step of each attempt a seeded ``random.Random`` (one per
batch, attempt and step, so the plan does not depend on timing) queues faults in the emulator (strict mode):

- submits: 429 bursts without Retry-After, read timeouts (a delay past the block's ``timeout_seconds``: the
  emulator still creates the job), 5xx and dropped connections after the job was created, failed jobs;
- job checks: 429 bursts, runs of 5xx (past the client's retries: an inconclusive check), dropped connections;
- downloads: 503 from the file host, connections dropped mid-body, and expired links (documents drawn at the
  start ask for PDF.co's shortest link, 1 minute, and the emulator's clock jumps past it before the download).

Every ambiguous submit the soak provokes creates its job, so a submit sent again would show as a second job
for the document: each document has its own output ``name``, and the emulator counts jobs by name. Checked:
every document ends landed or with a ``PdfcoError`` subclass; jobs billed (jobs the emulator created) equal
the submits the client saw accepted plus the ambiguous ones that created a job; no document has two jobs; no
temporary or partial file is left and every landed file is a whole PDF. Faults left over from a step are
dropped before the next one.

Run: python benchmarks/chaos.py [--documents 200] [--batch-size 20] [--seed 9] [--flow-retries 2]
(``tests/test_chaos.py`` runs a small version of the same soak.)
"""

from __future__ import annotations

import os
import tempfile

if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")  # every failed task logs a traceback
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-pdfco-chaos-"))

import argparse
import asyncio
import hashlib
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias
from uuid import uuid4

from prefect import Flow, flow

from prefect_pdfco import (
    DownloadedFile,
    JobResult,
    JobSubmission,
    PdfcoConnectionError,
    PdfcoCredentials,
    PdfcoError,
    ServerError,
    SubmitOutcomeUnknown,
    download_result,
    html_to_pdf,
    wait_for_jobs,
)
from prefect_pdfco.testing import PdfcoEmulator

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
        documents: Documents in all.
        batch_size: Documents per flow run.
        seed: Seeds every fault decision.
        flow_retries: ``retries`` of the batch flow.
        timeout_seconds: The credentials block's read timeout (a submit timeout waits this long).
        job_seconds: How long each emulated job works.
        fault_scale: Multiplies every fault probability (the test shakes harder than the benchmark).
    """

    documents: int = 200
    batch_size: int = 20
    seed: int = 9
    flow_retries: int = 2
    timeout_seconds: float = 2.0
    job_seconds: float = 0.05
    fault_scale: float = 1.0


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
        timeout: Fault = ("submit read timeout", {"delay": self.config.timeout_seconds * 1.5})
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

        self.dice(batch, "submit").submits(len(everything))
        submitted = await asyncio.gather(*(self._submit(doc) for doc in documents), return_exceptions=True)
        self.emulator.reset_faults()
        accepted: list[tuple[Document, JobSubmission]] = []
        for doc, answer in zip(documents, submitted, strict=True):
            self._note_submit(doc, answer)
            if isinstance(answer, JobSubmission):
                accepted.append((doc, answer))

        self.dice(batch, "check").checks(len(everything))
        waited: list[object] = [None] * len(accepted)
        if accepted:
            ids = [submission.job_id for _, submission in accepted]
            try:
                waited = list(
                    await wait_for_jobs.aio(
                        self.credentials, ids, max_wait_seconds=120, initial_poll_seconds=0.2, max_poll_seconds=1
                    )
                )
            except Exception as error:  # recorded for every document of the batch, then judged
                waited = [error] * len(accepted)
        self.emulator.reset_faults()
        ready: list[tuple[Document, JobResult]] = []
        for (doc, _), result in zip(accepted, waited, strict=True):
            if isinstance(result, JobResult):
                ready.append((doc, result))
            else:
                self.outcomes[doc.name] = result

        expiring = {doc.name for doc, _ in ready if doc.short_link} - self.expired
        self.expired |= expiring
        self.dice(batch, "download").downloads(len(everything), len(expiring))
        landed = await asyncio.gather(
            *(
                download_result.aio(result, str(self.destination), filename=doc.name, credentials=self.credentials)
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

        missing = sum(self.outcomes.get(doc.name) != SUCCESS for doc in everything)
        if missing:
            raise BatchIncomplete(f"{missing} of {len(everything)} documents did not land")
        return len(everything)

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


@dataclass
class Tally:
    """What the soak counted; ``violations()`` lists every broken promise (none is the goal)."""

    config: SoakConfig
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    accepted: int = 0
    ambiguous: int = 0
    ambiguous_with_job: int = 0
    refused: int = 0
    refused_with_job: int = 0
    accepted_without_job: int = 0
    documents_with_two_jobs: int = 0
    foreign_jobs: int = 0
    jobs_billed: int = 0
    landed: int = 0
    partial_files: list[str] = field(default_factory=list)
    damaged_files: list[str] = field(default_factory=list)
    flow_runs: int = 0
    attempts: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    stats: dict[str, Any] = field(default_factory=dict)

    def violations(self) -> list[str]:
        broken = []
        if sum(self.outcomes.values()) != self.config.documents:
            broken.append(f"{sum(self.outcomes.values())} outcomes for {self.config.documents} documents")
        broken += [f"untyped error: {text}" for text in self.untyped]
        if self.jobs_billed != self.accepted + self.ambiguous_with_job:
            broken.append(
                f"jobs billed {self.jobs_billed} != accepted {self.accepted} + ambiguous that made a job "
                f"{self.ambiguous_with_job}"
            )
        for name, count in (
            ("documents with two jobs or more (a submit sent again)", self.documents_with_two_jobs),
            ("accepted submits without a job", self.accepted_without_job),
            ("refused submits with a job", self.refused_with_job),
            ("jobs of no document", self.foreign_jobs),
        ):
            if count:
                broken.append(f"{name}: {count}")
        broken += [f"partial file left: {name}" for name in self.partial_files]
        broken += [f"landed file not whole: {name}" for name in self.damaged_files]
        if self.landed != self.outcomes[SUCCESS]:
            broken.append(f"{self.landed} files landed for {self.outcomes[SUCCESS]} successes")
        return broken

    def render(self) -> str:
        config = self.config
        lines = [
            f"chaos soak, seed {config.seed}: {config.documents} documents in {self.flow_runs} flow runs of up to "
            f"{config.batch_size} (retries={config.flow_retries}), read timeout {config.timeout_seconds:g} s, "
            f"{self.seconds:.0f} s",
            f"  flow attempts               {self.attempts:5d}  ({self.attempts - self.flow_runs} flow retries)",
            "  faults injected:",
            *(f"    {kind:<26}{count:5d}" for kind, count in sorted(self.injected.items())),
            f"  scripted answers served     {self.stats.get('faults_served', 0):5d}",
            f"  downloads dropped mid-body  {self.stats.get('downloads_dropped', 0):5d}",
            "  outcomes by document:",
            *(f"    {kind:<26}{count:5d}" for kind, count in self.outcomes.most_common()),
            f"    {'untyped (not PdfcoError)':<26}{len(self.untyped):5d}",
            "  submits:",
            f"    accepted                  {self.accepted:5d}",
            f"    ambiguous (not re-sent)   {self.ambiguous:5d}  ({self.ambiguous_with_job} of them made a job)",
            f"    refused                   {self.refused:5d}",
            f"  jobs billed (emulator)      {self.jobs_billed:5d}  = accepted {self.accepted} + ambiguous with a job "
            f"{self.ambiguous_with_job}",
            f"  re-sent ambiguous submits   {self.documents_with_two_jobs:5d}  (documents with two jobs or more)",
            f"  files landed                {self.landed:5d}",
            f"  partial files left          {len(self.partial_files):5d}",
            f"  job checks billed           {self.stats.get('job_checks', 0):5d}  "
            f"(credits used {self.stats.get('credits_used', 0)})",
        ]
        broken = self.violations()
        lines.append("  invariants: " + ("all hold" if not broken else "BROKEN: " + "; ".join(broken)))
        return "\n".join(lines)


def tally(soak: Soak, seconds: float) -> Tally:
    stats = soak.emulator.stats()
    jobs: dict[str, int] = stats["jobs_by_name"]
    names = {doc.name for doc in soak.documents}
    result = Tally(soak.config, seconds=seconds, injected=soak.injected, stats=stats)
    result.flow_runs, result.attempts = len(soak.attempts), sum(soak.attempts.values())
    result.jobs_billed = stats["jobs_submitted"]
    result.foreign_jobs = sum(count for name, count in jobs.items() if name not in names)
    for doc in soak.documents:
        outcome = soak.outcomes.get(doc.name)
        if outcome == SUCCESS:
            result.outcomes[SUCCESS] += 1
        elif isinstance(outcome, PdfcoError):
            result.outcomes[type(outcome).__name__] += 1
        else:
            result.outcomes["untyped"] += 1
            result.untyped.append(f"{doc.name}: {type(outcome).__name__}: {outcome}")
        made = jobs.get(doc.name, 0)
        result.documents_with_two_jobs += made > 1
        seen = soak.submits.get(doc.name, set())
        if "accepted" in seen:
            result.accepted += 1
            result.accepted_without_job += made == 0
        elif "ambiguous" in seen:
            result.ambiguous += 1
            result.ambiguous_with_job += made > 0
        else:
            result.refused += 1
            result.refused_with_job += made > 0
    result.outcomes.pop("untyped", None)
    for path in sorted(soak.destination.rglob("*")):
        if path.is_file() and path.name not in soak.landed:
            result.partial_files.append(path.name)
    for name, landed in soak.landed.items():
        data = (soak.destination / name).read_bytes()
        whole = data.startswith(b"%PDF") and b"%%EOF" in data[-64:]
        if not whole or len(data) != landed.size or hashlib.sha256(data).hexdigest() != landed.sha256:
            result.damaged_files.append(name)
    result.landed = len(soak.landed)
    return result


async def run_soak(config: SoakConfig, destination: Path) -> Tally:
    """Runs the soak (a Prefect API must be reachable: a test harness or a server) and counts."""
    started = time.perf_counter()
    with PdfcoEmulator(api_key=f"sk-chaos-{uuid4().hex}", job_duration=config.job_seconds, strict=True) as emulator:
        soak = Soak(config, emulator, destination)
        batch_flow = soak.batch_flow()
        for batch in range(len(list(soak.batches()))):
            await batch_flow(batch, return_state=True)
        return tally(soak, time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--flow-retries", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=2.0, help="the block's read timeout, seconds")
    args = parser.parse_args()
    config = SoakConfig(
        documents=args.documents,
        batch_size=args.batch_size,
        seed=args.seed,
        flow_retries=args.flow_retries,
        timeout_seconds=args.timeout,
    )
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), tempfile.TemporaryDirectory() as out:
        result = asyncio.run(run_soak(config, Path(out)))
    print(result.render())
    return 1 if result.violations() else 0


if __name__ == "__main__":
    sys.exit(main())
