"""Async tasks (and flows) that sync flows can call as if they were sync.

In Prefect 3.9 calling an ``async def`` task from a sync flow returns an un-awaited coroutine, so
``submit_job(...).job_id`` would fail there. Our tasks are async (the client is), and our users write both
kinds of flows: these ``Task`` and ``Flow`` subclasses run to completion when called from a sync context and
return the coroutine (to ``await``) in an async one. ``.submit()``, ``.map()`` and ``.fn`` are Prefect's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from prefect import Flow, Task
from typing_extensions import ParamSpec

from prefect_pdfco._compat import is_in_async_context, run_coro_as_sync

__all__ = [
    "SyncCompatibleFlow",
    "SyncCompatibleTask",
    "sync_compatible_flow",
    "sync_compatible_task",
]

P = ParamSpec("P")
R = TypeVar("R")


class SyncCompatibleTask(Task[P, R]):
    """A Prefect ``Task`` around an async function that returns its result directly in sync contexts."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = super().__call__(*args, **kwargs)
        if inspect.iscoroutine(result) and not is_in_async_context():
            return run_coro_as_sync(result)
        return result

    def with_options(self, **kwargs: Any) -> SyncCompatibleTask[P, R]:
        """Prefect's ``with_options``, keeping this class (Prefect's builds a plain ``Task``)."""
        new_task = super().with_options(**kwargs)
        new_task.__class__ = type(self)
        return new_task  # type: ignore[return-value]


def sync_compatible_task(
    **options: Any,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], SyncCompatibleTask[P, Coroutine[Any, Any, R]]]:
    """Like ``@task(**options)`` for an ``async def``, building a ``SyncCompatibleTask``."""

    def decorator(fn: Callable[P, Coroutine[Any, Any, R]]) -> SyncCompatibleTask[P, Coroutine[Any, Any, R]]:
        return SyncCompatibleTask(fn=fn, **options)

    return decorator


class SyncCompatibleFlow(Flow[P, R]):
    """A Prefect ``Flow`` around an async function that returns its result directly in sync contexts."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = super().__call__(*args, **kwargs)
        if inspect.iscoroutine(result) and not is_in_async_context():
            return run_coro_as_sync(result)
        return result

    def with_options(self, **kwargs: Any) -> SyncCompatibleFlow[P, R]:
        """Prefect's ``with_options``, keeping this class (Prefect's builds a plain ``Flow``)."""
        new_flow = super().with_options(**kwargs)
        new_flow.__class__ = type(self)
        return new_flow  # type: ignore[return-value]


def sync_compatible_flow(
    **options: Any,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], SyncCompatibleFlow[P, Coroutine[Any, Any, R]]]:
    """Like ``@flow(**options)`` for an ``async def``, building a ``SyncCompatibleFlow``."""

    def decorator(fn: Callable[P, Coroutine[Any, Any, R]]) -> SyncCompatibleFlow[P, Coroutine[Any, Any, R]]:
        return SyncCompatibleFlow(fn=fn, **options)

    return decorator
