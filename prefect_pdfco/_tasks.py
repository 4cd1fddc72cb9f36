"""Async tasks (and flows) that sync flows call as if they were sync, typed as what they return.

In Prefect 3.9 calling an ``async def`` task from a sync flow returns an un-awaited coroutine, so
``submit_job(...).job_id`` would fail there. Our tasks are async (the client is), and our users write both kinds
of flows. So, like Prefect's own ``a``-prefixed twins (``Block.load``/``Block.aload``), each task has two
spellings:

- ``html_to_pdf(credentials, "<p/>")`` runs the task to completion and returns its result: a ``JobSubmission``
  to mypy and pyright too. It is the spelling for sync flows.
- ``await html_to_pdf.aio(credentials, "<p/>")`` is the spelling for async flows: a coroutine of the same result.

The typed signature is the task's own (``ParamSpec``): a wrong argument type or an unknown keyword is a checker
error, which Prefect's own overloads of ``Task.__call__`` cannot give for an async task in a sync flow (they type
the call as a coroutine). For compatibility, a plain call made in an async context still returns the coroutine
(``await html_to_pdf(...)`` works at runtime, as Prefect's ``async_dispatch`` functions do), but checkers type it
as the result: write ``.aio`` in async code. ``.aio`` always returns the coroutine, even in a sync context.
Prefect's own ``return_state=``/``wait_for=`` keywords still work at runtime but are not in the typed
signature: use ``.submit(..., wait_for=...)`` and the future's ``state``, which Prefect types.

``.submit()``, ``.map()`` and ``.fn`` are Prefect's, typed as for a plain ``async def`` task;
``.with_options()`` takes Prefect's options (checked) and keeps the class.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, TypeVar

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
_Options = ParamSpec("_Options")
_Self = TypeVar("_Self")
_Result = TypeVar("_Result")


def _options_of(
    prefect_method: Callable[Concatenate[Any, _Options], object],
) -> Callable[[Callable[Concatenate[_Self, ...], _Result]], Callable[Concatenate[_Self, _Options], _Result]]:
    """Gives the decorated method ``prefect_method``'s parameters (for checkers) and keeps its own return type."""

    def decorate(method: Callable[Concatenate[_Self, ...], _Result]) -> Callable[Concatenate[_Self, _Options], _Result]:
        return method

    return decorate


def _same_class(copy: object, original: _Self) -> _Self:
    """``copy`` (what Prefect's ``with_options`` built: a plain ``Task`` or ``Flow``) given ``original``'s class."""
    copy.__class__ = type(original)
    return copy  # type: ignore[return-value]


def _result_here(run: Coroutine[Any, Any, R]) -> R:
    """The run's result in a sync context; in an async one the coroutine itself, for the caller to await."""
    if inspect.iscoroutine(run) and not is_in_async_context():
        return run_coro_as_sync(run)
    return run  # type: ignore[return-value]  # the untyped compatibility path: see the module docstring


class SyncCompatibleTask(Task[P, Coroutine[Any, Any, R]], Generic[P, R]):
    """A Prefect ``Task`` around an async function: call it from sync flows, ``await task.aio(...)`` in async ones."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:  # type: ignore[override]
        return _result_here(self._start(args, kwargs))

    def aio(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """Runs the task from an async flow: ``await task.aio(...)`` returns what the task returns."""
        return self._start(args, kwargs)

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Coroutine[Any, Any, R]:
        """Prefect's call (the coroutine of a task run); subclasses adjust the arguments here."""
        return Task.__call__(self, *args, **kwargs)  # type: ignore[no-any-return]

    @_options_of(Task.with_options)
    def with_options(self, **options: Any) -> SyncCompatibleTask[P, R]:
        """Prefect's ``with_options``, keeping this class (Prefect's builds a plain ``Task``)."""
        return _same_class(super().with_options(**options), self)


def sync_compatible_task(**options: Any) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], SyncCompatibleTask[P, R]]:
    """Like ``@task(**options)`` for an ``async def``, building a ``SyncCompatibleTask``."""
    return lambda fn: SyncCompatibleTask(fn=fn, **options)


class SyncCompatibleFlow(Flow[P, Coroutine[Any, Any, R]], Generic[P, R]):
    """A Prefect ``Flow`` around an async function: call it from sync code, ``await flow.aio(...)`` in async code."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:  # type: ignore[override]
        return _result_here(Flow.__call__(self, *args, **kwargs))

    def aio(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """Runs the flow from async code: ``await flow.aio(...)`` returns what the flow returns."""
        return Flow.__call__(self, *args, **kwargs)

    @_options_of(Flow.with_options)
    def with_options(self, **options: Any) -> SyncCompatibleFlow[P, R]:
        """Prefect's ``with_options``, keeping this class (Prefect's builds a plain ``Flow``)."""
        return _same_class(super().with_options(**options), self)


def sync_compatible_flow(**options: Any) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], SyncCompatibleFlow[P, R]]:
    """Like ``@flow(**options)`` for an ``async def``, building a ``SyncCompatibleFlow``."""
    return lambda fn: SyncCompatibleFlow(fn=fn, **options)
