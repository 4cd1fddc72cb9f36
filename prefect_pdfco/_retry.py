"""Retry policy as data, and one pure function that applies it.

PDF.co bills every submit and has no idempotency key, so the question "may this request be sent again?" has
two answers:

- idempotent calls (job check, balance, GETs, downloads) retry connection errors, 429 and 5xx;
- a submit is re-sent only when it surely never reached PDF.co (a connect error) or was refused (429). Never
  after a read timeout, a broken connection or a 5xx: the job may exist and be billed already.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from prefect_pdfco.exceptions import PdfcoConnectionError, PdfcoError, RateLimitError, ServerError

__all__ = ["RetryPolicy", "backoff_delay", "retry_delay"]


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries one HTTP call.

    Attributes:
        max_attempts: Attempts in all, the first included.
        initial_delay: Seconds before the first retry.
        multiplier: Growth of the delay per retry.
        max_delay: Cap on any one delay (also caps a Retry-After header).
        jitter: Fraction of the delay drawn at random, to spread out clients that failed together.
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.25


DEFAULT_RETRY_POLICY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)


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
    base = min(maximum, initial * multiplier ** max(0, attempt - 1))
    return base * (1.0 - jitter * rand())


def retry_delay(
    error: PdfcoError,
    *,
    attempt: int,
    idempotent: bool,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before sending the request again, or None to give up and raise ``error``.

    Args:
        error: What the attempt raised, already mapped to our exception tree.
        attempt: The number of the attempt that failed (1 for the first).
        idempotent: False for a billed submit.
        policy: The limits.
        rand: Source of randomness in [0, 1), for tests.
    """
    if attempt >= policy.max_attempts:
        return None
    if isinstance(error, RateLimitError):
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), policy.max_delay)
    elif isinstance(error, PdfcoConnectionError):
        if not idempotent and error.may_have_reached_server:
            return None
    elif isinstance(error, ServerError):
        if not idempotent:
            return None
    else:
        return None
    return backoff_delay(
        attempt,
        initial=policy.initial_delay,
        multiplier=policy.multiplier,
        maximum=policy.max_delay,
        jitter=policy.jitter,
        rand=rand,
    )
