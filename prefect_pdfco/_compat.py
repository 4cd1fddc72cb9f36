"""The one door to Prefect's private and undocumented helpers: an upgrade that moves them breaks this file only."""

from __future__ import annotations

from prefect._internal.compatibility.async_dispatch import async_dispatch, is_in_async_context
from prefect.utilities.asyncutils import run_coro_as_sync
from prefect.utilities.callables import get_call_parameters
from prefect.utilities.engine import resolve_inputs_sync

__all__ = ["async_dispatch", "get_call_parameters", "is_in_async_context", "resolve_inputs_sync", "run_coro_as_sync"]
