"""Retry policy as data, one pure function that applies it, and the one loop every idempotent HTTP call runs.

PDF.co bills every submit and has no idempotency key, so the question "may this request be sent again?" has
two answers:

- idempotent calls (job check, balance, GETs, downloads, presigned PUTs) retry connection errors, 429 and 5xx;
- a submit is re-sent only when it surely never reached PDF.co (a connect error) or was refused (429). Never
  after a read timeout, a broken connection or a 5xx: the job may exist and be billed already.

A 429 is a refusal, so it is retried for any call, on its own budget of seconds rather than the attempts
left for other failures: PDF.co documents no ``Retry-After``, and a burst of 429s on a busy account (2
requests/s on free plans) easily outlasts four attempts. The API client also slows the whole process down on
429s (see ``_ratelimit``); the backoff here only spreads out the requests that were refused.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timezone
from typing import TypeVar

from prefect_pdfco._validate import check_number
from prefect_pdfco.exceptions import (
    InvalidParametersError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "NO_RETRY",
    "RetryPolicy",
    "backoff_delay",
    "call_with_retries",
    "parse_retry_after",
    "retry_delay",
]

T = TypeVar("T")

# RFC 9110 delta-seconds is digits only; a decimal fraction is tolerated, a sign, exponent, "nan" or "inf" not.
_DELTA_SECONDS = re.compile(r"^\s*(\d{1,12}(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class RetryPolicy:
    """How one HTTP call is retried.

    Attributes:
        max_attempts: Attempts in all for failures other than 429 (connection errors, 5xx), the first included.
        initial_delay: Seconds before the first retry (also the least wait after a 429, whatever
            ``Retry-After`` says).
        multiplier: Growth of the delay per retry (1 keeps it constant).
        max_delay: Cap on any one backoff delay.
        jitter: Fraction of the delay drawn at random (0 to 1), to spread out clients that failed together.
        rate_limit_budget_seconds: Seconds of waiting after 429 answers before one call gives up with
            ``RateLimitError`` (0: a 429 is not retried). A ``Retry-After`` longer than what is left gives up
            at once.

    Raises:
        InvalidParametersError: A value is NaN, infinite, negative, or zero where zero means nothing.
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.25
    rate_limit_budget_seconds: float = 120.0

    def __post_init__(self) -> None:
        caller = "RetryPolicy"
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InvalidParametersError(
                caller, [f"max_attempts: must be a whole number of 1 or more, got {self.max_attempts!r}"]
            )
        # Zero delays would turn a burst of 429s into a tight loop: every delay is checked to be above zero.
        check_number(self.initial_delay, "initial_delay", caller=caller)
        check_number(self.max_delay, "max_delay", caller=caller)
        multiplier = check_number(self.multiplier, "multiplier", caller=caller)
        if multiplier < 1:
            raise InvalidParametersError(caller, [f"multiplier: must be 1 or more, got {multiplier:g}"])
        jitter = check_number(self.jitter, "jitter", caller=caller, allow_zero=True)
        if jitter > 1:
            raise InvalidParametersError(caller, [f"jitter: must be a fraction from 0 to 1, got {jitter:g}"])
        check_number(self.rate_limit_budget_seconds, "rate_limit_budget_seconds", caller=caller, allow_zero=True)


DEFAULT_RETRY_POLICY = RetryPolicy()
#: One attempt, and a 429 is not retried either.
NO_RETRY = RetryPolicy(max_attempts=1, rate_limit_budget_seconds=0.0)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None for anything else.

    Never raises: garbage, negative numbers, NaN and infinity are ignored (None), a date in the past is 0.

    Args:
        value: The header's value, or None when absent.
        now: The wall clock (epoch seconds) an HTTP date is measured against, for tests.
    """
    if not value:
        return None
    match = _DELTA_SECONDS.match(value)
    if match:
        return float(match.group(1))
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000" parses naive; HTTP dates are always UTC
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        seconds = moment.timestamp() - now()
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    multiplier: float,
    maximum: float,
    jitter: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """The capped, jittered exponential delay after attempt number ``attempt`` (1-based).

    The jitter takes up to ``jitter`` of the delay away, so the cap is never exceeded.
    """
    base = min(maximum, initial * multiplier ** min(max(0, attempt - 1), 64))
    return base * (1.0 - jitter * rand())


def retry_delay(
    error: PdfcoError,
    *,
    attempt: int,
    idempotent: bool,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    rate_limited_seconds: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before sending the request again, or None to give up and raise ``error``.

    Args:
        error: What the attempt raised, already mapped to our exception tree.
        attempt: How many attempts of this call failed this way so far, this one included: 429s and other
            failures are counted apart, so a burst of 429s does not use up the retries of connection errors.
        idempotent: False for a billed submit.
        policy: The limits.
        rate_limited_seconds: Seconds this call already waited after 429s (counted against the budget).
        rand: Source of randomness in [0, 1), for tests.
    """
    if isinstance(error, RateLimitError):
        left = policy.rate_limit_budget_seconds - rate_limited_seconds
        if left <= 0:
            return None
        if error.retry_after is not None:
            # The host said how long: waiting less is pointless, and waiting past the budget only to fail is worse.
            delay = max(error.retry_after, policy.initial_delay)
            return delay if delay <= left else None
        return min(left, _backoff(policy, attempt, rand))
    if attempt >= policy.max_attempts:
        return None
    if isinstance(error, PdfcoConnectionError):
        if not idempotent and error.may_have_reached_server:
            return None
    elif isinstance(error, ServerError):
        if not idempotent:
            return None
    else:
        return None
    return _backoff(policy, attempt, rand)


def _backoff(policy: RetryPolicy, attempt: int, rand: Callable[[], float]) -> float:
    return backoff_delay(
        attempt,
        initial=policy.initial_delay,
        multiplier=policy.multiplier,
        maximum=policy.max_delay,
        jitter=policy.jitter,
        rand=rand,
    )


async def call_with_retries(
    attempt_fn: Callable[[], Awaitable[T]],
    *,
    idempotent: bool,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    on_retry: Callable[[PdfcoError, int, float], None] | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Runs ``attempt_fn`` until it returns, retrying the ``PdfcoError`` it raises as ``retry_delay`` says.

    The one retry loop of the package: API calls, result downloads and presigned uploads all go through it.
    Anything that is not a ``PdfcoError`` (cancellation included) propagates at once.

    Args:
        attempt_fn: One attempt; it maps every failure to a ``PdfcoError`` first.
        idempotent: Whether sending again is harmless (False for a billed submit).
        policy: Attempts, delays and the 429 budget.
        on_retry: Called as ``on_retry(error, failed_attempts, delay)`` before each wait, e.g. to log.
        sleep: How to wait, for tests.
        rand: Source of randomness in [0, 1), for tests.

    Raises:
        PdfcoError: The last failure, once the policy says to stop.
    """
    failures = rate_limited = 0
    rate_limited_seconds = 0.0
    while True:
        try:
            return await attempt_fn()
        except PdfcoError as error:
            limited = isinstance(error, RateLimitError)
            if limited:
                rate_limited += 1
            else:
                failures += 1
            delay = retry_delay(
                error,
                attempt=rate_limited if limited else failures,
                idempotent=idempotent,
                policy=policy,
                rate_limited_seconds=rate_limited_seconds,
                rand=rand,
            )
            if delay is None:
                raise
            if limited:
                rate_limited_seconds += delay
            if on_retry is not None:
                on_retry(error, failures + rate_limited, delay)
        await sleep(delay)
