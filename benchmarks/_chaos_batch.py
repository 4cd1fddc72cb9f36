"""The chaos soak's ``run_batch`` legs (``chaos.py`` says why): batches under faults with half their documents
unnamed, and batches killed mid-way (SIGKILL or SIGTERM) then retried once every window has passed.

Run as a script, this file is the child the killed leg starts: ``python _chaos_batch.py DESTINATION SEED COUNT TAG``
(the key and base URL in ``PDFCO_API_KEY`` and ``PDFCO_BASE_URL``, the Prefect API in ``PREFECT_API_URL``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from prefect import flow
from prefect.context import FlowRunContext

from prefect_pdfco import DownloadedFile, PdfcoCredentials, PdfcoError, SubmitOutcomeUnknown
from prefect_pdfco.flows import BatchItem, run_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _chaos import LINKS_PATH, SUCCESS, Dice, SoakConfig

__all__ = ["Leg", "run_batch_leg", "run_kill_leg"]

#: What run_batch writes beside the outputs: not a document.
MANIFEST = ".pdfco-manifest.jsonl"
#: Three hours: past the re-attach check of an old record (50 minutes) and the emulator's links (an hour).
LATER = timedelta(hours=3)


@dataclass
class Leg:
    """One leg's documents (by key), the output ``name`` each was sent with (None: PDF.co's default, which they
    share), what became of each, what the client saw of its submits, the files it reported landed, and the
    emulator's counters (one emulator per leg)."""

    name: str
    destination: Path
    keys: list[str]
    output_names: dict[str, str | None]
    outcomes: dict[str, object] = field(default_factory=dict)
    submits: dict[str, set[str]] = field(default_factory=dict)
    landed: dict[str, list[DownloadedFile]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    injected: Counter[str] = field(default_factory=Counter)
    flow_runs: int = 0
    attempts: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    own_jobs: Counter[str] = field(default_factory=Counter)  # jobs the soak made itself, of no document

    def note_item(self, key: str, item: BatchItem) -> None:
        """What one attempt of ``run_batch`` said of one document."""
        seen = self.submits.setdefault(key, set())
        if item.job_id is not None and not item.skipped:
            seen.add("accepted")
        if item.ok:
            self.outcomes[key] = SUCCESS
            self.landed[key] = list(item.files)
            return
        self.outcomes[key] = item.error
        if isinstance(item.error, SubmitOutcomeUnknown):
            seen.add("ambiguous")
        elif item.job_id is None and not seen:
            seen.add("refused")


def _html(seed: int, tag: str, index: int) -> str:
    rng = random.Random(f"{seed}-{tag}-{index}")
    paragraph = "<p>" + "Chaos soak line, long enough to make a PDF of a few kilobytes. " * 6 + "</p>"
    return f"<h1>{tag} document {index}</h1>" + paragraph * rng.randint(4, 12)


def batch_items(seed: int, count: int, tag: str, *, unnamed_share: float) -> list[dict[str, Any]]:
    """The documents of one batch: every other one (by ``unnamed_share``) without a ``name``, so PDF.co calls its
    output result.pdf like its neighbours'."""
    rng = random.Random(f"{seed}-{tag}-names")
    items = []
    for index in range(count):
        item: dict[str, Any] = {"html": _html(seed, tag, index)}
        if rng.random() >= unnamed_share:
            item["name"] = f"chaos-{tag}-{index:04d}.pdf"
        items.append(item)
    return items


# --- run_batch under faults, flow retries re-attaching ------------------------------------------------------------


async def run_batch_leg(config: SoakConfig, destination: Path, emulator: Any) -> Leg:
    """Batches of ``config.batch_size`` through ``run_batch`` in a flow with retries; before each attempt the dice
    queue faults for every step. The flow fails while a document did not land, so Prefect retries it, and the retry
    re-attaches to what the earlier attempts paid for."""
    started = time.perf_counter()
    run = uuid4().hex[:6]
    batches = [
        batch_items(config.seed, min(config.batch_size, config.documents - start), f"b{run}-{start}", unnamed_share=0.5)
        for start in range(0, config.documents, config.batch_size)
    ]
    keys = [f"batch{b}-{i}" for b, items in enumerate(batches) for i in range(len(items))]
    names = {f"batch{b}-{i}": item.get("name") for b, items in enumerate(batches) for i, item in enumerate(items)}
    leg = Leg("run_batch, faults, half unnamed", destination, keys, names)
    credentials = PdfcoCredentials(
        api_key=emulator.api_key, base_url=emulator.base_url, timeout_seconds=config.timeout_seconds
    )
    attempts: Counter[int] = Counter()

    @flow(name="chaos-run-batch", retries=config.flow_retries, retry_delay_seconds=0, validate_parameters=False)
    async def chaos_run_batch(number: int) -> int:
        attempts[number] += 1
        items = batches[number]
        Dice(emulator, config, f"batch-{number}-{attempts[number]}", leg.injected).batch(len(items))
        try:
            # A directory per batch: a later batch may replace an earlier batch's file of the same name (as
            # documented); within one batch, its retries included, every document lands as a file of its own.
            out = str(destination / f"batch-{number}")
            outcome = await run_batch.aio(credentials, "html_to_pdf", items, out, max_wait_seconds=120)
        finally:
            emulator.reset_faults()
        for index, item in enumerate(outcome.items):
            leg.note_item(f"batch{number}-{index}", item)
        if outcome.failed:
            raise RuntimeError(f"{len(outcome.failed)} of {len(items)} documents did not land")
        return len(items)

    for number in range(len(batches)):
        await chaos_run_batch(number, return_state=True)
    leg.flow_runs, leg.attempts = len(batches), sum(attempts.values())
    leg.stats, leg.seconds = emulator.stats(), time.perf_counter() - started
    return leg


# --- killed mid-batch, retried once every window has passed -------------------------------------------------------


@flow(name="chaos-killed-batch")
def killed_batch(destination: str, seed: int, count: int, tag: str) -> list[dict[str, Any]]:
    """One batch into ``destination`` (every document named: the emulator tells each one's jobs apart); returns
    each item as JSON so the re-run's outcome can be read from its state."""
    ctx = FlowRunContext.get()
    print(f"flow-run-id {ctx.flow_run.id if ctx and ctx.flow_run else ''}", flush=True)
    credentials = PdfcoCredentials(api_key=os.environ["PDFCO_API_KEY"], base_url=os.environ["PDFCO_BASE_URL"])
    items = batch_items(seed, count, tag, unnamed_share=0.0)
    batch = run_batch(credentials, "html_to_pdf", items, destination=destination, max_wait_seconds=120)
    return [
        {"ok": item.ok, "job_id": item.job_id, "skipped": item.skipped, "files": [f.model_dump() for f in item.files],
         "error": type(item.error).__name__ if item.error else None, "message": str(item.error or "")}
        for item in batch.items
    ]  # fmt: skip


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST) if directory.exists() else []


