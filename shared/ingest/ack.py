"""The webhook ack path: size check, media type, signature, parse, app binding, one PutEvents.

Nothing slow happens here (no downloads, no REST SDK): the sender wants a fast 2xx and API Gateway
gives the function 29 s at most. The one REST call, a meeting lookup, happens only for a body that
names another app id than ours, once per meeting (``shared.ingest.tenancy``).

A body that fits the API's cap can still make a bus entry over EventBridge's 256 KB (the detail carries
it twice, and escaping can multiply it by six). Such a body is written to the archive bucket first (a
claim check, at the key its raw event will have anyway) and a small pointer event is published; the
consumers read the body back through ``bodyRef``. 202 only after both writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.archive.keys import event_key
from shared.core.exceptions import PayloadTooLargeError, PublishError, UnsupportedMediaTypeError
from shared.ingest.published import PublishedDetail, build_published
from shared.ingest.signature import SignatureVerifier, StaticPublicKey, WellKnownPublicKey
from shared.ingest.tenancy import AppBinding, Notes, RestMeetingLookup, SecretToken

if TYPE_CHECKING:
    from shared.adapters.s3 import ArchiveStore
    from shared.ingest.settings import IngestSettings

DELIVERY_ID_HEADERS = ("rtk-uuid", "dyte-uuid")
WEBHOOK_ID_HEADERS = ("rtk-webhook-id", "dyte-webhook-id")


@dataclass(frozen=True)
class WebhookRequest:
    body: bytes
    headers: Mapping[str, str]  # names lower-cased
    received_at: datetime


class Publisher(Protocol):
    def entry(self, detail: PublishedDetail) -> dict[str, Any]: ...

    def put(self, entry: dict[str, Any]) -> str: ...


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


POINTER_PAYLOAD_BYTES = 16 * 1024


def pointer_payload(payload: Any) -> dict[str, Any] | None:
    """What a claim-check event keeps of the payload: ``event``, ``recording.status`` (the bus rules
    match on them) and, while they fit in 16 KiB together, the other top-level fields (so that a
    reader that only needs ``meeting``, such as the reconcile function, need not fetch the body)."""
    if not isinstance(payload, dict):
        return None
    kept: dict[str, Any] = {"event": payload.get("event")}
    recording = payload.get("recording")
    if isinstance(recording, dict) and isinstance(recording.get("status"), str):
        kept["recording"] = {"status": recording["status"]}
    budget = POINTER_PAYLOAD_BYTES
    for name, value in payload.items():
        if name in ("event",):
            continue
        size = len(json.dumps(value, ensure_ascii=False).encode()) + len(name) + 4
        if size <= budget:
            kept[name] = value
            budget -= size
    return kept


class WebhookIngestor:
    def __init__(
        self,
        *,
        verifier: SignatureVerifier,
        publisher: Publisher,
        max_body_bytes: int,
        binding: AppBinding,
        claim_store: ArchiveStore | None = None,
    ) -> None:
        self._verifier = verifier
        self._publisher = publisher
        self._max_body_bytes = max_body_bytes
        self.binding = binding
        self._claim_store = claim_store

    def accept(self, request: WebhookRequest) -> PublishedDetail:
        """Return the published detail, or raise an ``IngestRejected`` carrying the status code.

        Order: cheap checks first (size, media type), then the RSA check, so that junk costs little."""
        body = request.body
        if len(body) > self._max_body_bytes:
            raise PayloadTooLargeError(f"body is {len(body)} bytes; the limit is {self._max_body_bytes}")
        content_type = request.headers.get("content-type")
        if not is_json_media_type(content_type):
            raise UnsupportedMediaTypeError(f"content type {content_type!r} is not JSON")
        signature_header = self._verifier.verify(body, request.headers)
        detail = build_published(
            body,
            received_at=request.received_at,
            delivery_id=_first_header(request.headers, DELIVERY_ID_HEADERS),
            webhook_id=_first_header(request.headers, WEBHOOK_ID_HEADERS),
            signature_header=signature_header,
        )
        detail.document["tenancy"] = self.binding.bind(detail)
        self._publish(detail)
        return detail

    def _publish(self, detail: PublishedDetail) -> None:
        from shared.adapters.eventbridge import MAX_ENTRY_BYTES, entry_size

        entry = self._publisher.entry(detail)
        if entry_size(entry) <= MAX_ENTRY_BYTES:
            self._publisher.put(entry)
            return
        if self._claim_store is None:
            raise PublishError(
                f"the bus entry would be {entry_size(entry)} bytes and no ARCHIVE_BUCKET is set for a claim check"
            )
        key = event_key(
            meeting_id=detail.meeting_id,
            session_id=detail.session_id,
            event=detail.event,
            digest=detail.body_sha256,
            event_time=detail.event_time,
        )
        metadata = {"event": (detail.event or "")[:200], "valid": "true" if detail.valid else "false"}
        if detail.parse_error:
            metadata["parse-error"] = detail.parse_error
        try:
            self._claim_store.put_bytes(
                key,
                detail.body,
                content_type="application/json"
                if detail.document["body"]["encoding"] == "utf-8"
                else "application/octet-stream",
                metadata=metadata,
            )
        except Exception as exc:  # botocore errors: the sender retries, nothing was published
            raise PublishError(f"could not store the claim check {key}: {exc}") from exc
        detail.document.update(
            payload=pointer_payload(detail.document.get("payload")),
            body={"encoding": "utf-8", "data": ""},
            bodyRef=key,
        )
        self._publisher.put(self._publisher.entry(detail))


def ingestor_from_settings(
    settings: IngestSettings, *, notes: Notes, events_client: object = None
) -> WebhookIngestor:
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
            notes=notes,
        )
    lookup = None
    if settings.account_id and settings.api_token_secret_arn and settings.api_base_url:
        lookup = RestMeetingLookup(
            base_url=settings.api_base_url,
            account_id=settings.account_id,
            app_ids=settings.app_ids,
            token=SecretToken(settings.api_token_secret_arn),
            timeout_seconds=settings.api_timeout_seconds,
        )
    claim_store = None
    if settings.archive_bucket:
        from shared.adapters.s3 import ArchiveStore

        claim_store = ArchiveStore(settings.archive_bucket)
    return WebhookIngestor(
        verifier=SignatureVerifier(keys),
        publisher=EventPublisher(settings.event_bus_name, events_client),
        max_body_bytes=settings.max_body_bytes,
        binding=AppBinding(settings.app_ids, lookup, notes),
        claim_store=claim_store,
    )
