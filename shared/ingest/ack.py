"""The webhook ack path: size check, media type, signature, parse, one PutEvents.

Nothing slow happens here (no downloads, no REST SDK): the sender wants a fast 2xx and
API Gateway gives the function 29 s at most."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.core.config import IngestSettings
from shared.core.exceptions import PayloadTooLargeError, UnsupportedMediaTypeError
from shared.ingest.envelope import WebhookDetail, build_detail
from shared.ingest.signature import SignatureVerifier, StaticPublicKey, WellKnownPublicKey

DELIVERY_ID_HEADERS = ("rtk-uuid", "dyte-uuid")
WEBHOOK_ID_HEADERS = ("rtk-webhook-id", "dyte-webhook-id")


@dataclass(frozen=True)
class WebhookRequest:
    body: bytes
    headers: Mapping[str, str]  # names lower-cased
    received_at: datetime


class Publisher(Protocol):
    def publish(self, detail: WebhookDetail) -> str: ...


def _first_header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return value[:200]
    return None


def is_json_media_type(content_type: str | None) -> bool:
    """A missing Content-Type is tolerated; a present one must name JSON."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media in {"application/json", "text/json"} or (
        media.startswith("application/") and media.endswith("+json")
    )


class WebhookIngestor:
    def __init__(self, *, verifier: SignatureVerifier, publisher: Publisher, max_body_bytes: int) -> None:
        self._verifier = verifier
        self._publisher = publisher
        self._max_body_bytes = max_body_bytes

    def accept(self, request: WebhookRequest) -> WebhookDetail:
        """Return the published detail, or raise an ``IngestRejected`` carrying the status code.

        Order: cheap checks first (size, media type), then the RSA check, so that junk costs little."""
        body = request.body
        if len(body) > self._max_body_bytes:
            raise PayloadTooLargeError(f"body is {len(body)} bytes; the limit is {self._max_body_bytes}")
        content_type = request.headers.get("content-type")
        if not is_json_media_type(content_type):
            raise UnsupportedMediaTypeError(f"content type {content_type!r} is not JSON")
        signature_header = self._verifier.verify(body, request.headers)
        detail = build_detail(
            body,
            received_at=request.received_at,
            delivery_id=_first_header(request.headers, DELIVERY_ID_HEADERS),
            webhook_id=_first_header(request.headers, WEBHOOK_ID_HEADERS),
            signature_header=signature_header,
        )
        self._publisher.publish(detail)
        return detail


def ingestor_from_settings(settings: IngestSettings, *, events_client: object = None) -> WebhookIngestor:
    from shared.adapters.eventbridge import EventPublisher

    keys: StaticPublicKey | WellKnownPublicKey
    if settings.public_key_pem:
        keys = StaticPublicKey(settings.public_key_pem)
    else:
        assert settings.public_key_url is not None
        keys = WellKnownPublicKey(
            settings.public_key_url,
            ttl_seconds=settings.key_cache_seconds,
            min_refresh_seconds=settings.key_min_refresh_seconds,
        )
    return WebhookIngestor(
        verifier=SignatureVerifier(keys),
        publisher=EventPublisher(settings.event_bus_name, events_client),
        max_body_bytes=settings.max_body_bytes,
    )
