"""How often to ask ``/v1/job/check``: a capped, jittered backoff, as data.

Each check costs 2 credits. The peers poll on a fixed tick (PDF.co's n8n node, https://github.com/pdfdotco/n8n-nodes-pdfco,
every 3 s; its MCP server, https://pypi.org/project/pdfco-mcp/, every 1 s); PDF.co's own KB
(https://apidocs.pdf.co/kb/Background%20Job%20(job-check)/how-are-credits-spent-for-async-jobs)
advises 10-15 s between checks for large files and a cap of about 25 s. We start quick (most jobs take a few
seconds), grow by half each time, and stop growing at 30 s: a 30-minute wait then costs about 65 checks
(130 credits) instead of 600 (n8n) or 1,800 (MCP).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from prefect_pdfco._retry import backoff_delay
from prefect_pdfco._validate import check_number
from prefect_pdfco.exceptions import InvalidParametersError

__all__ = ["DEFAULT_POLL_POLICY", "PollPolicy"]


class _Curve(TypedDict):
    """A policy's delays in the words of ``backoff_delay``, the one formula for every backoff of the package."""

    initial: float
    multiplier: float
    maximum: float
    jitter: float


def _no_jitter() -> float:
    return 0.0


@dataclass(frozen=True)
class PollPolicy:
    """Delays between job checks.

    Attributes:
        initial_seconds: Delay before the first check (``wait_for_job``) or the first retry (``check_job``).
        multiplier: Growth per check.
        max_seconds: Cap on one delay.
        jitter: Fraction of a delay drawn at random, so jobs submitted together are not checked together.
    """

    initial_seconds: float = 2.0
    multiplier: float = 1.5
    max_seconds: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        check_number(self.initial_seconds, "initial_seconds", caller="PollPolicy")
        check_number(self.max_seconds, "max_seconds", caller="PollPolicy")
        if check_number(self.multiplier, "multiplier", caller="PollPolicy") < 1:
            raise InvalidParametersError("PollPolicy", [f"multiplier: must be 1 or more, got {self.multiplier:g}"])
        if check_number(self.jitter, "jitter", caller="PollPolicy", allow_zero=True) >= 1:
            raise InvalidParametersError("PollPolicy", [f"jitter: must be under 1, got {self.jitter:g}"])

    def delay(self, check_number: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered delay after check number ``check_number`` (1-based); never above the cap."""
        return backoff_delay(check_number, **self._curve(), rand=rand)

    def schedule(self, total_seconds: float) -> list[float]:
        """Un-jittered delays whose sum first reaches ``total_seconds``.

        ``len(schedule(t))`` is the number of retries a ``check_job`` needs to wait about ``t`` seconds.
        """
        delays: list[float] = []
        while sum(delays) < total_seconds:
            delays.append(backoff_delay(len(delays) + 1, **self._curve(), rand=_no_jitter))
        return delays

    def _curve(self) -> _Curve:
        return {
            "initial": self.initial_seconds,
            "multiplier": self.multiplier,
            "maximum": self.max_seconds,
            "jitter": self.jitter,
        }

    def retry_delays(self, total_seconds: float) -> list[float]:
        """The growing part of ``schedule``, for Prefect's ``retry_delay_seconds``.

        Prefect takes at most 50 delays and repeats the last one, so the list stops at the first capped delay.
        """
        delays = self.schedule(total_seconds)
        growing = [delay for delay in delays if delay < self.max_seconds]
        return [*growing, self.max_seconds] if len(growing) < len(delays) else growing


DEFAULT_POLL_POLICY = PollPolicy()
