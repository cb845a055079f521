"""Small files (transcripts, chat exports, summaries) read into memory through the same URL
policy, redirect checks and retries as the transfer engine; their format is sniffed from the
content before they are stored, so they cannot be streamed straight to a key."""

from __future__ import annotations

import http.client
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str | None


def download_bytes(
    url: str,
    *,
    policy: UrlPolicy,
    config: TransferConfig | None = None,
    accept: tuple[str, ...] = TEXT_TYPES,
    max_bytes: int = MAX_SMALL_FILE,
) -> Downloaded:
    """GET ``url`` whole. Raises ``SourceExpired`` (401/403/404/410), ``DownloadRefused``,
    ``NotMediaError`` (an HTML/XML error page or a type outside ``accept``), ``IntegrityError``
    (short body or over ``max_bytes``) or ``TransferFailed`` (retries exhausted)."""
    config = config or TransferConfig()
    source = _Http(policy, config)
    attempts = _Attempts(config, f"GET {url.split('?', 1)[0]}", None)
    while True:
        try:
            _, response = source.get(url, {})
            try:
                content_type = response.getheader("Content-Type")
                _check_content_type(content_type, accept)
                declared = response.getheader("Content-Length")
                if declared is not None and int(declared) > max_bytes:
                    raise IntegrityError(f"file is {declared} bytes, more than the {max_bytes} allowed")
                data = response.read(max_bytes + 1)
                if len(data) > max_bytes:
                    raise IntegrityError(f"file is larger than the {max_bytes} bytes allowed")
                if declared is not None and len(data) != int(declared):
                    raise _Transient(f"short body: {len(data)} of {declared} bytes")
            finally:
                response.close()
            _check_not_markup(data)
            return Downloaded(data=data, content_type=content_type)
        except _Transient as exc:
            attempts.failed(exc)
        except (OSError, http.client.HTTPException) as exc:  # reset or cut short mid-body
            attempts.failed(_Transient(repr(exc)))
        except (NotMediaError, IntegrityError, TransferFailed):
            raise
