"""The ready-made automation: created on a real Prefect API, and it fires on a pdfco.job.failed event."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from prefect.automations import Automation
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.events import emit_event

pytestmark = pytest.mark.usefixtures("prefect_harness")

SCRIPT = Path(__file__).parents[1] / "blocks" / "create_automation.py"


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("create_automation", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        _Hook.received.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


async def test_the_automation_notifies_on_failed_jobs() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        await CustomWebhookNotificationBlock(
            name="hook",
            url=f"http://127.0.0.1:{server.server_port}/hook",
            json_data={"subject": "{{subject}}", "body": "{{body}}"},
        ).save("pdfco-test-alerts", overwrite=True)

        script = load_script()
        await script.create("pdfco-job-failed-test", "pdfco-test-alerts", None)
        automation = await Automation.aread(name="pdfco-job-failed-test")
        assert automation.trigger.expect == {"pdfco.job.failed", "pdfco.job.aborted", "pdfco.job.timed-out"}
        assert automation.trigger.match.model_dump().get("prefect.resource.id") == "pdfco.job.*"

        await asyncio.sleep(1.0)  # let the trigger service load the new automation
        emit_event(
            "pdfco.job.failed",
            resource={"prefect.resource.id": "pdfco.job.J-AUTO", "prefect.resource.name": "pdf/merge"},
            payload={"message": "Invalid password"},
        )
        for _ in range(120):
            if _Hook.received:
                break
            await asyncio.sleep(0.25)
        assert _Hook.received, "the automation did not notify"
        assert "pdfco.job.J-AUTO" in _Hook.received[0]["body"]
        assert "Invalid password" in _Hook.received[0]["body"]
    finally:
        server.shutdown()
