"""Learnt job durations (``jobs.learn``) and the schedule built on them (``schedule.Plan``), as plain units.

No clock is read here: every time is an argument. The waits that use them run in ``test_jobs_wait.py``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator

import pytest

from prefect_pdfco import InvalidParametersError, PollPolicy
from prefect_pdfco.jobs import learn
from prefect_pdfco.jobs.learn import DurationBook, Estimate, Submitted, duration_key, observe_end
from prefect_pdfco.jobs.schedule import Plan

STEADY = PollPolicy(jitter=0.0)  # initial 2 s, x1.5, cap 30 s; shares 15% (learnt) and 25% (cold)


def never() -> float:
    return 0.0


@pytest.fixture(autouse=True)
def fresh_book() -> Iterator[None]:
    learn.BOOK.clear()
    yield
    learn.BOOK.clear()


def test_keys_are_the_endpoint_refined_by_the_order_of_magnitude_of_pages_or_bytes() -> None:
    assert duration_key("/v1/pdf/convert/to/text") == "pdf/convert/to/text"
    assert duration_key("pdf/convert/to/text", pages=40) == "pdf/convert/to/text|pages~32"
    assert duration_key("/v1/pdf/convert/to/text", pages=63) == duration_key("/v1/pdf/convert/to/text", pages=32)
    assert duration_key("/v1/pdf/merge", input_bytes=3_000_000) == "pdf/merge|bytes~2097152"


def test_an_estimate_is_the_spread_of_recent_jobs_and_a_refined_key_falls_back_to_its_endpoint() -> None:
    book = DurationBook(samples=24)
    assert book.estimate("pdf/merge") is None and book.estimate(None) is None
    for seconds in (12.0, 10.0, 11.0):
        book.observe("pdf/merge|pages~8", seconds)
    assert book.estimate("pdf/merge|pages~8") == Estimate(10.0, 12.0, 3)  # few samples: min and max
    assert book.estimate("pdf/merge|pages~64") == Estimate(10.0, 12.0, 3)  # unseen size: the endpoint's
    for seconds in range(100):  # only the latest 24 are kept: 76..99
        book.observe("pdf/merge", float(seconds))
    estimate = book.estimate("pdf/merge")
    assert estimate is not None and estimate.samples == 24
    assert 76 < estimate.low < 78 and 97 < estimate.high < 99  # 5th and 95th percentiles
    book.observe("pdf/merge", math.nan)
    book.observe("pdf/merge", -1.0)
    assert book.estimate("pdf/merge") == estimate  # nonsense is not learnt


def test_a_duration_is_pdfcos_job_duration_within_what_the_checks_saw_else_the_middle_of_it() -> None:
    book = DurationBook()
    entry = Submitted("pdf/merge", at=100.0, last_working=108.0)
    # jobDuration inside (last working check, success check]: taken as is
    assert observe_end(entry, ended_by=112.0, job_duration_ms=9_500, book=book) == 9.5
    # outside it (another clock, or queue time left out): clamped to what the checks saw
    assert observe_end(entry, ended_by=112.0, job_duration_ms=60_000, book=book) == 12.0
    assert observe_end(entry, ended_by=112.0, job_duration_ms=1_000, book=book) == 8.0
    # no jobDuration: the middle of (8, 12]
    assert observe_end(entry, ended_by=112.0, job_duration_ms=None, book=book) == 10.0
    # found done by the first check: counted a share earlier than the check, so learning drifts down, not up
    first = Submitted("pdf/merge", at=100.0)
    assert observe_end(first, ended_by=120.0, job_duration_ms=None, share=0.15, book=book) == pytest.approx(17.0)


def test_the_cold_plan_checks_after_the_first_delay_never_at_once_and_keeps_gaps_within_a_quarter() -> None:
    plan = Plan(STEADY)
    assert plan.delay(0.0, 0, never) == 2.0  # no check right after the submit
    assert plan.delay(0.5, 0, never) == 1.5  # measured from the submit
    assert plan.delay(5.0, 0, never) == 0.0  # a wait that starts late checks at once
    since, checks = plan.delay(0.0, 0, never), 1
    while since < 1800:
        gap = plan.delay(since, checks, never)
        assert 0 < gap <= max(1.5 * STEADY.initial_seconds, STEADY.cold_share * since)
        assert gap <= STEADY.delay(checks + 1, never)  # never slower than the backoff
        since, checks = since + gap, checks + 1
    # A 30-minute wait: 71 checks at most (the plain backoff made 65, learning of the end up to 50% late).
    assert checks <= 71


def test_the_learnt_plan_checks_first_where_jobs_end_then_within_fifteen_percent_of_the_wait() -> None:
    plan = Plan(STEADY, Estimate(low=40.0, high=50.0, samples=10))
    assert plan.delay(0.0, 0, never) == 46.0  # quickest (40 s) + 15% of it
    assert plan.delay(10.0, 0, never) == 36.0
    since = 46.0
    for checks in range(1, 30):
        gap = plan.delay(since, checks, never)
        assert gap == min(STEADY.max_seconds, STEADY.learned_share * since)
        since += gap
    # a short job: the tolerance is at least initial_seconds, but never beyond 15% after the slowest job
    assert Plan(STEADY, Estimate(1.0, 1.2, 3)).delay(0.0, 0, never) == pytest.approx(1.38)
    assert Plan(STEADY, Estimate(1.0, 5.0, 3)).delay(0.0, 0, never) == 3.0
    # a job checked cold before its operation's durations were learnt (a batch): next check where jobs end
    assert plan.delay(5.0, 2, never) == 41.0


def test_the_first_checks_jitter_stays_inside_the_window_where_jobs_end() -> None:
    plan = Plan(PollPolicy(jitter=0.5), Estimate(low=40.0, high=50.0, samples=10))
    assert plan.delay(0.0, 0, lambda: 1.0) == 43.0  # 46 s less half of (46 - 40)
    assert plan.delay(0.0, 0, lambda: 0.0) == 46.0


def test_poll_policy_keeps_its_positional_form_and_checks_every_new_number() -> None:
    assert PollPolicy(3.0, 1.5, 20.0, 0.1) == PollPolicy(initial_seconds=3.0, max_seconds=20.0, jitter=0.1)
    for bad in (
        {"learned_share": 0},
        {"learned_share": 1.0},
        {"cold_share": math.nan},
        {"cold_share": -0.1},
        {"safety_net_seconds": math.inf},
        {"safety_net_seconds": 0},
        {"learn": "yes"},
    ):
        with pytest.raises(InvalidParametersError, match=next(iter(bad))):
            PollPolicy(**bad)


def test_a_snapshot_fits_a_prefect_variable_and_merges_back_ignoring_malformed_entries() -> None:
    book = DurationBook()
    for index in range(300):
        for seconds in range(30):
            book.observe(f"pdf/operation-number-{index}|pages~{2**10}", seconds + 0.123)
    snapshot = book.snapshot()
    assert len(json.dumps(snapshot)) <= 5000  # Prefect's limit on a Variable's value
    assert "pdf/operation-number-299|pages~1024" in snapshot  # the most recently used are kept
    assert snapshot["pdf/operation-number-299|pages~1024"][-1] == 29.1  # 0.1 s is precise enough
    fresh = DurationBook()
    stored: dict[object, object] = {}
    stored.update(snapshot)
    stored.update({"bad": "x", "worse": [1.0, "2", -3, math.inf], 7: [1.0]})
    fresh.merge(stored)
    assert fresh.estimate("worse") == Estimate(1.0, 1.0, 1)
    assert fresh.estimate("pdf/operation-number-299|pages~1024") is not None
    fresh.merge(["not", "a", "mapping"])


def test_the_learn_variable_comes_from_the_argument_else_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(learn.LEARN_VARIABLE_ENV, raising=False)
    assert learn.learn_variable_name(None, caller="wait_for_job") is None
    assert learn.learn_variable_name("pdfco-durations", caller="wait_for_job") == "pdfco-durations"
    monkeypatch.setenv(learn.LEARN_VARIABLE_ENV, "nightly_durations")
    assert learn.learn_variable_name(None, caller="wait_for_job") == "nightly_durations"
    for bad in ("Has Spaces", "UPPER", "", 12):
        with pytest.raises(InvalidParametersError, match="learn_variable"):
            learn.learn_variable_name(bad, caller="wait_for_job")


async def test_a_variable_that_cannot_be_read_or_written_never_fails_the_wait(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.variables import Variable

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no Prefect API")

    monkeypatch.setattr(Variable, "aget", broken)
    monkeypatch.setattr(Variable, "aset", broken)
    book = DurationBook()
    with caplog.at_level(logging.WARNING, logger="prefect_pdfco"):
        await learn.load_book("pdfco-durations", book)
        await learn.load_book("pdfco-durations", book)  # read once per process
        book.observe("pdf/merge", 3.0)
        await learn.save_book("pdfco-durations", book)
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "Could not read learnt job durations from Prefect Variable 'pdfco-durations'",
        "Could not keep learnt job durations in Prefect Variable 'pdfco-durations'",
    ]


@pytest.mark.usefixtures("prefect_harness")
async def test_durations_kept_in_a_prefect_variable_teach_the_next_process() -> None:
    name = "pdfco-test-learnt-durations"
    first_run = DurationBook()
    first_run.observe("pdf/convert/to/text", 30.0)
    first_run.observe("pdf/convert/to/text", 34.0)
    await learn.save_book(name, first_run)
    assert not first_run.changed
    next_run = DurationBook()  # a new process: nothing learnt but what the Variable holds
    await learn.load_book(name, next_run)
    assert next_run.estimate("pdf/convert/to/text") == Estimate(30.0, 34.0, 2)


def test_with_callbacks_the_first_safety_net_check_comes_soon_after_the_expected_end() -> None:
    assert Plan(STEADY).safety_net(0.0, 0) == 300.0  # nothing learnt: every 5 minutes
    learnt = Plan(STEADY, Estimate(low=40.0, high=50.0, samples=10))
    assert learnt.safety_net(0.0, 0) == 92.0  # twice the expected end (46 s)
    assert learnt.safety_net(10.0, 0) == 82.0
    assert Plan(STEADY, Estimate(1.0, 1.2, 3)).safety_net(0.0, 0) == pytest.approx(31.38)  # or 30 s after it
    assert Plan(STEADY, Estimate(400.0, 500.0, 3)).safety_net(0.0, 0) == 300.0  # never beyond the net
    assert learnt.safety_net(100.0, 1) == 300.0  # after a check: the plain net
