"""Client-side pacing of RealtimeKit REST calls (250 requests per 10 s for all its APIs).

``RequestPacer`` is a sliding window: before each request it waits until fewer than
``max_requests`` were sent in the last ``window_seconds``. It runs as an httpx request hook, so
every HTTP request the SDK sends counts, its own retries included. RealtimeKit counts requests
when they arrive, a little after we send them, so the window is padded by ``margin``."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cli.errors import CliError

DEFAULT_MAX_REQUESTS = 250
DEFAULT_WINDOW_SECONDS = 10.0
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


@dataclass
class RequestPacer:
    max_requests: int = DEFAULT_MAX_REQUESTS
    window_seconds: float = DEFAULT_WINDOW_SECONDS
    margin: float = 0.05  # fraction of the window added as slack
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _sent: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    waited_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.window_seconds <= 0:
            raise CliError("the rate limit needs at least 1 request per a positive number of seconds")

    @property
    def _window(self) -> float:
        return self.window_seconds * (1 + self.margin)

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        with self._lock:
            while True:
                now = self.clock()
                while self._sent and self._sent[0] <= now - self._window:
                    self._sent.popleft()
                if len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    return
                wait = self._sent[0] + self._window - now
                self.waited_seconds += wait
                self.sleep(wait)

    def __call__(self, _request: object) -> None:  # the httpx request hook
        self.acquire()


def parse_rate_limit(spec: str) -> RequestPacer:
    """``250/10`` (requests / seconds) -> a pacer."""
    match = _SPEC.match(spec)
    if not match:
        raise CliError(f"rate limit {spec!r} is not REQUESTS/SECONDS, e.g. 250/10")
    return RequestPacer(max_requests=int(match.group(1)), window_seconds=float(match.group(2)))
