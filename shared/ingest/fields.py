"""A hand-checked read of the few fields ingest needs: event name, meeting and session ids, the time the
event describes, and the RealtimeKit app id the body names.

Why not the pydantic models of ``shared.ingest.events``: importing pydantic and building one model
cost about 75 ms of every cold start of the webhook endpoint. The models stay the one definition of a
valid body. This reader only *recognizes* the plain, common shape of each event: every field the
model declares is absent or of the plain JSON type the model takes without coercion, every id is a
safe id, every timestamp is ISO 8601 as RealtimeKit writes it. Such a body is one the models accept,
with the same ids and time (tests/unit/test_ingest_fields.py checks that against the models). For
anything else -- a wrong type, a missing id, an odd timestamp -- it answers ``None`` and the caller asks
the models, which give the authoritative verdict and error message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.archive.keys import is_safe_id

# The bus's names for what ingest publishes (shared by ``published`` and ``envelope``).
EVENT_SOURCE = "realtimekit"
UNPARSED_DETAIL_TYPE = "webhook.unparsed"
# Deeper JSON is kept as raw bytes only (flagged invalid): the parsers and serializers on the way
# (json, pydantic) give up somewhere past a few hundred levels, and no webhook nests past 5.
MAX_JSON_DEPTH = 64
# A ``\uD800``-``\uDFFF`` escape in the JSON text: it may decode to a lone surrogate, which no UTF-8
# encoder (the bus detail's) can write. Bodies holding one are judged by the models.
ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def nested_deeper_than(document: Any, limit: int) -> bool:
    """True when arrays/objects nest more than ``limit`` levels (webhook bodies nest about 4)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# What RealtimeKit writes: ``2026-06-03T10:00:00.000Z``, Dyte's ``2022-12-13 07:08:39.051621Z``.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
_DIGITS = re.compile(r"0|[1-9][0-9]{0,17}")

# Field kinds: "s" str, "t" timestamp, "n" byte count, "f" float, "b" bool, "r" str or object,
# or a nested table (an object of that shape). Keys are the camelCase aliases the models use.
_ORGANIZER = {"id": "s", "name": "s"}
_MEETING: dict[str, Any] = {
    "id": "s",
    "sessionId": "s",
    "title": "s",
    "roomName": "s",
    "status": "s",
    "createdAt": "t",
    "startedAt": "t",
    "endedAt": "t",
    "organizedBy": _ORGANIZER,
}
_PARTICIPANT = {
    "peerId": "s",
    "userId": "s",
    "userDisplayName": "s",
    "customParticipantId": "s",
    "clientSpecificId": "s",
    "joinedAt": "t",
    "leftAt": "t",
}
_RECORDING: dict[str, Any] = {
    "id": "s",
    "recordingId": "s",
    "status": "s",
    "downloadUrl": "s",
    "audioDownloadUrl": "s",
    "downloadUrlExpiry": "t",
    "invokedTime": "t",
    "startedTime": "t",
    "stoppedTime": "t",
    "fileSize": "n",
    "outputFileName": "s",
    "meetingId": "s",
    "recordingDuration": "f",
    "organizationId": "s",
    "roomUUID": "s",
    "stopReason": "r",
    "startReason": "r",
}
# Python field names that differ from their alias: the models accept them too (populate_by_name),
# so a body using them is left to the models.
_BY_NAME = re.compile(r"[a-z0-9]+(_[a-z0-9]+)+|room_uuid")

