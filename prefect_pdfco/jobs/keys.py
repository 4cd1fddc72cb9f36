"""Where a submit's cache key comes from: the call's place among identical calls, and its inputs.

PDF.co bills every submit, so a flow run retried after a crash must find the jobs it already paid for under the
same keys, and two identical submits of one run must stay two jobs. Prefect 3.9's own dynamic key is a random
UUID, so the rank of a call among identical ones is counted here, **where the call is made** (``__call__``,
``.submit()``, ``.map()`` in the flow run's process): the workers that compute the key (threads, processes,
Dask or Ray workers on other machines) only read it from the ``submit_key`` parameter, and keep no count of
their own. A caller that fans out may name each submit instead (``submit_key="invoice-17"``).

Passwords enter the key only as an HMAC whose key is derived from the account's API key: the key text (a file
name in the result store) lets no one test password guesses offline, and costs microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from prefect.cache_policies import CachePolicy
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture
from prefect.transactions import get_transaction
from pydantic import BaseModel, SecretStr
from typing_extensions import ParamSpec, TypedDict

from prefect_pdfco._compat import BaseAnnotation, get_call_parameters, isiterable, resolve_inputs_sync, unmapped
from prefect_pdfco._redact import SENSITIVE_PARAMS, jsonable
from prefect_pdfco._tasks import SyncCompatibleTask
from prefect_pdfco.exceptions import InvalidParametersError

if TYPE_CHECKING:
    from prefect import Task

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "SUBMIT_OPTION_NAMES",
    "SubmitCachePolicy",
    "SubmitOptions",
    "SubmitTask",
    "fingerprint_key",
    "fingerprint_secrets",
    "submit_task",
    "with_mapped_submit_keys",
    "with_submit_key",
]

#: The keyword options of every submitting task; they choose how the call is keyed, not what is sent.
SUBMIT_OPTION_NAMES = ("submit_key", "resend_if_unknown")
#: Keyword arguments of ``__call__``/``.submit()``/``.map()`` that Prefect keeps for itself.
_PREFECT_CALL_OPTIONS = ("return_state", "wait_for", "deferred")
_AUTO_PREFIX = "auto-"
_HMAC_CONTEXT = b"prefect-pdfco/submit-key/v1"


@dataclass
class SubmitCachePolicy(CachePolicy):
    """One key per (flow run, task, account host, inputs, ``submit_key``); None outside a flow run.

    For ``submit_job`` and every typed operation task. The flow run id makes a scheduled run submit anew each
    time (a subflow is known by the parent's task run that called it: see ``_run_identity``). ``submit_key``
    is the caller's name for the submit, or the rank of the call among identical calls of its flow run attempt,
    given where the call was made (see ``with_submit_key``): this policy keeps no state, so every worker
    computes the same key for the same call. Of the credentials only ``base_url`` counts: the API key never
    reaches the result store, even hashed; it only keys the HMAC of passwords.

    Attributes:
        inputs: The only inputs that name the submit (``run_batch``: the operation and the items, not how they
            are run); None for all of them.
    """

    inputs: tuple[str, ...] | None = None

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        if task_ctx is None or task_ctx.task_run.flow_run_id is None:
            return None
        submit_key = inputs.get("submit_key")
        if submit_key is None:
            # Called by a path that did not go through SubmitTask's __call__/submit/map: identical calls could
            # not be told apart, so nothing is cached rather than one document handed another's job.
            return None
        credentials = inputs.get("credentials")
        secret = fingerprint_key(getattr(credentials, "api_key", None))
        material = {
            "flow_run": _run_identity(str(task_ctx.task_run.flow_run_id)),
            "task": task_ctx.task.name,
            "host": str(getattr(credentials, "base_url", "")),
            "inputs": {
                name: fingerprint_secrets(value, key=secret)
                for name, value in inputs.items()
                if name not in ("credentials", *SUBMIT_OPTION_NAMES) and (self.inputs is None or name in self.inputs)
            },
            "submit_key": str(submit_key),
        }
        digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()
        return f"pdfco-submit-{digest[:40]}"


def _run_identity(flow_run_id: str) -> str:
    """The flow run, as a retry of it (or of its parent) will find it again.

    A subflow that failed is run as a *new* flow run when its parent is retried, so its id would change and
    its submits be sent again. The parent's task run that tracks the subflow call keeps its id across the
    parent's retries (Prefect numbers sibling calls), so a subflow is known by that instead.
    """
    ctx = FlowRunContext.get()
    flow_run = ctx.flow_run if ctx is not None else None
    if flow_run is not None and str(flow_run.id) == flow_run_id and flow_run.parent_task_run_id is not None:
        return f"subflow-of-{flow_run.parent_task_run_id}"
    return flow_run_id


def fingerprint_key(api_key: SecretStr | str | None) -> bytes:
    """The HMAC key for password fingerprints, derived from the API key (which is never stored itself)."""
    secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else (api_key or "")
    return hmac.new(secret.encode(), _HMAC_CONTEXT, hashlib.sha256).digest()


def fingerprint_secrets(value: Any, *, key: bytes) -> Any:
    """``value`` made JSON-able, with every password replaced by its HMAC under ``key``.

    Two submits that differ only in a password get different keys; the key text tells nothing about the
    password to anyone without the account's API key.
    """
    return _canonical(value, secret=lambda item: _hmac_text(key, item))


def _callsite_fingerprint(parameters: Mapping[str, Any]) -> str:
    """A stable digest of a call as written: secrets and credentials left out, futures as placeholders.

    Only used to group identical calls for counting: the values futures resolve to are not known yet, and the
    worker's key adds the resolved inputs anyway.
    """
    shape = {
        name: _canonical(value, secret=lambda item: "<secret>", future="<future>")
        for name, value in parameters.items()
        if name != "credentials" and name not in SUBMIT_OPTION_NAMES
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _canonical(value: Any, *, secret: Callable[[Any], str], future: str | None = None) -> Any:
    if future is not None and isinstance(value, (PrefectFuture, State)):
        return future
    if isinstance(value, BaseAnnotation):
        return _canonical(value.unwrap(), secret=secret, future=future)
    if isinstance(value, SecretStr):
        return secret(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python", exclude_none=True)
    if isinstance(value, Mapping):
        return {
            str(name): secret(item) if _is_sensitive(str(name)) else _canonical(item, secret=secret, future=future)
            for name, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_canonical(item, secret=secret, future=future) for item in value]
    return value


def _is_sensitive(name: str) -> bool:
    # Task arguments say http_password, PDF.co's payloads httpPassword: one rule for both.
    return name.lower().replace("_", "").replace("-", "") in SENSITIVE_PARAMS


def _hmac_text(key: bytes, value: Any) -> str:
    plain = jsonable(value)
    text = plain if isinstance(plain, str) else json.dumps(plain, sort_keys=True, default=str)
    return "hmac-" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


# The calling side: a count of identical calls per flow run attempt (and per parent task run attempt for calls
# made inside a task), in the process where the calls are made. Bounded for long-lived processes.
_call_counts: OrderedDict[tuple[str, ...], int] = OrderedDict()
_MAX_TRACKED_CALLS = 10_000
_call_counts_lock = threading.Lock()


def _next_rank(scope: tuple[str, ...]) -> int:
    with _call_counts_lock:
        rank = _call_counts.pop(scope, 0)
        _call_counts[scope] = rank + 1  # re-inserted: the dict stays ordered by last use
        while len(_call_counts) > _MAX_TRACKED_CALLS:
            _call_counts.popitem(last=False)
    return rank


def _call_scope() -> tuple[tuple[str, ...], str] | None:
    """(the scope counts restart in, the part of it that goes into the key); None outside a flow run.

    A flow run attempt counts its calls from 0, so a retried run finds the same keys in the same order. Calls
    made inside a task run count within that task (which joins the key): its retries and the flow's find the
    same keys, and tasks on different workers never share a count.
    """
    flow_ctx = FlowRunContext.get()
    if flow_ctx is None or flow_ctx.flow_run is None:
        return None
    scope: tuple[str, ...] = (str(flow_ctx.flow_run.id), str(flow_ctx.flow_run.run_count))
    task_ctx = TaskRunContext.get()
    if task_ctx is None:
        return scope, ""
    # Inside a task: counted per parent *as Prefect identifies it* (its cache key: task, inputs and flow run),
    # which a flow retry finds again; a parent with no cache key is known by its task run id.
    transaction = get_transaction()
    parent = transaction.key if transaction is not None and transaction.key else str(task_ctx.task_run.id)
    tag = "@" + hashlib.sha256(parent.encode()).hexdigest()[:16]
    return (*scope, parent, str(task_ctx.task_run.run_count)), tag


def with_submit_key(task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's keyword arguments with ``submit_key`` set to the call's rank among identical calls.

    Called where the call is made (``__call__`` and ``.submit()``), so the rank is right whatever worker runs
    the task. An explicit ``submit_key`` is kept (and checked).

    Raises:
        InvalidParametersError: ``submit_key`` is not a non-empty string.
    """
    given = kwargs.get("submit_key")
    if given is not None:
        _check_key(task, given)
        return kwargs
    where = _call_scope()
    if where is None:
        return kwargs
    scope, tag = where
    call = {name: value for name, value in kwargs.items() if name not in _PREFECT_CALL_OPTIONS}
    try:
        parameters = get_call_parameters(task.fn, args, call)
    except Exception:  # a bad call: Prefect reports it in its own words
        return kwargs
    shape = _callsite_fingerprint(parameters)
    rank = _next_rank((*scope, task.name, shape))
    return {**kwargs, "submit_key": f"{_AUTO_PREFIX}{shape}-{rank}{tag}"}


def with_mapped_submit_keys(
    task: Task[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``.map()``'s arguments with one ``submit_key`` per mapped run: the map call's rank, then the index.

    Iterators are turned into lists first (they are read here to count the runs).

    Raises:
        InvalidParametersError: An explicit ``submit_key`` is not a string or a list of strings.
    """
    given = kwargs.get("submit_key")
    if given is not None:
        value = given.unwrap() if isinstance(given, BaseAnnotation) else given
        for key in [value] if isinstance(value, str) or not isiterable(value) else list(value):
            _check_key(task, key)
        return args, kwargs
    where = _call_scope()
    if where is None or kwargs.get("deferred"):
        return args, kwargs
    options = {name: kwargs[name] for name in _PREFECT_CALL_OPTIONS if name in kwargs}
    call = {name: value for name, value in kwargs.items() if name not in _PREFECT_CALL_OPTIONS}
    try:
        parameters = get_call_parameters(task.fn, args, call, apply_defaults=False)
    except Exception:
        return args, kwargs
    parameters = {name: list(value) if isinstance(value, Iterator) else value for name, value in parameters.items()}
    runs = _mapped_runs(parameters)
    if runs is None:  # no iterable, or lengths that differ: Prefect says so
        return args, kwargs
    scope, tag = where
    shape = _callsite_fingerprint(parameters)
    rank = _next_rank((*scope, task.name, "map", shape))
    keys = [f"{_AUTO_PREFIX}{shape}-{rank}.{index}{tag}" for index in range(runs)]
    return (), {**parameters, **options, "submit_key": keys}


def _mapped_runs(parameters: Mapping[str, Any]) -> int | None:
    """How many runs ``.map()`` will make, read as Prefect's task runners read it (top-level futures resolved)."""
    try:
        resolved = resolve_inputs_sync(dict(parameters), max_depth=0)
    except Exception:  # a failed upstream: Prefect's runner raises it in its own words
        return None
    lengths = set()
    for value in resolved.values():
        if isinstance(value, BaseAnnotation) and not isinstance(value, unmapped):
            value = value.unwrap()
        if isinstance(value, unmapped) or not isiterable(value):
            continue
        lengths.add(len(value) if hasattr(value, "__len__") else len(list(value)))
    return lengths.pop() if len(lengths) == 1 else None


def _check_key(task: Task[..., Any], key: Any) -> None:
    if not isinstance(key, str) or not key.strip():
        raise InvalidParametersError(
            task.name, ["submit_key: expected a non-empty string naming this submit, e.g. 'invoice-17'"]
        )


class SubmitOptions(TypedDict, total=False):
    """The keyword options of every submitting task (``**options: Unpack[SubmitOptions]`` in a signature).

    They choose how the call is keyed, not what is sent; see ``submit_job``.

    Attributes:
        submit_key: A name for this submit, unique in the flow run (e.g. ``"invoice-17"``); by default the call's
            rank among identical calls of the run. Calls with the same name and inputs are one submit.
        resend_if_unknown: Send again even if an earlier attempt sent this submit and its outcome is unknown
            (check PDF.co's job history first: that attempt may have been billed).
    """

    submit_key: str
    resend_if_unknown: bool


class SubmitTask(SyncCompatibleTask[P, R]):
    """A task that submits a billed PDF.co job: each call gets its ``submit_key`` where it is made.

    ``__call__``, ``.aio()``, ``.submit()`` and ``.map()`` number identical calls in the calling process (see
    this module) and pass the number to the task run as ``submit_key``, so whichever worker runs it (a
    thread, a process, a Dask or Ray worker) computes the same cache key as a retry of the flow run would.
    """

    def _start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Coroutine[Any, Any, R]:
        return super()._start(args, with_submit_key(self, args, kwargs))

    if not TYPE_CHECKING:  # checkers see Prefect's own (overloaded) signatures of submit and map

        def submit(self, *args, **kwargs):
            """Prefect's ``submit``, with the call's ``submit_key``."""
            return super().submit(*args, **with_submit_key(self, args, kwargs))

        def map(self, *args, **kwargs):
            """Prefect's ``map``, with one ``submit_key`` per mapped run."""
            args, kwargs = with_mapped_submit_keys(self, args, kwargs)
            return super().map(*args, **kwargs)


def submit_task(**options: Any) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], SubmitTask[P, R]]:
    """Like ``@task(**options)`` for an ``async def`` that submits a billed job, building a ``SubmitTask``."""

    def decorator(fn: Callable[P, Coroutine[Any, Any, R]]) -> SubmitTask[P, R]:
        return SubmitTask(fn=fn, **options)

    return decorator
