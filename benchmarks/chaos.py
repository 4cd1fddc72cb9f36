"""Chaos soak: documents through real Prefect flows and the emulator, with faults at random, and the tally.

Three legs, each on an emulator of its own (strict mode), on a Prefect test harness:

1. Typed tasks (``_chaos.Soak``): each batch of documents in one async flow with flow retries: ``html_to_pdf`` per
   document (gathered, each with its own ``submit_key``), one ``wait_for_jobs``, then ``download_result`` per
   document into one directory; a document already landed there is skipped, and a batch that did not land every
   document raises, so Prefect retries the flow. Before each step of each attempt a seeded ``random.Random``
   queues faults: submits (429 bursts without Retry-After, read timeouts past the block's ``timeout_seconds``
   while the emulator still creates the job, 5xx and dropped connections after the job was created, failed jobs),
   job checks (429 bursts, runs of 5xx past the client's retries, dropped connections), downloads (503s,
   connections dropped mid-body, and links that expire before the download).
2. ``run_batch`` (``_chaos_batch.run_batch_leg``): the same faults, queued for every step before each attempt of a
   flow (with retries) that calls ``run_batch``; half the documents have no ``name``, so PDF.co calls every one of
   their outputs result.pdf (#17.6: results that share a name must each land as a file of their own).
3. Killed and retried (``_chaos_batch.run_kill_leg``): a child process runs ``run_batch``; once some files landed it
   gets SIGKILL or SIGTERM (in turn; SIGTERM while downloads are held open); every submit record is aged three
   hours and the emulator's clock moved past its links' lifetime, so it forgets the finished jobs (as PDF.co may);
   then the same flow run is run again (#17.1: nothing that landed is sent again, a job PDF.co forgot is named by a
   typed ``SubmittedJobGone`` instead of being paid again; #17.7: SIGTERM leaves no partial file).

Every ambiguous submit the soak provokes creates its job, so a submit sent again shows as a second job for its
document (the emulator counts jobs by output ``name``; documents without one are counted together under
result.pdf). The tally, per leg and in all: every document ends landed or with a ``PdfcoError`` subclass (untyped
errors: 0); jobs billed = accepted submits + ambiguous submits that made a job; re-sent ambiguous submits: 0;
files on disk = items reported landed; partial files: 0; every landed file a whole PDF of the size reported.

Run: python benchmarks/chaos.py [--documents 200] [--batch-size 20] [--seed 9] [--flow-retries 2]
     [--kill-rounds 2] [--kill-documents 30] [--legs typed batch killed]
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
from uuid import uuid4

from _chaos import SUCCESS, Soak, SoakConfig, run_soak
from _chaos_batch import MANIFEST, Leg, run_batch_leg, run_kill_leg

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import PdfcoError

#: The output name PDF.co gives an HTML-to-PDF job that names none.
DEFAULT_NAME = "result.pdf"


@dataclass
class Tally:
    """What one leg (or all) counted; ``violations()`` lists every broken promise (none is the goal)."""

    name: str
    documents: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    accepted: int = 0
    ambiguous: int = 0
    ambiguous_with_job: int = 0
    refused: int = 0
    refused_with_job: int = 0
    accepted_without_job: int = 0
    resent: int = 0
    foreign_jobs: int = 0
    jobs_billed: int = 0
    landed: int = 0
    on_disk: int = 0
    partial_files: list[str] = field(default_factory=list)
    damaged_files: list[str] = field(default_factory=list)
    unreported_files: list[str] = field(default_factory=list)
    flow_runs: int = 0
    attempts: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    faults_served: int = 0
    notes: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        broken = list(self.broken)
        if sum(self.outcomes.values()) + len(self.untyped) != self.documents:
            broken.append(f"{sum(self.outcomes.values())} outcomes for {self.documents} documents")
        broken += [f"untyped error: {text}" for text in self.untyped]
        if self.jobs_billed != self.accepted + self.ambiguous_with_job:
            broken.append(
                f"jobs billed {self.jobs_billed} != accepted {self.accepted} + ambiguous that made a job "
                f"{self.ambiguous_with_job}"
            )
        for what, count in (
            ("re-sent submits (a document with two jobs or more)", self.resent),
            ("accepted submits without a job", self.accepted_without_job),
            ("refused submits with a job", self.refused_with_job),
            ("jobs of no document", self.foreign_jobs),
        ):
            if count:
                broken.append(f"{what}: {count}")
        broken += [f"partial file left: {name}" for name in self.partial_files]
        broken += [f"landed file not whole (or not its reported size): {name}" for name in self.damaged_files]
        broken += [f"file on disk no item reports: {name}" for name in self.unreported_files]
        if self.landed != self.outcomes[SUCCESS]:
            broken.append(f"{self.landed} items reported landed for {self.outcomes[SUCCESS]} successes")
        if self.on_disk != self.landed:
            broken.append(f"{self.on_disk} files on disk for {self.landed} items reported landed")
        return broken

    def add(self, other: Tally) -> None:
        for name in ("documents", "seconds", "accepted", "ambiguous", "ambiguous_with_job", "refused",
                     "refused_with_job", "accepted_without_job", "resent", "foreign_jobs", "jobs_billed", "landed",
                     "on_disk", "flow_runs", "attempts", "checks", "faults_served"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("untyped", "partial_files", "damaged_files", "unreported_files", "broken"):
            getattr(self, name).extend(getattr(other, name))
        self.outcomes.update(other.outcomes)
        self.injected.update(other.injected)

    def render(self) -> str:
        lines = [
            f"{self.name}: {self.documents} documents in {self.flow_runs} flow runs, {self.attempts} attempts, "
            f"{self.seconds:.0f} s",
            *(f"    {note}" for note in self.notes),
        ]
        if self.injected:
            lines.append("  faults queued: " + ", ".join(f"{kind} {n}" for kind, n in sorted(self.injected.items())))
            lines.append(f"  scripted answers served {self.faults_served}")
        outcomes = ", ".join(f"{kind} {n}" for kind, n in self.outcomes.most_common())
        billed = "yes" if self.jobs_billed == self.accepted + self.ambiguous_with_job else "NO"
        lines += [
            f"  outcomes: {outcomes}; untyped (not PdfcoError) {len(self.untyped)}",
            f"  submits: accepted {self.accepted}, ambiguous (never re-sent) {self.ambiguous} "
            f"({self.ambiguous_with_job} made a job), refused {self.refused}",
            f"  jobs billed {self.jobs_billed} = accepted {self.accepted} + ambiguous with a job "
            f"{self.ambiguous_with_job}: {billed}",
            f"  re-sent ambiguous submits {self.resent}; files on disk {self.on_disk} == items reported landed "
            f"{self.landed}: {'yes' if self.on_disk == self.landed else 'NO'}; partial files "
            f"{len(self.partial_files)}; damaged files {len(self.damaged_files)}; job checks billed {self.checks}",
        ]
        broken = self.violations()
        lines.append("  invariants: " + ("all hold" if not broken else "BROKEN: " + "; ".join(broken)))
        return "\n".join(lines)


def leg_of(soak: Soak) -> Leg:
    """The typed-task soak as a leg of the tally."""
    names = [doc.name for doc in soak.documents]
    leg = Leg("typed tasks, faults", soak.destination, names, {name: name for name in names})
    leg.outcomes, leg.submits, leg.stats, leg.injected = soak.outcomes, soak.submits, soak.stats, soak.injected
    leg.landed = {name: [file] for name, file in soak.landed.items()}
    leg.flow_runs, leg.attempts, leg.seconds = len(soak.attempts), sum(soak.attempts.values()), soak.seconds
    return leg


def tally(leg: Leg) -> Tally:
    """Counts what a leg did and checks its destination for partial, damaged and missing files."""
    stats = leg.stats
    jobs: dict[str, int] = stats["jobs_by_name"]
    result = Tally(leg.name, len(leg.keys), leg.seconds, notes=list(leg.notes), broken=list(leg.broken))
    result.flow_runs, result.attempts, result.injected = leg.flow_runs, leg.attempts, leg.injected
    result.jobs_billed = stats["jobs_submitted"] - sum(leg.own_jobs.values())
    result.checks = stats["job_checks"]
    result.faults_served = stats.get("faults_served", 0)
    named = {name for name in leg.output_names.values() if name}
    jobs = {name: n - leg.own_jobs.get(name, 0) for name, n in jobs.items()}
    result.foreign_jobs = sum(n for name, n in jobs.items() if name not in named and name != DEFAULT_NAME)
    unnamed = {"accepted": 0, "ambiguous": 0}
    for key in leg.keys:
        outcome = leg.outcomes.get(key)
        if outcome == SUCCESS:
            result.outcomes[SUCCESS] += 1
        elif isinstance(outcome, PdfcoError):
            result.outcomes[type(outcome).__name__] += 1
        else:
            result.untyped.append(f"{key}: {type(outcome).__name__}: {outcome}")
        seen, name = leg.submits.get(key, set()), leg.output_names.get(key)
        state = "accepted" if "accepted" in seen else "ambiguous" if "ambiguous" in seen else "refused"
        result.accepted += state == "accepted"
        result.ambiguous += state == "ambiguous"
        result.refused += state == "refused"
        if name is None:  # counted together with the other unnamed documents below
            unnamed[state] = unnamed.get(state, 0) + 1
            continue
        made = jobs.get(name, 0)
        result.resent += made > 1
        result.accepted_without_job += state == "accepted" and made == 0
        result.ambiguous_with_job += state == "ambiguous" and made > 0
        result.refused_with_job += state == "refused" and made > 0
    if any(name is None for name in leg.output_names.values()):
        made = jobs.get(DEFAULT_NAME, 0)
        expected = unnamed["accepted"] + unnamed["ambiguous"]  # every ambiguous submit of the soak makes its job
        result.resent += max(0, made - expected)
        result.accepted_without_job += max(0, unnamed["accepted"] - made)
        result.ambiguous_with_job += max(0, min(made, expected) - unnamed["accepted"])
    files = sorted(p for p in leg.destination.rglob("*") if p.is_file() and p.name != MANIFEST)
    reported = {Path(f.path).resolve(): f for files_ in leg.landed.values() for f in files_}
    result.landed = sum(1 for key in leg.keys if leg.outcomes.get(key) == SUCCESS and leg.landed.get(key))
    result.on_disk = sum(1 for path in files if path.suffix == ".pdf")
    result.partial_files = [path.name for path in files if path.suffix != ".pdf"]
    for path in files:
        if path.suffix != ".pdf":
            continue
        data, landed = path.read_bytes(), reported.get(path.resolve())
        whole = data.startswith(b"%PDF") and b"%%EOF" in data[-64:]
        if landed is None:  # whole or not, no item says it landed here
            result.unreported_files.append(path.name)
        elif (
            not whole
            or len(data) != landed.size
            or (landed.sha256 and hashlib.sha256(data).hexdigest() != landed.sha256)
        ):
            result.damaged_files.append(path.name)
    return result


async def _typed_and_batch(config: SoakConfig, out: Path, legs: list[str]) -> list[Leg]:
    done: list[Leg] = []
    if "typed" in legs:
        done.append(leg_of(await run_soak(config, out / "typed")))
    if "batch" in legs:
        with PdfcoEmulator(api_key=f"sk-chaos-{uuid4().hex}", job_duration=config.job_seconds, strict=True) as emu:
            done.append(await run_batch_leg(config, out / "batch", emu))
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=200, help="documents of the typed and run_batch legs, each")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--flow-retries", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=2.0, help="the block's read timeout, seconds")
    parser.add_argument("--kill-rounds", type=int, default=2, help="rounds of the killed leg (SIGKILL, SIGTERM...)")
    parser.add_argument("--kill-documents", type=int, default=30, help="documents per killed round")
    parser.add_argument("--legs", nargs="+", choices=["typed", "batch", "killed"], default=["typed", "batch", "killed"])
    args = parser.parse_args()
    config = SoakConfig(
        documents=args.documents, batch_size=args.batch_size, seed=args.seed, flow_retries=args.flow_retries,
        timeout_seconds=args.timeout, kill_rounds=args.kill_rounds, kill_documents=args.kill_documents,
    )  # fmt: skip
    from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180), tempfile.TemporaryDirectory() as work:
        out = Path(work)
        legs = asyncio.run(_typed_and_batch(config, out, args.legs))
        if "killed" in args.legs:
            storage = Path(str(PREFECT_LOCAL_STORAGE_PATH.value())).expanduser()
            with PdfcoEmulator(api_key=f"sk-chaos-{uuid4().hex}", job_duration=0.5, strict=True) as emu:
                api_url = str(PREFECT_API_URL.value())
                legs.append(run_kill_leg(config, out / "killed", emu, api_url, storage))
        tallies = [tally(leg) for leg in legs]
    total = Tally(f"all legs, seed {config.seed}")
    print(f"chaos soak, seed {config.seed}; load average {os.getloadavg()[0]:.1f} (2 cores shared)")
    for one in tallies:
        print(one.render())
        total.add(one)
    print(total.render())
    return 1 if total.violations() else 0


if __name__ == "__main__":
    sys.exit(main())
