"""Prefect tasks and flows typed as what they return (``html_to_pdf(...)`` in a sync flow is a ``JobSubmission``), and
billed submits numbered where the call is made (docs/design/money.md: keys).
"""

from __future__ import annotations

import hashlib
import inspect
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypeVar

from prefect import Flow, Task, unmapped
from prefect.blocks.core import Block
from prefect.context import FlowRunContext, TaskRunContext
from prefect.exceptions import MappingLengthMismatch, ParameterTypeError
from prefect.futures import PrefectFuture, PrefectFutureList
from prefect.runtime import task_run as runtime_task_run
from prefect.transactions import get_transaction
from prefect.utilities.annotations import BaseAnnotation
from typing_extensions import ParamSpec

from prefect_pdfco import _ui
from prefect_pdfco._compat import get_call_parameters, is_in_async_context, resolve_inputs_sync, run_coro_as_sync
from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco._operations import closest_name
from prefect_pdfco._submit_guard import SUBMIT_TASK_OPTIONS, canonical, digest
from prefect_pdfco._tempfiles import install_termination_handler

P = ParamSpec("P")
R = TypeVar("R")
_Options = ParamSpec("_Options")
_Self = TypeVar("_Self")
_Result = TypeVar("_Result")
_PREFECT_OPTIONS = ("return_state", "wait_for", "deferred")  # keywords of __call__/submit/map Prefect keeps
_UNSHAPED = ("credentials", "submit_key", "resend_if_unknown")  # not part of a call's shape


def _options_of(
    prefect_method: Callable[Concatenate[Any, _Options], object],
) -> Callable[[Callable[Concatenate[_Self, ...], _Result]], Callable[Concatenate[_Self, _Options], _Result]]:
    """Gives the decorated method ``prefect_method``'s parameters (for checkers), keeping its own return type."""

    def decorate(method: Callable[Concatenate[_Self, ...], _Result]) -> Callable[Concatenate[_Self, _Options], _Result]:
        return method

    return decorate


class PdfcoTask(Task[P, Coroutine[Any, Any, R]], Generic[P, R]):
    """A Prefect ``Task`` around an async function: its call is its result in sync flows, ``.aio`` in async ones."""

    numbered: bool = False  # whether each call gets a submit_key where it is made (billed submits)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:  # type: ignore[override]
        run = self.aio(*args, **kwargs)  # in async code, `await task(...)` works too; the typed spelling is .aio
        return run if is_in_async_context() else run_coro_as_sync(run)  # type: ignore[return-value]

    def aio(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """Runs the task from an async flow: ``await task.aio(...)`` is what the task returns."""
        return Task.__call__(self, *args, **self._prepare(args, kwargs))  # type: ignore[no-any-return]

    if TYPE_CHECKING:

        def submit(self, *args: P.args, **kwargs: P.kwargs) -> PrefectFuture[R]: ...  # type: ignore[override]

        def map(self, *args: Any, **kwargs: Any) -> PrefectFutureList[R]: ...  # type: ignore[override]

    else:

        def submit(self, *args, **kwargs):
            """Prefect's ``submit``; a submitting task's call gets its ``submit_key`` here."""
            return super().submit(*args, **self._prepare(args, kwargs))

        def map(self, *args, **kwargs):
            """Prefect's ``map`` over the documents, never over a block (a pydantic block is iterable)."""
            install_termination_handler()
            args = tuple(unmapped(value) if isinstance(value, Block) else value for value in args)
            kwargs = {name: unmapped(value) if isinstance(value, Block) else value for name, value in kwargs.items()}
            self._check_call(args, kwargs, partial=True)
            if self.numbered:
                args, kwargs = _mapped_keys(self, args, kwargs)
            try:
                return super().map(*args, **kwargs)
            except MappingLengthMismatch as error:
                raise InvalidParametersError(
                    self.name, [f"{error} (wrap arguments shared by every run in unmapped())"]
                ) from None

    @_options_of(Task.with_options)
    def with_options(self, **options: Any) -> PdfcoTask[P, R]:
        """Prefect's ``with_options``, keeping this class (Prefect's builds a plain ``Task``)."""
        copy = super().with_options(**options)
        copy.__class__ = type(self)
        copy.numbered = self.numbered  # type: ignore[attr-defined]
        return copy  # type: ignore[return-value]

    def _prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        install_termination_handler()  # from the caller's thread: usually the main one, where signals are set
        self._check_call(args, kwargs)
        return _call_key(self, args, kwargs) if self.numbered else kwargs

    def _check_call(self, args: tuple[Any, ...], kwargs: dict[str, Any], partial: bool = False) -> None:
        """A misspelt or missing argument, said in one line before Prefect prints the whole signature."""
        signature = inspect.signature(self.fn)
        call = {name: value for name, value in kwargs.items() if name not in _PREFECT_OPTIONS}
        try:
            (signature.bind_partial if partial else signature.bind)(*args, **call)
        except TypeError as error:
            names = list(signature.parameters)
            problems = [
                f"unknown argument {name!r}"
                + (f"; did you mean {close!r}?" if (close := closest_name(name, names)) else "")
                for name in call
                if name not in names
            ] or [str(error)]
            raise InvalidParametersError(self.name, problems) from None


def pdfco_task(
    *, submits: bool = False, **options: Any
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], PdfcoTask[P, R]]:
    """``@task(**options)`` for an ``async def``, building a ``PdfcoTask``; ``submits=True`` for billed submits."""
    if submits and isinstance(options.get("task_run_name"), str):
        options["task_run_name"] = _named_by_document(options["task_run_name"])

    def decorate(fn: Callable[P, Coroutine[Any, Any, R]]) -> PdfcoTask[P, R]:
        task: PdfcoTask[P, R] = PdfcoTask(fn=fn, **({**SUBMIT_TASK_OPTIONS, **options} if submits else options))
        task.numbered = submits
        return task

    return decorate


