"""The one place that imports Prefect's private helpers, so an upgrade that moves them breaks one file."""

from __future__ import annotations

from prefect._internal.compatibility.async_dispatch import async_dispatch, is_in_async_context
from prefect.utilities.asyncutils import run_coro_as_sync

__all__ = ["async_dispatch", "is_in_async_context", "run_coro_as_sync"]