# event -> (fields, required fields, needs both ids)
_EVENTS: dict[str, tuple[dict[str, Any], frozenset[str], bool]] = {
    "meeting.started": ({"meeting": _MEETING}, frozenset({"meeting"}), True),
    "meeting.ended": ({"meeting": _MEETING, "reason": "s"}, frozenset({"meeting"}), True),
    "meeting.participantJoined": (
        {"meeting": _MEETING, "participant": _PARTICIPANT},
        frozenset({"meeting", "participant"}),
        True,
    ),
    "meeting.participantLeft": (
        {"meeting": _MEETING, "participant": _PARTICIPANT},
        frozenset({"meeting", "participant"}),
        True,
    ),
    "meeting.chatSynced": (
        {
            "meetingId": "s",
            "sessionId": "s",
            "meeting": _MEETING,
            "title": "s",
            "chatDownloadUrl": "s",
            "chatDownloadUrlExpiry": "t",
            "createdAt": "t",
            "startedAt": "t",
            "endedAt": "t",
            "organizedBy": _ORGANIZER,
        },
        frozenset(),
        True,
    ),
    "recording.statusUpdate": (
        {"recording": _RECORDING, "meeting": _MEETING},
        frozenset({"recording"}),
        True,
    ),
    "livestreaming.statusUpdate": (
        {
            "streamId": "s",
            "status": "s",
            "manualIngest": "b",
            "playbackUrl": "s",
            "ingestServer": "s",
            "streamKey": "s",
            "meeting": _MEETING,
        },
        frozenset(),
        False,
    ),
    "meeting.transcript": (
        {"meeting": _MEETING, "transcriptDownloadUrl": "s", "transcriptDownloadUrlExpiry": "t"},
        frozenset({"meeting"}),
        True,
    ),
    "meeting.summary": (
        {
            "meeting": _MEETING,
            "meetingId": "s",
            "sessionId": "s",
            "summaryDownloadUrl": "s",
            "summaryDownloadUrlExpiry": "t",
        },
        frozenset(),
        True,
    ),
}
_UNKNOWN: tuple[dict[str, Any], frozenset[str], bool] = (
    {"meeting": _MEETING, "meetingId": "s", "sessionId": "s"},
    frozenset(),
    False,
)


@dataclass(frozen=True)
class Fields:
    event: str
    meeting_id: str | None
    session_id: str | None
    event_time: datetime | None


def _plain(value: Any, kind: Any) -> bool:
    """True when ``value`` is what the model takes for ``kind`` as is (None always is)."""
    if value is None:
        return True
    if isinstance(kind, dict):
        return isinstance(value, dict) and _plain_object(value, kind)
    if kind == "s":
        return isinstance(value, str)
    if kind == "t":
        if value == "":
            return True
        if not isinstance(value, str) or _TIMESTAMP.fullmatch(value) is None:
            return False
        try:
            datetime.fromisoformat(value)
        except ValueError:  # e.g. month 13
            return False
        return True
    if kind == "n":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and (value == "" or _DIGITS.fullmatch(value) is not None)
        )
    if kind == "f":
        return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e15
    if kind == "b":
        return isinstance(value, bool)
    if kind == "r":
        return isinstance(value, str | dict)
    return False


def _plain_object(document: dict[str, Any], table: dict[str, Any]) -> bool:
    for key, value in document.items():
        kind = table.get(key)
        if kind is None:
            if _BY_NAME.fullmatch(key):
                return False  # maybe a field by its Python name: let the model decide
            continue  # an extra field: kept, never checked
        if not _plain(value, kind):
            return False
    return True


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _first(*values: Any) -> Any:
    for value in values:
        if value:
            return value
    return None


def _event_time(name: str, payload: dict[str, Any]) -> datetime | None:
    meeting = payload.get("meeting") or {}
    base = _time(_first(meeting.get("endedAt"), meeting.get("startedAt"), meeting.get("createdAt")))
    if name == "meeting.started":
        return _time(_first(meeting.get("startedAt"), meeting.get("createdAt")))
    if name == "meeting.participantJoined":
        return _time(payload["participant"].get("joinedAt")) or base
    if name == "meeting.participantLeft":
        participant = payload["participant"]
        return _time(_first(participant.get("leftAt"), participant.get("joinedAt"))) or base
    if name == "meeting.chatSynced":
        flat = _first(payload.get("endedAt"), payload.get("startedAt"), payload.get("createdAt"))
        return _time(flat) or base
    if name == "recording.statusUpdate":
        recording = payload["recording"]
        moment = _first(
            recording.get("stoppedTime"), recording.get("startedTime"), recording.get("invokedTime")
        )
        return _time(moment) or base
    return base


