"""The bot endpoint's ack path: size, media type, authentication, then one durable write.

- Raw media (audio chunks, sampled PNG frames) goes straight to S3 under a deterministic key, and
  a small pointer event (a few hundred bytes) goes on the bus; the 202 waits for both.
- Every other body goes on the bus as the same ``WebhookDetail`` the RealtimeKit path publishes
  (source ``meeting-bot``), unknown ``event`` values included; the consumers archive it.
- A body that is too big for the bus, or media we cannot place (no ids, no buffer), is written
  as received under ``events/`` (or ``unattributed/events/``) by this function: nothing is lost.

Nothing here imports the normalizers, the session record or the REST SDK (cold start)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shared.archive.keys import event_key
from shared.core.exceptions import PayloadTooLargeError, UnsupportedMediaTypeError
from shared.ingest.ack import WebhookRequest, is_json_media_type
from shared.ingest.envelope import Delivery, RawBody, WebhookDetail
from shared.sources.meeting_bot.auth import BotAuthError, BotCredentials, authenticate
from shared.sources.meeting_bot.keys import chunk_key, frame_key
from shared.sources.meeting_bot.payloads import (
    AUDIO_CHUNK_STORED,
    FRAME_STORED,
    VIDEO_FRAME,
    BadMediaError,
    BotEvent,
    read_event,
)

# At 2 frames per second, exactly one frame of each sampling window starts within this much of
# the window's start: sampling by the frame's own time keeps the choice independent of arrival order.
FRAME_WINDOW_SECONDS = 0.5


class Publisher(Protocol):
    def publish(self, detail: WebhookDetail) -> str: ...


class CredentialSource(Protocol):
    def current(self) -> BotCredentials: ...
    def refreshed(self) -> BotCredentials | None: ...


class MediaWriter(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class BotAck:
    outcome: str  # "published", "audio_chunk", "frame", "frame_skipped", "stored_raw"
    event: str | None
    meeting_id: str | None
    session_id: str | None
    auth: str
    body_sha256: str
    key: str | None = None


def frame_is_sampled(relative: float, interval_seconds: float) -> bool:
    if interval_seconds <= 0:
        return False
    return relative % interval_seconds < FRAME_WINDOW_SECONDS


def _webhook_id(headers: Mapping[str, str]) -> str | None:
    value = headers.get("webhook-id") or headers.get("svix-id")
    return value[:200] if value else None


class BotIngestor:
    def __init__(
        self,
        *,
        credentials: CredentialSource,
        publisher: Publisher,
        audio_publisher: Publisher,
        media: MediaWriter,
        max_body_bytes: int,
        max_bus_body_bytes: int,
        tolerance_seconds: float,
        frame_interval_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._publisher = publisher
        self._audio_publisher = audio_publisher  # bus source "meeting-bot.media"
        self._media = media
        self._max_body_bytes = max_body_bytes
        self._max_bus_body_bytes = max_bus_body_bytes
        self._tolerance = tolerance_seconds
        self._frame_interval = frame_interval_seconds
        self._clock = clock

    def _authenticate(self, request: WebhookRequest, query: Mapping[str, str] | None) -> str:
        now = self._clock()
        try:
            return authenticate(
                self._credentials.current(),
                request.body,
                request.headers,
                query,
                now=now,
                tolerance=self._tolerance,
            )
        except BotAuthError:
            fresh = self._credentials.refreshed()  # the secret may have just been rotated
            if fresh is None:
                raise
            return authenticate(
                fresh, request.body, request.headers, query, now=now, tolerance=self._tolerance
            )

    def accept(self, request: WebhookRequest, query: Mapping[str, str] | None) -> BotAck:
        body = request.body
        if len(body) > self._max_body_bytes:
            raise PayloadTooLargeError(f"body is {len(body)} bytes; the limit is {self._max_body_bytes}")
        content_type = request.headers.get("content-type")
        if not is_json_media_type(content_type):
            raise UnsupportedMediaTypeError(f"content type {content_type!r} is not JSON")
        auth = self._authenticate(request, query)
        digest = hashlib.sha256(body).hexdigest()
        payload: Any = None
        parse_error = None
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            parse_error = (
                f"body is not JSON: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
            )
        event = read_event(payload)
        if event is None and parse_error is None:
            parse_error = "body has no 'event' name"
        detail = self._detail(request, body, digest, auth, event, payload, parse_error)
        if event is not None and event.is_media and event.meeting_id and event.session_id:
            try:
                return self._media_event(request, detail, event, auth)
            except BadMediaError as exc:
                detail = self._detail(request, body, digest, auth, event, payload, str(exc))
        if len(body) > self._max_bus_body_bytes or (event is not None and event.is_media):
            return self._store_raw(detail, auth)
        self._publisher.publish(detail)
        return BotAck("published", detail.event, detail.meeting_id, detail.session_id, auth, digest)

    def _detail(
        self,
        request: WebhookRequest,
        body: bytes,
        digest: str,
        auth: str,
        event: BotEvent | None,
        payload: Any,
        parse_error: str | None,
    ) -> WebhookDetail:
        return WebhookDetail(
            delivery=Delivery(
                delivery_id=_webhook_id(request.headers),
                webhook_id=None,
                received_at=request.received_at,
                body_sha256=digest,
                body_bytes=len(body),
                signature_header=f"meeting-bot:{auth}",
            ),
            event=event.event if event else None,
            meeting_id=event.meeting_id if event else None,
            session_id=event.session_id if event else None,
            event_time=event.absolute if event else None,
            valid=parse_error is None and event is not None and bool(event.meeting_id and event.session_id),
            parse_error=parse_error
            or (
                None
                if event is None or (event.meeting_id and event.session_id)
                else "no usable bot/recording id"
            ),
            payload=payload,
            body=RawBody.of(body),
        )

    def _media_event(
        self, request: WebhookRequest, detail: WebhookDetail, event: BotEvent, auth: str
    ) -> BotAck:
        meeting_id, session_id = event.meeting_id or "", event.session_id or ""
        relative = event.relative
        if relative is None or relative < 0:
            raise BadMediaError(f"{event.event}: no 'timestamp.relative'")
        digest = detail.delivery.body_sha256
        metadata = {"event": event.event, "body-sha256": digest, "relative": repr(relative)}
        if event.event == VIDEO_FRAME:
            participant = event.participant_id
            if participant is None:
                raise BadMediaError(f"{event.event}: no participant id")
            if not frame_is_sampled(relative, self._frame_interval):
                return BotAck("frame_skipped", event.event, meeting_id, session_id, auth, digest)
            data = event.media_bytes()
            key = frame_key(meeting_id, session_id, participant, relative)
            self._media.put(key, data, content_type="image/png", metadata=metadata)
            pointer = {
                "key": key,
                "participantId": participant,
                "relative": relative,
                "bytes": len(data),
                "type": event.inner.get("type") if isinstance(event.inner.get("type"), str) else None,
            }
            self._publisher.publish(_pointer(detail, FRAME_STORED, pointer))
            return BotAck("frame", event.event, meeting_id, session_id, auth, digest, key)
        stream = event.stream
        if stream is None:
            raise BadMediaError(f"{event.event}: no participant id for separate audio")
        data = event.media_bytes()
        key = chunk_key(meeting_id, session_id, stream, relative)
        self._media.put(key, data, content_type="audio/L16;rate=16000;channels=1", metadata=metadata)
        pointer = {"key": key, "stream": stream, "relative": relative, "bytes": len(data)}
        self._audio_publisher.publish(_pointer(detail, AUDIO_CHUNK_STORED, pointer))
        return BotAck("audio_chunk", event.event, meeting_id, session_id, auth, digest, key)

    def _store_raw(self, detail: WebhookDetail, auth: str) -> BotAck:
        key = event_key(
            meeting_id=detail.meeting_id,
            session_id=detail.session_id,
            event=detail.event,
            digest=detail.delivery.body_sha256,
            event_time=detail.event_time,
        )
        metadata = {"event": (detail.event or "")[:200], "stored-by": "ack"}
        if detail.parse_error:
            metadata["parse-error"] = detail.parse_error.encode("ascii", "replace").decode()[:500]
        self._media.put(key, detail.body.to_bytes(), content_type="application/json", metadata=metadata)
        return BotAck(
            "stored_raw",
            detail.event,
            detail.meeting_id,
            detail.session_id,
            auth,
            detail.delivery.body_sha256,
            key,
        )


def _pointer(detail: WebhookDetail, detail_type: str, pointer: dict[str, Any]) -> WebhookDetail:
    """A small bus event standing for a media body that went to S3 (the body itself never rides)."""
    text = json.dumps({"event": detail_type, **pointer}, separators=(",", ":"), sort_keys=True)
    return detail.model_copy(
        update={
            "event": detail_type,
            "payload": json.loads(text),
            "body": RawBody.of(text.encode()),
            "valid": True,
            "parse_error": None,
        }
    )


def bot_ingestor_from_settings() -> BotIngestor:
    from shared.adapters.eventbridge import EventPublisher
    from shared.sources.meeting_bot.credentials import SecretCredentials
    from shared.sources.meeting_bot.media_store import MediaStore
    from shared.sources.meeting_bot.payloads import MEDIA_SOURCE, SOURCE
    from shared.sources.meeting_bot.settings import bot_ingest_settings

    settings = bot_ingest_settings()
    return BotIngestor(
        credentials=SecretCredentials(
            settings.credentials_secret, ttl_seconds=settings.credentials_cache_seconds
        ),
        publisher=EventPublisher(settings.event_bus_name, source=SOURCE),
        audio_publisher=EventPublisher(settings.event_bus_name, source=MEDIA_SOURCE),
        media=MediaStore(settings.archive_bucket),
        max_body_bytes=settings.max_body_bytes,
        max_bus_body_bytes=settings.max_bus_body_bytes,
        tolerance_seconds=settings.signature_tolerance_seconds,
        frame_interval_seconds=settings.frame_interval_seconds,
    )
