"""Small files (transcripts, chat exports, summaries) read into memory through the same URL
policy, redirect checks and retries as the transfer engine; their format is sniffed from the
content before they are stored, so they cannot be streamed straight to a key.

Every read has a deadline: ``TransferConfig.time_budget`` (the fetcher sets it from the Lambda's
remaining time). Each socket read waits at most until then, and the body is read as it arrives, so
a server that drips bytes cannot hold the function until its timeout."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass, replace

from shared.archive.transfer import (
    TEXT_TYPES,
    TransferConfig,
    _Attempts,
    _check_content_type,
    _check_not_markup,
    _Http,
    _Transient,
)
from shared.archive.url_policy import UrlPolicy
from shared.core.exceptions import IntegrityError, NotMediaError, TransferFailed

MAX_SMALL_FILE = 64 * 1024 * 1024  # a 24-hour transcript is a few MB
_CHUNK = 64 * 1024


class TooLargeToRead(IntegrityError):
    """The file is over ``max_bytes``: not read into memory (the caller may stream it instead)."""

    def __init__(self, message: str, content_type: str | None = None) -> None:
        super().__init__(message)
        self.content_type = content_type


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str | None


def _set_read_timeout(response: http.client.HTTPResponse, seconds: float) -> None:
    # The socket under the response (http.client keeps it as fp.raw._sock); each read then waits
    # at most until the deadline, not a full read_timeout past it.
    sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(0.05, seconds))


def _read_body(
    response: http.client.HTTPResponse, max_bytes: int, deadline: float | None, attempts: _Attempts
) -> bytes:
    content_type = response.getheader("Content-Type")
    body = bytearray()
    while True:
        if deadline is not None:
            attempts.check_deadline()
            _set_read_timeout(response, deadline - time.monotonic())
        chunk = response.read1(_CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise TooLargeToRead(f"file is larger than the {max_bytes} bytes read whole", content_type)


def _within(config: TransferConfig, deadline: float | None) -> TransferConfig:
    """The config with its connect and read timeouts cut to what is left of the deadline."""
    if deadline is None:
        return config
    left = max(0.05, deadline - time.monotonic())
    return replace(
        config, connect_timeout=min(config.connect_timeout, left), read_timeout=min(config.read_timeout, left)
    )


def download_bytes(
    url: str,
    *,
    policy: UrlPolicy,
    config: TransferConfig | None = None,
    accept: tuple[str, ...] = TEXT_TYPES,
    max_bytes: int = MAX_SMALL_FILE,
) -> Downloaded:
    """GET ``url`` whole. Raises ``SourceExpired`` (401/403/404/410), ``DownloadRefused``,
    ``NotMediaError`` (an HTML/XML error page or a type outside ``accept``), ``TooLargeToRead``
    (over ``max_bytes``), ``IntegrityError`` or ``TransferFailed`` (retries exhausted, or the
    time budget spent)."""
    config = config or TransferConfig()
    deadline = None if config.time_budget is None else time.monotonic() + config.time_budget
    attempts = _Attempts(config, f"GET {url.split('?', 1)[0]}", deadline)
    while True:
        try:
            attempts.check_deadline()
            _, response = _Http(policy, _within(config, deadline)).get(url, {})
            try:
                content_type = response.getheader("Content-Type")
                _check_content_type(content_type, accept)
                declared = response.getheader("Content-Length")
                if declared is not None and int(declared) > max_bytes:
                    raise TooLargeToRead(
                        f"file is {declared} bytes, more than the {max_bytes} read whole", content_type
                    )
                data = _read_body(response, max_bytes, deadline, attempts)
                if declared is not None and len(data) != int(declared):
                    raise _Transient(f"short body: {len(data)} of {declared} bytes")
            finally:
                response.close()
            _check_not_markup(data)
            return Downloaded(data=data, content_type=content_type)
        except _Transient as exc:
            attempts.failed(exc)
        except (OSError, http.client.HTTPException) as exc:  # reset, cut short or timed out mid-body
            attempts.failed(_Transient(repr(exc)))
        except (NotMediaError, IntegrityError, TransferFailed):
            raise