def _named_by_document(prefix: str) -> Callable[[], str]:
    """A run name that says which document a submit is for (its output name, or its input's file name)."""

    def name() -> str:
        parameters = dict(runtime_task_run.parameters)
        extra = parameters.get("extra")
        label = _ui.document_label({**parameters, **(extra if isinstance(extra, dict) else {})})
        return f"{prefix}-{label}" if label else prefix

    return name


class PdfcoFlow(Flow[P, Coroutine[Any, Any, R]], Generic[P, R]):
    """A Prefect ``Flow`` around an async function: its call is its result in sync code, ``.aio`` in async code."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:  # type: ignore[override]
        run = self.aio(*args, **kwargs)
        return run if is_in_async_context() else run_coro_as_sync(run)  # type: ignore[return-value]

    def aio(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """Runs the flow from async code: ``await flow.aio(...)`` is what the flow returns."""
        install_termination_handler()
        ctx = FlowRunContext.get()  # called as a subflow: its jobs join the caller's table
        if ctx is not None and ctx.flow_run is not None and _ui.root_flow_run.get() is None:
            _ui.root_flow_run.set(str(ctx.flow_run.id))
        return _typed_parameters(self.name, Flow.__call__(self, *args, **kwargs))

    @_options_of(Flow.with_options)
    def with_options(self, **options: Any) -> PdfcoFlow[P, R]:
        """Prefect's ``with_options``, keeping this class."""
        copy = super().with_options(**options)
        copy.__class__ = type(self)
        return copy  # type: ignore[return-value]


async def _typed_parameters(name: str, run: Any) -> Any:
    """Prefect's own refusal of a flow's parameters (``10**400`` for a float) as the package's typed error."""
    try:
        return await run
    except ParameterTypeError as error:
        raise InvalidParametersError(name, [" ".join(str(error).split())]) from None


def pdfco_flow(**options: Any) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], PdfcoFlow[P, R]]:
    """``@flow(**options)`` for an ``async def``, building a ``PdfcoFlow``."""
    return lambda fn: PdfcoFlow(fn=fn, **options)


# Prefect's own dynamic key is random, so the rank of a call among identical calls is counted where the call is made:
# whichever worker runs the task reads it from `submit_key`, and a retried flow run finds the same keys in order.
_counts: OrderedDict[tuple[str, ...], int] = OrderedDict()
_counts_lock = threading.Lock()


