"""Submitting billed jobs: the crash-safe cache policy and the one submit path every submitting task uses."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext
from pydantic import SecretStr

from prefect_pdfco import _artifacts
from prefect_pdfco._logging import run_logger
from prefect_pdfco._redact import SENSITIVE_PARAMS, jsonable
from prefect_pdfco.models import JobSubmission

if TYPE_CHECKING:
    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["SUBMIT_TASK_OPTIONS", "SubmitCachePolicy", "submit_and_record"]


@dataclass
class SubmitCachePolicy(CachePolicy):
    """One key per (flow run, task, account host, inputs, n-th identical call); None outside a flow run.

    For ``submit_job`` and every typed operation task. The flow run id makes a scheduled run submit anew each
    time. Two identical submits in one run stay two jobs: the n-th identical call of an attempt gets the n-th
    key, and the count restarts with each attempt of the flow run, so a retried run finds the same keys in the
    same order. (Prefect's own dynamic key is a random UUID for async tasks, so it cannot serve.) Of the
    credentials only ``base_url`` counts: the API key must never reach the result store, even hashed.
    """

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        if task_ctx is None or task_ctx.task_run.flow_run_id is None:
            return None
        material = {
            "flow_run": str(task_ctx.task_run.flow_run_id),
            "task": task_ctx.task.name,
            "host": getattr(inputs.get("credentials"), "base_url", ""),
            "inputs": {
                key: _fingerprint_secrets(value, salt=str(task_ctx.task_run.flow_run_id))
                for key, value in inputs.items()
                if key != "credentials"
            },
        }
        digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()
        slot = (str(task_ctx.task_run.flow_run_id), task_ctx.task_run.flow_run_run_count, digest)
        with _identical_calls_lock:
            call = _identical_calls.pop(slot, 0)
            _identical_calls[slot] = call + 1  # re-inserted: the dict stays ordered by last use
            if len(_identical_calls) > _MAX_TRACKED_CALLS:
                # A long-lived worker serves many flow runs: forget the least recently used half.
                for stale in list(_identical_calls)[: _MAX_TRACKED_CALLS // 2]:
                    del _identical_calls[stale]
        return f"pdfco-submit-{digest[:32]}-{call}"


def _fingerprint_secrets(value: Any, *, salt: str) -> Any:
    """``jsonable(value)`` with every password replaced by a slow salted hash of it.

    Two submits that differ only in a password must get different keys, yet the key (stored by Prefect as a
    file name) must not let anyone test guesses of a weak password cheaply: PBKDF2 makes each guess cost.
    """
    if isinstance(value, SecretStr):
        return _slow_hash(value.get_secret_value(), salt)
    if isinstance(value, Mapping):
        return {
            str(key): _slow_hash(item, salt)
            if str(key).lower() in SENSITIVE_PARAMS and isinstance(item, (str, SecretStr))
            else _fingerprint_secrets(item, salt=salt)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_fingerprint_secrets(item, salt=salt) for item in value]
    return jsonable(value)


def _slow_hash(secret: str | SecretStr, salt: str) -> str:
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), 100_000).hex()


_identical_calls: dict[tuple[str, int, str], int] = {}
_MAX_TRACKED_CALLS = 10_000
_identical_calls_lock = threading.Lock()

#: Options of every task that submits a billed job: never retried by Prefect, persisted under a crash-safe key.
#: Result links live 60 minutes by default: re-attaching to an older job would only hand back dead links.
SUBMIT_TASK_OPTIONS: dict[str, Any] = {
    "cache_policy": SubmitCachePolicy(),
    "persist_result": True,
    "cache_expiration": timedelta(hours=1),
    "retries": 0,
}


async def submit_and_record(
    credentials: PdfcoCredentials,
    endpoint: str,
    params: Mapping[str, Any] | None,
    *,
    operation: str | None = None,
) -> JobSubmission:
    """Submits one job, logs one line (never the parameters), emits ``pdfco.job.submitted``, notes the balance.

    Args:
        credentials: The PDF.co credentials block.
        endpoint: The API path.
        params: PDF.co parameters (``async: true`` is added by the client).
        operation: How the UI names the operation; defaults to the endpoint without its version.
    """
    async with credentials.get_client() as client:
        submission = await client.submit(endpoint, params)
    name = operation or _artifacts.operation_name(submission.endpoint)
    run_logger().info(
        "Submitted %s as job %s (%s credits left)",
        name,
        submission.job_id,
        submission.remaining_credits if submission.remaining_credits is not None else "?",
    )
    _artifacts.record_submission(submission, name)
    _artifacts.note_balance(client)
    return submission
