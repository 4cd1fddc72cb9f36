"""The retry policy as a table: what is retried, for which kind of call, and how long to wait."""

from __future__ import annotations

import pytest

from prefect_pdfco import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco._polling import PollPolicy
from prefect_pdfco._retry import backoff_delay, retry_delay

POLICY = RetryPolicy(max_attempts=4, initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.5)

NOT_SENT = PdfcoConnectionError("refused", may_have_reached_server=False)
MAYBE_SENT = PdfcoConnectionError("read timeout", may_have_reached_server=True)
SERVER = ServerError("boom", status_code=500)
LIMITED = RateLimitError("slow down", status_code=429)
LIMITED_AFTER_3 = RateLimitError("slow down", status_code=429, retry_after=3.0)
LIMITED_AFTER_99 = RateLimitError("slow down", status_code=429, retry_after=99.0)


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
        (AuthenticationError("key", status_code=401), True, False),
        (InsufficientCreditsError("money", status_code=402), True, False),
        (UnexpectedResponseError("odd"), True, False),
    ],
)
def test_what_is_retried(error: PdfcoError, idempotent: bool, retried: bool) -> None:
    delay = retry_delay(error, attempt=1, idempotent=idempotent, policy=POLICY, rand=lambda: 0.0)
    assert (delay is not None) is retried


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [(1, 0.0, 1.0), (2, 0.0, 2.0), (3, 0.0, 4.0), (3, 1.0, 2.0), (4, 0.0, None)],
)
def test_backoff_grows_is_jittered_and_stops(attempt: int, rand: float, expected: float | None) -> None:
    assert retry_delay(SERVER, attempt=attempt, idempotent=True, policy=POLICY, rand=lambda: rand) == expected


def test_backoff_is_capped() -> None:
    assert backoff_delay(30, initial=1.0, multiplier=2.0, maximum=5.0, jitter=0.0) == 5.0
    for attempt in range(1, 40):
        assert backoff_delay(attempt, initial=1.0, multiplier=2.0, maximum=5.0, jitter=0.5) <= 5.0


def test_retry_after_is_honoured_and_capped() -> None:
    assert retry_delay(LIMITED_AFTER_3, attempt=1, idempotent=False, policy=POLICY) == 3.0
    assert retry_delay(LIMITED_AFTER_99, attempt=1, idempotent=True, policy=POLICY) == POLICY.max_delay


def test_poll_policy_schedule_covers_the_wait_and_respects_prefect_limits() -> None:
    policy = PollPolicy(initial_seconds=2.0, multiplier=1.5, max_seconds=30.0, jitter=0.2)
    schedule = policy.schedule(1800)
    assert sum(schedule) >= 1800 > sum(schedule[:-1])
    assert max(schedule) == 30.0
    delays = policy.retry_delays(1800)
    assert len(delays) <= 50 and delays[-1] == 30.0 and delays[0] == 2.0
    assert all(0.8 * d <= policy.delay(i + 1) <= d for i, d in enumerate(schedule[:10]))
