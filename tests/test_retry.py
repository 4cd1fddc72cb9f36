"""The retry policy as tables: what is retried, how long to wait, the 429 budget, Retry-After, and the one loop."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from prefect_pdfco import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    InvalidParametersError,
    NotFoundError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco._retry import backoff_delay, call_with_retries, parse_retry_after, retry_delay
from prefect_pdfco.jobs.schedule import PollPolicy

POLICY = RetryPolicy(
    max_attempts=4, initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.5, rate_limit_budget_seconds=20.0
)

NOT_SENT = PdfcoConnectionError("refused", may_have_reached_server=False)
MAYBE_SENT = PdfcoConnectionError("read timeout", may_have_reached_server=True)
SERVER = ServerError("boom", status_code=500)
LIMITED = RateLimitError("slow down", status_code=429)


def limited_after(seconds: float) -> RateLimitError:
    return RateLimitError("slow down", status_code=429, retry_after=seconds)


@pytest.mark.parametrize(
    ("error", "idempotent", "retried"),
    [
        (NOT_SENT, True, True),
        (NOT_SENT, False, True),
        (MAYBE_SENT, True, True),
        (MAYBE_SENT, False, False),
        (SERVER, True, True),
        (SERVER, False, False),
        (LIMITED, True, True),
        (LIMITED, False, True),
        (BadRequestError("bad", status_code=400), True, False),
        (NotFoundError("no such path", status_code=404), True, False),
        (AuthenticationError("key", status_code=401), True, False),
        (InsufficientCreditsError("money", status_code=402), True, False),
        (UnexpectedResponseError("odd"), True, False),
    ],
)
def test_what_is_retried(error: PdfcoError, idempotent: bool, retried: bool) -> None:
    delay = retry_delay(error, attempt=1, idempotent=idempotent, policy=POLICY, rand=lambda: 0.0)
    assert (delay is not None) is retried


@pytest.mark.parametrize(
    ("error", "attempt", "waited", "rand", "expected"),
    [
        # Other failures: exponential, jittered, capped, and stopped by max_attempts.
        (SERVER, 1, 0.0, 0.0, 1.0),
        (SERVER, 2, 0.0, 0.0, 2.0),
        (SERVER, 3, 0.0, 0.0, 4.0),
        (SERVER, 3, 0.0, 1.0, 2.0),
        (SERVER, 4, 0.0, 0.0, None),
        # 429 without Retry-After: the same backoff, capped, not stopped by max_attempts but by the budget.
        (LIMITED, 1, 0.0, 0.0, 1.0),
        (LIMITED, 3, 0.0, 0.5, 3.0),
        (LIMITED, 4, 7.0, 0.0, 5.0),
        (LIMITED, 40, 10.0, 0.0, 5.0),
        (LIMITED, 9, 17.5, 0.0, 2.5),  # what is left of the budget
        (LIMITED, 9, 20.0, 0.0, None),
        (LIMITED, 9, 25.0, 0.0, None),
        # 429 with Retry-After: honoured (at least initial_delay), charged to the budget, never past it.
        (limited_after(3.0), 1, 0.0, 0.0, 3.0),
        (limited_after(0.0), 1, 0.0, 0.0, 1.0),
        (limited_after(12.0), 30, 0.0, 0.0, 12.0),
        (limited_after(12.0), 2, 10.0, 0.0, None),
        (limited_after(99.0), 1, 0.0, 0.0, None),
    ],
)
def test_delay_table(error: PdfcoError, attempt: int, waited: float, rand: float, expected: float | None) -> None:
    delay = retry_delay(
        error, attempt=attempt, idempotent=True, policy=POLICY, rate_limited_seconds=waited, rand=lambda: rand
    )
    assert delay == (pytest.approx(expected) if expected is not None else None)


def test_a_zero_budget_never_retries_a_429() -> None:
    policy = RetryPolicy(rate_limit_budget_seconds=0)
    assert retry_delay(LIMITED, attempt=1, idempotent=True, policy=policy) is None


def test_backoff_is_capped() -> None:
    assert backoff_delay(30, initial=1.0, multiplier=2.0, maximum=5.0, jitter=0.0) == 5.0
    assert backoff_delay(10_000, initial=1.0, multiplier=2.0, maximum=5.0, jitter=0.0) == 5.0
    for attempt in range(1, 40):
        assert backoff_delay(attempt, initial=1.0, multiplier=2.0, maximum=5.0, jitter=0.5) <= 5.0


NOW = datetime(2025, 8, 11, 16, 0, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Mon, 11 Aug 2025 16:00:30 GMT", 30.0),
        ("Mon, 11 Aug 2025 16:00:30 -0000", 30.0),
        ("Mon, 11 Aug 2025 15:59:00 GMT", 0.0),  # in the past: now
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("garbage", None),
        ("-3", None),
        ("+3", None),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-inf", None),
        ("1e3", None),
        ("9" * 400, None),
        ("Mon, 99 Foo 2025 16:00:30 GMT", None),
        ("Mon, 11 Aug 99999 16:00:30 GMT", None),
        ("3 seconds", None),
        ("\x00", None),
    ],
)
def test_retry_after_parser_table(header: str | None, expected: float | None) -> None:
    value = parse_retry_after(header, now=lambda: NOW)
    assert value == expected
    assert value is None or (math.isfinite(value) and value >= 0)


class Script:
    """An attempt function that raises the scripted errors in order, then returns "done"."""

    def __init__(self, *errors: PdfcoError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_loop_survives_a_long_burst_of_429s_without_using_up_other_retries() -> None:
    script, sleeps, seen = Script(*[LIMITED] * 5, SERVER, SERVER, SERVER), Sleeps(), []
    result = await call_with_retries(
        script,
        idempotent=True,
        policy=POLICY,
        on_retry=lambda error, failed, delay: seen.append((type(error).__name__, failed, delay)),
        sleep=sleeps,
        rand=lambda: 0.0,
    )
    # Five 429s (more than max_attempts), then three 5xx: each kind has its own count and backoff.
    assert result == "done" and script.calls == 9
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0, 5.0, 1.0, 2.0, 4.0]
    assert seen[0] == ("RateLimitError", 1, 1.0) and seen[-1] == ("ServerError", 8, 4.0)


async def test_loop_gives_up_when_the_429_budget_is_spent() -> None:
    script, sleeps = Script(*[LIMITED] * 100), Sleeps()
    with pytest.raises(RateLimitError):
        await call_with_retries(script, idempotent=True, policy=POLICY, sleep=sleeps, rand=lambda: 0.0)
    assert sum(sleeps.delays) == pytest.approx(POLICY.rate_limit_budget_seconds)
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0, 5.0, 3.0]


async def test_loop_never_resends_a_submit_that_may_have_arrived() -> None:
    script, sleeps = Script(LIMITED, NOT_SENT, MAYBE_SENT), Sleeps()
    with pytest.raises(PdfcoConnectionError) as info:
        await call_with_retries(script, idempotent=False, policy=POLICY, sleep=sleeps, rand=lambda: 0.0)
    assert info.value is MAYBE_SENT and script.calls == 3 and sleeps.delays == [1.0, 1.0]


async def test_loop_lets_other_exceptions_through_at_once() -> None:
    async def boom() -> None:
        raise KeyError("not ours")

    sleeps = Sleeps()
    with pytest.raises(KeyError):
        await call_with_retries(boom, idempotent=True, policy=POLICY, sleep=sleeps)
    assert sleeps.delays == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", -1),
        ("max_attempts", 2.5),
        ("max_attempts", True),
        ("initial_delay", 0.0),
        ("initial_delay", -1.0),
        ("initial_delay", math.nan),
        ("max_delay", math.inf),
        ("max_delay", 0),
        ("multiplier", 0.5),
        ("multiplier", math.nan),
        ("jitter", 1.5),
        ("jitter", -0.1),
        ("rate_limit_budget_seconds", math.nan),
        ("rate_limit_budget_seconds", math.inf),
        ("rate_limit_budget_seconds", -1.0),
    ],
)
def test_policy_numbers_are_checked(field: str, value: object) -> None:
    with pytest.raises(InvalidParametersError, match=field):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


def test_poll_policy_schedule_covers_the_wait_and_respects_prefect_limits() -> None:
    policy = PollPolicy(initial_seconds=2.0, multiplier=1.5, max_seconds=30.0, jitter=0.2)
    schedule = policy.schedule(1800)
    assert sum(schedule) >= 1800 > sum(schedule[:-1])
    assert max(schedule) == 30.0
    delays = policy.retry_delays(1800)
    assert len(delays) <= 50 and delays[-1] == 30.0 and delays[0] == 2.0
    assert all(0.8 * d <= policy.delay(i + 1) <= d for i, d in enumerate(schedule[:10]))
