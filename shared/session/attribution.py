"""Which session a legacy recording update belongs to.

Dyte's ``recording.statusUpdate`` for UPLOADING/UPLOADED may carry only ``roomUUID``,
``organizationId`` and ``recordingId``: no meeting id, so no folder. The fan-out routes such a
body to the recordings consumer (it holds the REST token; the sessions consumer does not), which
asks RealtimeKit: ``GET /recordings/{id}`` gives the session (``session_id``), ``GET
/sessions/{id}`` its meeting (``associated_id``). Asking our own App's API also proves the
recording is ours. The body is then taken in under its session like any webhook, and an UPLOADED
recording archived as usual. A recording RealtimeKit does not know stays in ``unattributed/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared.archive.keys import is_safe_id
from shared.core.exceptions import RealtimeKitNotFound
from shared.ingest.envelope import WebhookDetail
from shared.normalize.seed_models import iso_utc

RECORDING_EVENT = "recording.statusUpdate"


class RecordingLookup(Protocol):
    """The two REST calls (``shared.adapters.realtimekit.RealtimeKitClient`` has them)."""

    def get_recording(self, recording_id: str) -> Any: ...

    def get_session(self, session_id: str) -> Any: ...


def recording_id_of(detail: WebhookDetail) -> str | None:
    recording = detail.payload.get("recording") if isinstance(detail.payload, dict) else None
    if not isinstance(recording, dict):
        return None
    value = recording.get("id") or recording.get("recordingId")
    return str(value) if value else None


def uploaded(detail: WebhookDetail) -> bool:
    """An UPLOADED update: the one with a file to archive."""
    recording = detail.payload.get("recording") if isinstance(detail.payload, dict) else None
    return isinstance(recording, dict) and recording.get("status") == "UPLOADED"


def awaits_attribution(detail: WebhookDetail) -> bool:
    """A valid recording update that names no meeting (the sessions consumer leaves it to the
    recordings consumer, which can ask the REST API)."""
    return bool(
        detail.valid and detail.event == RECORDING_EVENT and not detail.meeting_id and recording_id_of(detail)
    )


def attribute_recording_update(detail: WebhookDetail, client: RecordingLookup) -> WebhookDetail | None:
    """The detail with its meeting and session ids from the REST API, or None when RealtimeKit
    does not know the recording (or its session) in this App. Other REST errors propagate (the
    queue retries)."""
    recording_id = recording_id_of(detail)
    if recording_id is None or not is_safe_id(recording_id):
        return None
    try:
        recording = client.get_recording(recording_id)
        session_id = recording.session_id or detail.session_id
        if not session_id or not is_safe_id(session_id):
            return None
        meeting_id = client.get_session(session_id).meeting_id
    except RealtimeKitNotFound:
        return None
    if not meeting_id or not is_safe_id(meeting_id):
        return None
    # The parsed copy gains what the REST answer knows and the body lacks (file name, size, times),
    # so the recording is archived and described as usual; the raw body stays as received.
    payload = dict(detail.payload)
    known = {key: value for key, value in payload["recording"].items() if value not in (None, "")}
    payload["recording"] = {**_rest_facts(recording, meeting_id, session_id), **known}
    return detail.model_copy(update={"meeting_id": meeting_id, "session_id": session_id, "payload": payload})


def _iso(moment: Any) -> str | None:
    return iso_utc(moment) if moment is not None else None


def _rest_facts(recording: Any, meeting_id: str, session_id: str) -> dict[str, Any]:
    facts = {
        "meetingId": meeting_id,
        "roomUUID": session_id,
        "outputFileName": recording.output_file_name,
        "fileSize": recording.file_size,
        "startedTime": _iso(recording.started_time),
        "stoppedTime": _iso(recording.stopped_time),
        "recordingDuration": recording.recording_duration,
    }
    return {key: value for key, value in facts.items() if value is not None}


def take_in_legacy_update(
    detail: WebhookDetail,
    *,
    client: RecordingLookup,
    take_in: Callable[[WebhookDetail], object],
) -> WebhookDetail | None:
    """Attribute a legacy update and take it in (raw body + session record) under its session;
    None when it cannot be attributed (then it is taken in as it is, under ``unattributed/``)."""
    resolved = attribute_recording_update(detail, client)
    take_in(resolved or detail)
    return resolved
