"""Before a consumer downloads or requests anything for a webhook whose body named no app id
(``tenancy: "unverified"``, see ``shared.ingest.tenancy``), it asks RealtimeKit's REST API whether the
session exists under this stack's app: ``GET /sessions/{session_id}``, once per session.

- It does: the work goes on as for any webhook.
- It does not (404): nothing is downloaded and nothing is requested. The delivery is recorded as
  ``foreign`` in the session's raw events only (a small JSON note next to the raw body under
  ``events/``; no session record, no ``session.json``) and counted (``DeliveryForeign``).
- RealtimeKit cannot say (5xx, 429, network): the error propagates and the queue retries."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.archive.keys import FOREIGN_NOTE_SUFFIX, event_file_name, session_prefix
from shared.core.exceptions import RealtimeKitNotFound
from shared.ingest.envelope import WebhookDetail

if TYPE_CHECKING:
    from shared.adapters.realtimekit import RealtimeKitClient
    from shared.adapters.s3 import ArchiveStore, StoredObject

UNVERIFIED = "unverified"
CACHE_SIZE = 10_000


def needs_check(detail: WebhookDetail) -> bool:
    return detail.tenancy == UNVERIFIED


class SessionOwnership:
    """Whether a session is this app's, asked once per session (answers kept, oldest dropped first)."""

    def __init__(self, rest: Callable[[], RealtimeKitClient]) -> None:
        self._rest = rest
        self._answers: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()
        self.lookups = 0

    def owns(self, session_id: str) -> bool:
        with self._lock:
            known = self._answers.get(session_id)
        if known is not None:
            return known
        self.lookups += 1
        try:
            self._rest().get_session(session_id)
        except RealtimeKitNotFound:
            known = False
        else:
            known = True
        with self._lock:
            self._answers[session_id] = known
            while len(self._answers) > CACHE_SIZE:
                self._answers.popitem(last=False)
        return known


def foreign_note_key(detail: WebhookDetail) -> str:
    assert detail.meeting_id is not None
    assert detail.session_id is not None
    name = event_file_name(
        event=detail.event, digest=detail.delivery.body_sha256, event_time=detail.event_time
    )
    prefix = session_prefix(detail.meeting_id, detail.session_id)
    return f"{prefix}events/{name.removesuffix('.json')}{FOREIGN_NOTE_SUFFIX}"


def record_foreign(detail: WebhookDetail, store: ArchiveStore, *, consumer: str) -> StoredObject:
    """The note beside the raw body: which delivery, what was checked, that nothing was fetched."""
    note = {
        "verdict": "foreign",
        "consumer": consumer,
        "event": detail.event,
        "meetingId": detail.meeting_id,
        "sessionId": detail.session_id,
        "bodySha256": detail.delivery.body_sha256,
        "deliveryId": detail.delivery.delivery_id,
        "receivedAt": detail.delivery.received_at.isoformat(),
        "checked": f"GET /sessions/{detail.session_id}: not found under this app",
        "downloaded": False,
    }
    return store.put_bytes(
        foreign_note_key(detail),
        json.dumps(note, indent=2).encode(),
        content_type="application/json",
        metadata={"verdict": "foreign"},
    )


def is_foreign(detail: WebhookDetail, ownership: SessionOwnership) -> bool:
    """True when the body named no app id and RealtimeKit does not know its session under our app."""
    if not needs_check(detail):
        return False
    if not detail.session_id:
        return True  # nothing to ask about: not provably ours
    return not ownership.owns(detail.session_id)