def _next_rank(scope: tuple[str, ...]) -> int:
    with _counts_lock:
        rank = _counts.pop(scope, 0)
        _counts[scope] = rank + 1
        while len(_counts) > 10_000:
            _counts.popitem(last=False)
    return rank


def _call_scope() -> tuple[tuple[str, ...], str] | None:
    """(what counts restart in, what of it joins the key); None outside a flow run."""
    flow_ctx = FlowRunContext.get()
    if flow_ctx is None or flow_ctx.flow_run is None:
        return None
    scope: tuple[str, ...] = (str(flow_ctx.flow_run.id), str(flow_ctx.flow_run.run_count))
    task_ctx = TaskRunContext.get()
    if task_ctx is None:
        return scope, ""
    # Inside a task: counted per parent as Prefect knows it across retries (its cache key), else its run id.
    transaction = get_transaction()
    parent = transaction.key if transaction is not None and transaction.key else str(task_ctx.task_run.id)
    return (*scope, parent, str(task_ctx.task_run.run_count)), "@" + hashlib.sha256(parent.encode()).hexdigest()[:16]


def _shape(parameters: dict[str, Any]) -> str:
    """A digest of a call as written: secrets and credentials left out, futures as placeholders."""
    kept = {name: value for name, value in parameters.items() if name not in _UNSHAPED}
    return digest(canonical(kept, lambda _: "<secret>", future="<future>"), 16)


def _check_key(task: Task[..., Any], key: object) -> None:
    if not isinstance(key, str) or not key.strip():
        raise InvalidParametersError(task.name, ["submit_key: expected a non-empty string naming this submit"])


def _call_key(task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if kwargs.get("submit_key") is not None:
        _check_key(task, kwargs["submit_key"])
        return kwargs
    where = _call_scope()
    if where is None:
        return kwargs
    call = {name: value for name, value in kwargs.items() if name not in _PREFECT_OPTIONS}
    shape = _shape(get_call_parameters(task.fn, args, call))
    rank = _next_rank((*where[0], task.name, shape))
    return {**kwargs, "submit_key": f"auto-{shape}-{rank}{where[1]}"}


def _mapped_keys(
    task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    given = kwargs.get("submit_key")
    if given is not None:
        value = given.unwrap() if isinstance(given, BaseAnnotation) else given
        for key in [value] if isinstance(value, str) else list(value):
            _check_key(task, key)
        return args, kwargs
    where = _call_scope()
    if where is None or kwargs.get("deferred"):
        return args, kwargs
    options = {name: kwargs[name] for name in _PREFECT_OPTIONS if name in kwargs}
    call = {name: value for name, value in kwargs.items() if name not in _PREFECT_OPTIONS}
    parameters = get_call_parameters(task.fn, args, call, apply_defaults=False)
    parameters = {name: list(v) if isinstance(v, Iterator) else v for name, v in parameters.items()}
    runs = _mapped_runs(parameters)
    if runs is None:  # nothing to map, or lengths that differ: Prefect says so
        return args, kwargs
    shape = _shape(parameters)
    rank = _next_rank((*where[0], task.name, "map", shape))
    return (), {**parameters, **options, "submit_key": [f"auto-{shape}-{rank}.{i}{where[1]}" for i in range(runs)]}


def _mapped_runs(parameters: dict[str, Any]) -> int | None:
    """How many runs ``.map()`` will make, read as Prefect's runners read it (top-level futures resolved)."""
    try:
        resolved = resolve_inputs_sync(dict(parameters), max_depth=0)
    except Exception:  # a failed upstream: Prefect's runner raises it in its own words
        return None
    lengths = set()
    for value in resolved.values():
        if isinstance(value, BaseAnnotation) and not isinstance(value, unmapped):
            value = value.unwrap()
        if isinstance(value, (unmapped, str, bytes, io.IOBase)) or not hasattr(value, "__iter__"):
            continue
        lengths.add(len(value) if hasattr(value, "__len__") else len(list(value)))
    return lengths.pop() if len(lengths) == 1 else None
