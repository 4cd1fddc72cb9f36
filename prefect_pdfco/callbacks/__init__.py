"""PDF.co callbacks as Prefect events: the receiver (``CallbackReceiver``, ``create_app``, and
``python -m prefect_pdfco.callbacks``) and the per-job tokens submits put into their ``callback`` URL.

Starlette and uvicorn (the ``emulator`` extra) are needed only to serve a receiver.
"""

from __future__ import annotations

from prefect_pdfco.callbacks.receiver import DEFAULT_MAX_BODY_BYTES, EVENT_BY_STATUS, CallbackReceiver, create_app

__all__ = ["DEFAULT_MAX_BODY_BYTES", "EVENT_BY_STATUS", "CallbackReceiver", "create_app"]
