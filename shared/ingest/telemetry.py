"""Structured logs and metrics for the ingest function, without Powertools.

Powertools' Logger and Metrics cost about 40 ms of import on every cold start of the webhook
endpoint, which the sender waits on (bench/ingest.py). This module writes the same things by hand:
one JSON object per log line with the keys Powertools' Logger uses (``level``, ``message``,
``timestamp``, ``service``, ``function_request_id``, ``correlation_id``, ``cold_start``...), and
metrics as CloudWatch Embedded Metric Format documents, in the namespace and with the ``service``
dimension every other function's Powertools metrics use, so dashboards and alarms see one set.

Environment, as Powertools reads it: ``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``,
``POWERTOOLS_METRICS_DISABLED``, ``POWERTOOLS_LOG_LEVEL`` (or ``LOG_LEVEL``)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TextIO

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
DEFAULT_NAMESPACE = "MeetingVault"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class _Invocation(threading.local):
    """What belongs to the invocation running in this thread: Lambda runs one per environment, and
    local mode runs a few of the webhook endpoint's side by side, in threads of one process."""

    def __init__(self) -> None:
        self.context: dict[str, Any] = {}
        self.counts: dict[str, float] = {}


class Telemetry:
    """One per function. ``log()`` writes a line at once; ``count()`` adds to the invocation's metrics,
    which ``flush()`` writes as one EMF document (the handler decorator flushes after each call)."""

    def __init__(self, *, stream: TextIO | None = None, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._stream = stream
        self.service = env.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"
        self.namespace = env.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
        self.metrics_disabled = _truthy(env.get("POWERTOOLS_METRICS_DISABLED"))
        level = (env.get("POWERTOOLS_LOG_LEVEL") or env.get("LOG_LEVEL") or "INFO").upper()
        self.level = _LEVELS.get(level, 20)
        self._invocation = _Invocation()
        self._cold_start = True

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    # -- logs ------------------------------------------------------------------------------------
    def log(self, level: str, message: str, **fields: Any) -> None:
        if _LEVELS[level] < self.level:
            return
        record: dict[str, Any] = {
            "level": level,
            "message": message,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "service": self.service,
            **self._invocation.context,
            **fields,
        }
        self.stream.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")

    def info(self, message: str, **fields: Any) -> None:
        self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("WARNING", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("ERROR", message, **fields)

    # -- metrics ---------------------------------------------------------------------------------
    def count(self, name: str, value: float = 1) -> None:
        counts = self._invocation.counts
        counts[name] = counts.get(name, 0) + value

    def flush(self) -> dict[str, Any] | None:
        """Write the pending counts as one EMF document; returns it (None when nothing to write)."""
        counts, self._invocation.counts = self._invocation.counts, {}
        if not counts or self.metrics_disabled:
            return None
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [["service"]],
                        "Metrics": [{"Name": name, "Unit": "Count"} for name in counts],
                    }
                ],
            },
            "service": self.service,
            **{name: [float(value)] for name, value in counts.items()},
        }
        self.stream.write(json.dumps(document, separators=(",", ":")) + "\n")
        return document

    # -- the handler decorator -------------------------------------------------------------------
    def handler(
        self, function: Callable[[dict[str, Any], Any], dict[str, Any]]
    ) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        """Adds the Lambda context and the API Gateway request id to every line, flushes metrics."""

        @wraps(function)
        def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
            request = event.get("requestContext") if isinstance(event, dict) else None
            invocation = self._invocation
            invocation.context = {
                "cold_start": self._cold_start,
                "function_name": getattr(context, "function_name", None),
                "function_memory_size": getattr(context, "memory_limit_in_mb", None),
                "function_arn": getattr(context, "invoked_function_arn", None),
                "function_request_id": getattr(context, "aws_request_id", None),
                "correlation_id": request.get("requestId") if isinstance(request, dict) else None,
            }
            trace = os.environ.get("_X_AMZN_TRACE_ID")
            if trace:
                invocation.context["xray_trace_id"] = trace.split(";", 1)[0].removeprefix("Root=")
            self._cold_start = False
            try:
                return function(event, context)
            finally:
                self.flush()
                invocation.context = {}

        return wrapper


telemetry = Telemetry()