def _records(storage: Path) -> list[Path]:
    return sorted(storage.glob("pdfco-submit-*.submit-record")) if storage.exists() else []


def _age(records: list[Path]) -> int:
    """Every time in the records moved ``LATER`` into the past (as if the retry came hours later); how many."""
    for path in records:
        record = json.loads(path.read_text())
        for key in ("accepted_at", "recorded_at", "sent_at"):
            if record.get(key):
                record[key] = (datetime.fromisoformat(record[key]) - LATER).isoformat()
        path.write_text(json.dumps(record))
    return len(records)


def _rerun(flow_run_id: str) -> Any:
    """Runs an ended flow run again, as the UI's Retry and a worker do; its final state."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Scheduled(), force=True)
        flow_run = client.read_flow_run(UUID(flow_run_id))
    return run_flow(killed_batch, flow_run=flow_run, return_type="state")


def run_kill_leg(config: SoakConfig, destination: Path, emulator: Any, api_url: str, storage: Path) -> Leg:
    """Rounds of: a child process runs ``killed_batch``; once files land it gets SIGKILL (even rounds) or SIGTERM
    (odd rounds, with downloads held open at that moment); every record is aged three hours and the emulator's clock
    moved past its links' lifetime (it forgets finished jobs, as PDF.co may); then the same flow run is run again
    here. Checked: nothing that landed is sent again, a job PDF.co forgot is named (SubmittedJobGone) rather than
    paid again, SIGTERM leaves no partial file, and the retry's first transfer sweeps what a SIGKILL left."""
    started = time.perf_counter()
    leg = Leg("run_batch killed, retried 3 h later", destination, [], {})
    env = {**os.environ, "PDFCO_API_KEY": emulator.api_key, "PDFCO_BASE_URL": emulator.base_url}
    env["PREFECT_API_URL"] = api_url
    os.environ.update(PDFCO_API_KEY=emulator.api_key, PDFCO_BASE_URL=emulator.base_url)  # for the re-run here
    rng = random.Random(f"{config.seed}-kill")
    destination.mkdir(parents=True, exist_ok=True)
    for number in range(config.kill_rounds):
        tag, sig = f"k{uuid4().hex[:6]}-{number}", (signal.SIGKILL if number % 2 == 0 else signal.SIGTERM)
        out = destination / tag
        keys = [f"{tag}-{index}" for index in range(config.kill_documents)]
        leg.keys += keys
        leg.output_names.update({key: f"chaos-{tag}-{index:04d}.pdf" for index, key in enumerate(keys)})
        earlier_records = set(_records(storage))
        if sig == signal.SIGTERM:  # downloads held open when the signal comes: their temporary files exist
            emulator.inject(LINKS_PATH, delay=0.001, times=2)
            emulator.inject(LINKS_PATH, delay=30.0, times=config.kill_documents)
        log = destination / f"{tag}.log"
        with log.open("w") as errors:
            child = subprocess.Popen(
                [sys.executable, __file__, str(out), str(config.seed), str(config.kill_documents), tag],
                env=env, stdout=subprocess.PIPE, stderr=errors, text=True,
            )  # fmt: skip
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("flow-run-id "):
            child.kill()
            raise RuntimeError(f"the child did not start its flow run ({line!r}): {log.read_text()[-3000:]}")
        flow_run_id = line.split()[1]
        deadline = time.monotonic() + 300
        wanted = 2 if sig == signal.SIGTERM else rng.randint(2, max(2, config.kill_documents // 3))
        while (
            sum(p.suffix == ".pdf" for p in _files(out)) < wanted
            and child.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        if sig == signal.SIGTERM:
            time.sleep(1.0)  # the held downloads are under way
        child.send_signal(sig)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            leg.broken.append(f"round {number}: the child was still running 60 s after {sig.name}")
        log.unlink()
        emulator.reset_faults()
        parts = [p.name for p in _files(out) if not p.name.endswith(".pdf")]
        landed_before = len([p for p in _files(out) if p.name.endswith(".pdf")])
        if sig == signal.SIGTERM and parts:
            leg.broken.append(f"round {number}: SIGTERM left partial files {parts}")
        for path in set(_records(storage)) - earlier_records:  # this round's item records: what the child saw
            record, index = json.loads(path.read_text()), path.name.split(".item-")[-1].split(".")[0]
            state = {"accepted": "accepted", "landed": "accepted", "refused": "refused"}.get(record["state"])
            if index.isdigit():
                leg.submits.setdefault(f"{tag}-{index}", set()).add(state or "ambiguous")
        aged = _age(_records(storage))
        emulator.advance_clock(LATER.total_seconds())  # past every link: the emulator forgets the finished jobs
        before = emulator.stats()["jobs_by_name"]
        state = _rerun(flow_run_id)
        after = emulator.stats()["jobs_by_name"]
        results = state.result(raise_on_failure=False)
        if not isinstance(results, list):
            leg.broken.append(f"round {number}: the retry failed: {results!r}")
            results = []
        for key, result in zip(keys, results, strict=False):
            seen = leg.submits.setdefault(key, set())
            if result["job_id"]:
                seen.add("accepted")
            if result["ok"]:
                leg.outcomes[key] = SUCCESS
                leg.landed[key] = [DownloadedFile.model_validate(f) for f in result["files"]]
            else:
                leg.outcomes[key] = _typed(result)
                if result["error"] == "SubmitOutcomeUnknown":
                    seen.add("ambiguous")
        swept = ""
        if any(not p.name.endswith(".pdf") for p in _files(out)):
            swept = _sweep_by_a_transfer(out, emulator)
            leg.own_jobs["sweeper.pdf"] += 1
        sent_again = sum(after.get(name, 0) - before.get(name, 0) for name in before)
        if sent_again:
            leg.broken.append(f"round {number}: {sent_again} document(s) paid for before the kill were sent again")
        kinds = Counter(r["error"] or ("landed earlier" if r["skipped"] else "landed now") for r in results)
        leg.notes.append(
            f"round {number}: {sig.name} after {landed_before} landed ({len(parts)} partial file(s) left at once); "
            f"{aged} records aged 3 h; retry: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + swept
        )
    leg.flow_runs = leg.attempts = config.kill_rounds
    leg.stats, leg.seconds = emulator.stats(), time.perf_counter() - started
    return leg


def _sweep_by_a_transfer(out: Path, emulator: Any) -> str:
    """What a SIGKILL left is swept by the next transfer into the same place: one download there (its file then
    removed), when the retry itself downloaded nothing."""
    import asyncio

    from prefect_pdfco import PdfcoClient

    async def one() -> None:
        async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
            job = await client.submit("/v1/pdf/convert/from/html", {"html": "<p>sweeper</p>", "name": "sweeper.pdf"})
            landed = await client.download(await client.wait(job.job_id, max_wait_seconds=60), out)
            Path(landed.path).unlink()

    left = len([p for p in _files(out) if not p.name.endswith(".pdf")])
    asyncio.run(one())
    return f"; {left} partial file(s) left by the SIGKILL, swept by the next download into the directory"


class _Untyped(Exception):
    """An error the retry reported that is not a PdfcoError."""


def _typed(result: dict[str, Any]) -> object:
    """The typed error a JSON item names (its class from the package), else an ``_Untyped``."""
    import prefect_pdfco

    kind = getattr(prefect_pdfco, str(result["error"]), None)
    if isinstance(kind, type) and issubclass(kind, PdfcoError):
        error = kind.__new__(kind)
        Exception.__init__(error, result["message"])
        return error
    return _Untyped(f"{result['error']}: {result['message']}")


if __name__ == "__main__":
    killed_batch(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
