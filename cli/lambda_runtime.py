"""Just enough of the Lambda runtime to call handlers in-process (local mode and tests)."""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

# Powertools keeps per-invocation state in module globals (logger keys, metric sets, the
# resolver's current event), as Lambda runs one invocation per environment at a time.
# Local mode honours that by running one invocation at a time in the whole process.
INVOCATION_LOCK = threading.RLock()


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
    with INVOCATION_LOCK:
        return handler(
            event, LocalLambdaContext(function_name=function_name, timeout_seconds=timeout_seconds)
        )