def read_fields(payload: Any) -> Fields | None:
    """The fields of a plainly valid body, or None: then only the models can say (valid or not)."""
    if not isinstance(payload, dict):
        return None
    name = payload.get("event")
    if not isinstance(name, str) or not name:
        return None
    table, required, needs_ids = _EVENTS.get(name, _UNKNOWN)
    if any(not isinstance(payload.get(key), dict) for key in required):
        return None
    if not _plain_object(payload, table):
        return None
    is_recording = name == "recording.statusUpdate"
    if "recording" in payload and not is_recording:
        return None  # an extra field the models' id lookup would trip over: let them decide
    flat = "meetingId" in table
    meeting = payload.get("meeting") or {}
    recording = payload.get("recording") or {}
    meeting_id = _first(
        meeting.get("id"), payload.get("meetingId") if flat else None, recording.get("meetingId")
    )
    session_id = _first(
        meeting.get("sessionId"), payload.get("sessionId") if flat else None, recording.get("roomUUID")
    )
    if is_recording and (
        not is_safe_id(_first(recording.get("id"), recording.get("recordingId")))
        or not isinstance(recording.get("status"), str)
    ):
        return None
    # Every id present must be safe, whatever the event, in every place the models look (they
    # check each one, not only the one that names the session: a body whose meeting.id is fine
    # but whose recording.recordingId is "../up" is theirs to refuse).
    ids = [meeting.get("id"), meeting.get("sessionId")]
    if flat:
        ids += [payload.get("meetingId"), payload.get("sessionId")]
    if is_recording:
        ids += [recording.get(key) for key in ("id", "recordingId", "meetingId", "roomUUID")]
    if any(value is not None and not is_safe_id(value) for value in ids):
        return None
    if needs_ids and (meeting_id is None or session_id is None):
        return None
    return Fields(
        event=name, meeting_id=meeting_id, session_id=session_id, event_time=_event_time(name, payload)
    )


def ids_of_refused_body(payload: Any) -> tuple[str | None, str | None]:
    """(meeting id, session id) of a body the models refused (``valid: false``, e.g. for one odd
    field that is no id), read from the places the models read them. They file the raw body under
    its session, where ``meeting-vault forget`` finds it, and name the meeting whose app is checked;
    a refused body never reaches a session record. An id that is not a safe string, in any of those
    places, gives (None, None): such a body stays under ``unattributed/``."""
    if not isinstance(payload, dict):
        return None, None
    name = payload.get("event")
    table = _EVENTS.get(name, _UNKNOWN)[0] if isinstance(name, str) else _UNKNOWN[0]
    flat = "meetingId" in table
    meeting = payload.get("meeting")
    meeting = meeting if isinstance(meeting, dict) else {}
    recording = payload.get("recording") if name == "recording.statusUpdate" else None
    recording = recording if isinstance(recording, dict) else {}
    meeting_ids = [meeting.get("id"), payload.get("meetingId") if flat else None, recording.get("meetingId")]
    session_ids = [
        meeting.get("sessionId"),
        payload.get("sessionId") if flat else None,
        recording.get("roomUUID"),
    ]
    present = [
        value
        for value in (*meeting_ids, *session_ids, recording.get("id"), recording.get("recordingId"))
        if value not in (None, "")
    ]
    if not all(is_safe_id(value) for value in present):
        return None, None
    return _first(*meeting_ids), _first(*session_ids)


def app_ids_in(payload: Any) -> tuple[str, ...]:
    """Every RealtimeKit app id the body names: ``meeting.organizedBy.id``, ``organizedBy.id``,
    ``organizationId`` (top level or in ``recording``). Empty when it names none."""
    if not isinstance(payload, dict):
        return ()
    found: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str) and value and value not in found:
            found.append(value)

    def organizer_id(holder: Any) -> Any:
        if isinstance(holder, dict):
            organizer = holder.get("organizedBy")
            return organizer.get("id") if isinstance(organizer, dict) else None
        return None

    add(organizer_id(payload.get("meeting")))
    add(organizer_id(payload))
    add(payload.get("organizationId"))
    recording = payload.get("recording")
    if isinstance(recording, dict):
        add(recording.get("organizationId"))
    return tuple(found)
