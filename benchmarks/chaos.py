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
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _chaos import SUCCESS, Soak, SoakConfig, run_soak

from prefect_pdfco import PdfcoError


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
            "  faults queued (a step drops what its calls left unused):",
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


def tally(soak: Soak) -> Tally:
    """Counts what the soak did and checks the destination for partial and damaged files."""
    stats = soak.stats
    jobs: dict[str, int] = stats["jobs_by_name"]
    names = {doc.name for doc in soak.documents}
    result = Tally(soak.config, seconds=soak.seconds, injected=soak.injected, stats=stats)
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
        result = tally(asyncio.run(run_soak(config, Path(out))))
    print(result.render())
    return 1 if result.violations() else 0


if __name__ == "__main__":
    sys.exit(main())
