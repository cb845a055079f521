"""The sessions consumer's work: raw webhook bodies under ``events/``, and the session record."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.adapters.s3 import ArchiveStore, StoredObject
from shared.archive.keys import event_key
from shared.ingest.envelope import WebhookDetail
from shared.session.attribution import awaits_attribution

if TYPE_CHECKING:
    from shared.session.recorder import SessionRecorder


def raw_event_key(detail: WebhookDetail) -> str:
    return event_key(
        meeting_id=detail.meeting_id,
        session_id=detail.session_id,
        event=detail.event,
        digest=detail.delivery.body_sha256,
        event_time=detail.event_time,
    )


def archive_raw_event(detail: WebhookDetail, store: ArchiveStore) -> StoredObject:
    """Store the body exactly as received. Same body, same key: a redelivery overwrites."""
    delivery = detail.delivery
    metadata = {
        "received-at": delivery.received_at.isoformat(),
        "event": (detail.event or "")[:200],
        "valid": "true" if detail.valid else "false",
    }
    if delivery.delivery_id:
        metadata["delivery-id"] = delivery.delivery_id
    if delivery.webhook_id:
        metadata["webhook-id"] = delivery.webhook_id
    if detail.parse_error:
        metadata["parse-error"] = detail.parse_error
    content_type = "application/json" if detail.body.encoding == "utf-8" else "application/octet-stream"
    return store.put_bytes(
        raw_event_key(detail), detail.body.to_bytes(), content_type=content_type, metadata=metadata
    )


def take_in_event(
    detail: WebhookDetail,
    *,
    store: ArchiveStore,
    recorder: SessionRecorder,
    defer_legacy: bool = True,
    is_erased: Callable[[str, str], bool] | None = None,
) -> StoredObject | None:
    """Archive a webhook body as received, then fold the event into its session's record.

    Events the pipeline synthesized (reconciliation, backfill) only feed the record (meeting title,
    times): ``events/`` holds bodies RealtimeKit sent and signed, nothing else. A legacy recording
    update without a meeting id is left to the recordings consumer (``defer_legacy``), which finds
    its session through the REST API and takes it in there (``shared.session.attribution``).
    Returns the stored raw object, or None for a synthesized or deferred event, or a session
    ``meeting-vault forget`` erased (the tombstone check: one GetItem, or ``is_erased``, the check a
    consumer made for its whole batch with ``SessionRecorder.erased_check``)."""
    erased = is_erased or recorder.is_erased
    if detail.meeting_id and detail.session_id and erased(detail.meeting_id, detail.session_id):
        return None
    if defer_legacy and awaits_attribution(detail):
        return None
    stored = None if detail.synthesized else archive_raw_event(detail, store)
    recorder.record_event(detail)
    return stored
