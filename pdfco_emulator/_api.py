"""Processing endpoints (sync calls and async jobs), ``/v1/job/check`` and the credit balance."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Coroutine
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from ._catalogue import (
    ASYNC_ONLY,
    CREDIT_COSTS,
    DEFAULT_CREDIT_COST,
    JOB_CHECK_COST,
    MULTI_INPUT,
    MULTI_OUTPUT,
    default_output_name,
)
from ._http import Call, Runtime, call_back, not_served
from ._inputs import InputError, check_input_urls, loopback_url, resolve_inputs, safe_url, split_urls
from ._processing import (
    InputFile,
    NotEmulated,
    ProcessingError,
    ProcessingResult,
    process,
)
from ._processing_edit import image_urls
from ._state import Job

__all__ = ["JOB_DURATION_HEADER", "balance", "check_job", "run_processing"]

logger = logging.getLogger("pdfco_emulator")

#: Request header that sets how long this one async job stays ``working`` (seconds), for tests.
JOB_DURATION_HEADER = "x-emulator-job-duration"
_URL_ENDPOINT = "/v1/pdf/convert/from/url"
_EDIT_ADD = "/v1/pdf/edit/add"
_MAX_EXPIRATION_MINUTES = 1440  # 24 h, the longest PDF.co allows (Business 2 and above)


def iso(timestamp: float) -> str:
    """``2025-08-11T17:09:13.263623+00:00``, the way PDF.co writes ``outputLinkValidTill``."""
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


def link_lifetime(call: Call) -> float:
    """Seconds output links live: PDF.co's ``expiration`` (minutes, 1..1440) else the emulator's link_ttl."""
    minutes = call.params.number("expiration")
    if minutes is None or not math.isfinite(minutes):
        return call.state.config.link_ttl
    return min(max(minutes, 1.0), _MAX_EXPIRATION_MINUTES) * 60.0


def _auth(call: Call) -> tuple[str, str] | None:
    user = call.params.text("httpusername")
    return (user, str(call.params.get("httppassword") or "")) if user else None


def _input_urls(call: Call) -> list[str]:
    raw = call.params.text("url")
    if raw is None or call.path == "/v1/pdf/convert/from/html":
        return []
    return split_urls(call.path, raw)


async def _process(call: Call, urls: list[str]) -> ProcessingResult:
    inputs = await resolve_inputs(call.state, call.rt.http, urls, _auth(call))
    if call.path == _URL_ENDPOINT:
        # The processor renders the fetched page: hand it over as HTML whatever the server said.
        inputs = [InputFile(name=item.name, content=item.content, content_type="text/html") for item in inputs]
    return await run_in_threadpool(process, call.path, dict(call.params.values), inputs)


def _not_emulated(path: str, error: NotEmulated) -> str:
    """What the emulator cannot do, said plainly: the whole endpoint, or the input or option of it named."""
    if error.message.startswith(f"{error.endpoint} is not emulated"):
        return not_served(path)
    return not_served(path, error.message)


#: Endpoints whose input comes inline instead of by ``url``, and the parameters that can carry it (``text`` is the
#: emulator's own plain-text shortcut).
_INLINE_SOURCES = {"/v1/pdf/convert/from/html": ("html", "templateId", "text")}
#: PDF.co's own samples read the found items from ``body`` of a sync ``/v1/pdf/find`` without sending ``inline``
#: (SMP ``PDF Text Search API/Python/...``). The current reference says ``inline`` defaults to false, the legacy
#: one that it "only applies if async mode is true". The answer carries both ``url`` and ``body``, which reads
#: right either way: the newer reference's link is there, and the published samples find their body.
_SYNC_BODY_ALWAYS = frozenset({"/v1/pdf/find", "/v1/pdf/find/table"})


def _missing_source(call: Call, urls: list[str]) -> str | None:
    """Why the call has no input to work on (a 400 before any credit is taken or job made), else None."""
    names = _INLINE_SOURCES.get(call.path)
    if names is not None:
        return None if any(call.params.text(name) for name in names) else f"Parameter '{names[0]}' is required"
    if urls:
        return None
    several = " (comma-separated links for several inputs)" if call.path in MULTI_INPUT else ""
    return f"Parameter 'url' is required: the link to the input file{several}"


def _duration_override(call: Call) -> float | None:
    value = call.request.headers.get(JOB_DURATION_HEADER)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def run_processing(call: Call) -> Response:
    """Answers a processing endpoint: inline (sync) or as a background job (``async: true``)."""
    urls = _input_urls(call)
    missing = _missing_source(call, urls)
    if missing is not None:
        return call.error(400, missing)
    if call.path == _EDIT_ADD:  # its images are inputs too, fetched after the document
        urls += [url for url in image_urls(call.params.values) if url]
    try:
        check_input_urls(call.state, urls)
    except InputError as error:
        return call.error(error.status, error.message)
    if call.path in ASYNC_ONLY or call.params.flag("async"):
        return await _submit(call, urls)
    return await _sync(call, urls)


async def _sync(call: Call, urls: list[str]) -> Response:
    state = call.state
    cost = CREDIT_COSTS.get(call.path, DEFAULT_CREDIT_COST)
    if state.remaining_credits < cost.per_page:
        return call.not_enough_credits(cost.per_page)
    try:
        result = await _process(call, urls)
    except InputError as error:
        return call.error(error.status, error.message)
    except ProcessingError as error:
        return call.error(error.code, error.message)
    except NotEmulated as error:
        if not error.documented:
            return call.error(404, f"Not found: {call.path} is not a PDF.co API endpoint")
        return call.error(400, _not_emulated(call.path, error), notEmulated=True)
    except Exception as error:
        logger.exception("emulator: processing %s failed", call.path)
        return call.error(500, f"Internal error: {type(error).__name__}: {error}")
    credits = cost.total(result.page_count)
    if not state.charge(credits):
        return call.not_enough_credits(credits)
    state.bump("sync_calls")
    lifetime = link_lifetime(call)
    links: list[str] = []
    valid_till = 0.0
    for item in result.files:
        entry = await run_in_threadpool(
            state.store.add_bytes, item.name, item.content, item.content_type, now=state.now()
        )
        link, valid_till = state.signer.sign(entry.key, now=state.now(), lifetime=lifetime)
        links.append(link)
    body: dict[str, Any] = {}
    if call.path in MULTI_OUTPUT or len(links) > 1:
        body["urls"] = links  # split answers a list, even of one part
    elif links:
        body["url"] = links[0]
    body.update(pageCount=result.page_count, error=False, status=200)
    if result.files:
        body["name"] = result.files[0].name
    body.update(credits=credits, remainingCredits=state.remaining_credits, duration=call.duration())
    if links:
        body["outputLinkValidTill"] = iso(valid_till)
    body.update(result.fields)
    if (call.params.flag("inline") or call.path in _SYNC_BODY_ALWAYS) and result.body is not None:
        body["body"] = result.body
    return JSONResponse(body)


async def _submit(call: Call, urls: list[str]) -> Response:
    state = call.state
    callback = call.params.text("callback")
    if callback is not None and not loopback_url(callback):
        # PDF.co takes any public receiver; the emulator never calls out of the machine, so it takes the job, says
        # so in the log and counts the callback it did not send.
        logger.warning("emulator: callback to %s not sent (loopback receivers only)", safe_url(callback))
        state.bump("callbacks_not_sent")
        callback = None
    cost = CREDIT_COSTS.get(call.path, DEFAULT_CREDIT_COST)
    # Older billing model (see _catalogue.CREDIT_COSTS): the first page now, the rest at success.
    first = cost.per_page
    if not state.charge(first):
        return call.not_enough_credits(first)
    fault = state.faults.take_job()
    now = state.now()
    name = default_output_name(call.path, call.params.text("name"))
    placeholder_name = name.rsplit(".", 1)[0] + ".json" if call.path in MULTI_OUTPUT else name
    job_id = state.new_job_id(call.path)
    placeholder = state.store.reserve(placeholder_name, "application/octet-stream", job_id=job_id)
    lifetime = link_lifetime(call)
    url, expires_at = state.signer.sign(placeholder.key, now=now, lifetime=lifetime)
    never = fault is not None and fault.outcome == "never"
    duration = state.job_duration(call.path, _duration_override(call))
    job = Job(
        job_id=job_id,
        endpoint=call.path,
        name=name,
        submitted_at=now,
        due_at=None if never else now + duration,
        cost=cost,
        submit_credits=first,
        inline=call.params.flag("inline"),
        placeholder=placeholder,
        url=url,
        link_expires_at=expires_at,
        link_lifetime=lifetime,
        outcome=fault.outcome if fault else None,
        outcome_message=fault.message if fault else None,
    )
    state.add_job(job)
    if fault is None and duration == 0:
        await _run_job(call, job, urls)  # a job of no duration is done when its submit answers
    elif fault is None:
        _background(call.rt, _run_job(call, job, urls))
    if callback is not None:
        _background(call.rt, call_back(call.rt, job, callback, final_body))
    if call.path in ASYNC_ONLY:
        # The invoice parser's documented submit answer: status "created", no url.
        return JSONResponse(
            {
                "error": False,
                "status": "created",
                "jobId": job_id,
                "credits": first,
                "remainingCredits": state.remaining_credits,
                "duration": call.duration(),
            }
        )
    return JSONResponse(
        {
            "jobId": job_id,
            "url": url,
            "error": False,
            "status": 200,
            "name": name,
            "credits": first,
            "remainingCredits": state.remaining_credits,
            "duration": call.duration(),
        }
    )


def _background(rt: Runtime, work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    rt.tasks.add(task)
    task.add_done_callback(rt.tasks.discard)


async def _run_job(call: Call, job: Job, urls: list[str]) -> None:
    """Processes a job in the background (the work runs in a worker thread, not on the event loop)."""
    state = call.state
    try:
        result = await _process(call, urls)
        await _store_job_result(call.rt, job, result)
    except InputError as error:
        job.error, job.error_code = error.message, error.status
    except ProcessingError as error:
        job.error, job.error_code = error.message, error.code
    except NotEmulated as error:
        job.error, job.error_code = _not_emulated(job.endpoint, error), 400
    except asyncio.CancelledError:
        job.error = "The emulator stopped before the job finished"
        raise
    except Exception as error:
        logger.exception("emulator: job %s on %s failed", job.job_id, job.endpoint)
        job.error, job.error_code = f"Internal error: {type(error).__name__}: {error}", 500
    finally:
        job.finished_at = state.now()
        job.done = True


async def _store_job_result(rt: Runtime, job: Job, result: ProcessingResult) -> None:
    state = rt.state
    content: bytes
    if job.endpoint in MULTI_OUTPUT or len(result.files) > 1:
        # PDF.co's async split: the result URL is a JSON file holding the list of part links.
        links = []
        for item in result.files:
            entry = await run_in_threadpool(
                state.store.add_bytes, item.name, item.content, item.content_type, now=state.now()
            )
            links.append(state.signer.sign(entry.key, now=state.now(), lifetime=job.link_lifetime)[0])
        content, content_type = json.dumps(links).encode(), "application/json"
    elif result.files:
        content, content_type = result.files[0].content, result.files[0].content_type
    else:
        payload = result.body if result.body is not None else result.fields
        content, content_type = json.dumps(payload).encode(), "application/json"
    job.placeholder.content_type = content_type
    await run_in_threadpool(state.store.write_bytes, job.placeholder, content, now=state.now())
    job.page_count, job.body, job.fields = result.page_count, result.body, dict(result.fields)


def check_job(call: Call) -> Response:
    """``/v1/job/check``: 2 credits per call; unknown ids read as ``working`` unless ``force``."""
    state = call.state
    job_id = call.params.text("jobid")  # matched in any case: jobid, jobId, JobId...
    if job_id is None:
        return call.error(400, "Parameter 'jobid' is required")
    if not state.charge(JOB_CHECK_COST):
        return call.not_enough_credits(JOB_CHECK_COST)
    state.bump("job_checks")
    job = state.get_job(job_id)
    if job is None:
        if call.params.flag("force"):
            return call.ok(
                {
                    "status": "unknown",
                    "message": f"Unknown job id {job_id}",
                    "jobId": job_id,
                    "credits": JOB_CHECK_COST,
                    "remainingCredits": state.remaining_credits,
                    "duration": call.duration(),
                }
            )
        return call.ok({"status": "working", "remainingCredits": state.remaining_credits})
    status = job.status(state.now())
    if status == "working":
        # PDF.co's documented working answer is exactly this.
        return call.ok({"status": "working", "remainingCredits": state.remaining_credits})
    credits = JOB_CHECK_COST + _settle(call, job, status)
    body = final_body(job, status)
    body.update(credits=credits, remainingCredits=state.remaining_credits, duration=call.duration())
    return call.ok(body)


def final_body(job: Job, status: str) -> dict[str, Any]:
    """What a check of an ended job says of it (without the check's own credits), and what a callback POSTs."""
    end = max(job.due_at or job.submitted_at, job.finished_at or job.submitted_at)
    body: dict[str, Any] = {"status": status, "jobId": job.job_id}
    if status == "success":
        body.update(message="Success", url=job.url, pageCount=job.page_count)
    elif status == "failed":
        body["message"] = job.outcome_message or job.error or "Job failed"
        if job.error_code is not None and job.outcome is None:
            body["errorCode"] = job.error_code
    else:
        body["message"] = job.outcome_message or "Job was aborted"
    body["jobDuration"] = round((end - job.submitted_at) * 1000)
    if status == "success":
        body["outputLinkValidTill"] = iso(job.link_expires_at)
        body.update(job.fields)
        # The invoice parser's documented result is its ``body``, inline or not
        # (https://docs.pdf.co/api-reference/ai-invoice-parser.md).
        if (job.inline or job.endpoint in ASYNC_ONLY) and job.body is not None:
            body["body"] = job.body
    return body


def _settle(call: Call, job: Job, status: str) -> int:
    """Bills (success) or refunds (failed, aborted) a job the first time a check sees it end."""
    state = call.state
    with state.lock:
        if job.settled:
            return 0
        job.settled = True
    if status == "success":
        rest = max(0, job.cost.total(job.page_count) - job.submit_credits)
        return state.charge_up_to(rest)
    state.refund(job.submit_credits)
    return 0


def balance(call: Call) -> Response:
    """``GET /v1/account/credit/balance``: ``{"remainingCredits": N}``, free."""
    return JSONResponse({"remainingCredits": call.state.remaining_credits})
