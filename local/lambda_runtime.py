"""Just enough of the Lambda runtime to call handlers in-process (local mode and tests)."""

from __future__ import annotations

import importlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

# The function whose handler is running in this context (None outside ``invoke``): tests attribute
# the AWS calls a handler makes to its function (tests/support/aws_calls.py).
CURRENT_FUNCTION: ContextVar[str | None] = ContextVar("meeting_vault_current_function", default=None)

# Lambda runs one invocation per execution environment at a time, and handlers rely on it (batch
# processors and idempotency configs are module globals). Local mode gives each function one
# environment: invocations of one function run one at a time; different functions run side by
# side, so the webhook endpoint is not held up behind a recording download. A function whose
# per-invocation state is per thread (the webhook endpoint's: ``shared.ingest.telemetry``) may
# be given more (``set_environments``), as API Gateway would run several environments at once.
_LOCKS: dict[str, threading.Semaphore] = {}
_SIZES: dict[str, int] = {}
_LOCKS_GUARD = threading.Lock()


def set_environments(function_name: str, count: int) -> None:
    """Up to ``count`` invocations of ``function_name`` at once (from the next one that starts)."""
    with _LOCKS_GUARD:
        if _SIZES.get(function_name, 1) != max(1, count):
            _SIZES[function_name] = max(1, count)
            _LOCKS.pop(function_name, None)


def _environment_lock(function_name: str) -> threading.Semaphore:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(function_name)
        if lock is None:
            lock = _LOCKS[function_name] = threading.BoundedSemaphore(_SIZES.get(function_name, 1))
        return lock


@dataclass
class LocalLambdaContext:
    function_name: str
    timeout_seconds: int = 30
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def load_handler(dotted: str) -> Handler:
    """``functions.ingest.handler.handler`` -> the callable, as Lambda resolves it."""
    module_name, _, attribute = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def invoke(handler: Handler, event: dict[str, Any], *, function_name: str, timeout_seconds: int = 30) -> Any:
    with _environment_lock(function_name):
        token = CURRENT_FUNCTION.set(function_name)
        try:
            return handler(
                event, LocalLambdaContext(function_name=function_name, timeout_seconds=timeout_seconds)
            )
        finally:
            CURRENT_FUNCTION.reset(token)
            _drop_unpublished_metrics()


def _drop_unpublished_metrics() -> None:
    """With POWERTOOLS_METRICS_DISABLED (local mode) Powertools neither prints nor clears the
    metric set, so it would grow across invocations; Lambda's flush clears it after each one."""
    from shared.core.observability import metrics

    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        metrics.clear_metrics()
