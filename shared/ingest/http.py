"""API Gateway (REST API, Lambda proxy) events in and out of the ingest function.

Hand-written rather than Powertools' ``APIGatewayRestResolver``: the function serves one route
that API Gateway alone routes to it, and the resolver's import (≈70 ms with its data classes and
asyncio) would be most of the cold-start budget the sender waits on (see bench/ingest.py)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from shared.core.exceptions import IngestRejected
from shared.ingest.ack import WebhookRequest
from shared.ingest.published import PublishedDetail

WEBHOOK_PATH = "/webhooks/realtimekit"


class NotRoutedError(IngestRejected):
    status_code = 404
    reason = "not_found"


class BadEncodingError(IngestRejected):
    status_code = 400
    reason = "bad_encoding"


def request_from_proxy_event(event: dict[str, Any], *, path: str = WEBHOOK_PATH) -> WebhookRequest:
    """The raw body bytes (the signature covers them) and lower-cased headers."""
    if event.get("httpMethod") != "POST" or (event.get("resource") or event.get("path")) != path:
        raise NotRoutedError(f"no route for {event.get('httpMethod')} {event.get('path')}")
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadEncodingError("body is not valid base64") from exc
    else:
        raw = body.encode("utf-8")
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    return WebhookRequest(body=raw, headers=headers, received_at=datetime.now(UTC))


def proxy_response(
    status: int, document: dict[str, Any], *, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(document, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def accepted_response(detail: PublishedDetail) -> dict[str, Any]:
    return proxy_response(202, {"accepted": True, "bodySha256": detail.body_sha256, "valid": detail.valid})


def rejected_response(error: IngestRejected) -> dict[str, Any]:
    retry_after = error.retry_after_seconds
    return proxy_response(
        error.status_code,
        {"accepted": False, "error": error.reason, "message": str(error)},
        headers={"retry-after": str(retry_after)} if retry_after is not None else None,
    )
