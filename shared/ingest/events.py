"""Pydantic models of the nine RealtimeKit webhook events.

Tolerant of the drift the documentation shows across versions (reference sections 1 and 6):
``fileSize`` as a string or a number, flat and nested ``meeting.summary``, timestamps with a space
instead of ``T``, ``stopReason`` as a Python-dict-like string, ``roomName`` present or not.
Unknown fields are kept (``extra="allow"``); the bus carries the payload exactly as received anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from shared.archive.keys import is_safe_id


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


# ISO 8601 with ``T`` or a space; "" (seen for ``leftAt``) reads as null.
Timestamp = Annotated[datetime | None, BeforeValidator(_empty_to_none)]
# "2044680" or 2044680.
ByteCount = Annotated[int | None, BeforeValidator(_empty_to_none)]


class _Model(BaseModel):
    # defer_build: a function builds the validator of an event type the first time it sees one,
    # not all of them at import (part of the ingest cold start; bench/ingest.py counts it).
    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        defer_build=True,
    )


class Organizer(_Model):
    id: str | None = None
    name: str | None = None


class MeetingInfo(_Model):
    id: str | None = None
    session_id: str | None = None
    title: str | None = None
    room_name: str | None = None
    status: str | None = None
    created_at: Timestamp = None
    started_at: Timestamp = None
    ended_at: Timestamp = None
    organized_by: Organizer | None = None


class ParticipantInfo(_Model):
    peer_id: str | None = None
    user_id: str | None = None
    user_display_name: str | None = None
    custom_participant_id: str | None = None
    client_specific_id: str | None = None
    joined_at: Timestamp = None
    left_at: Timestamp = None


class RecordingInfo(_Model):
    id: str | None = None
    recording_id: str | None = None
    status: str
    download_url: str | None = None
    audio_download_url: str | None = None
    download_url_expiry: Timestamp = None
    invoked_time: Timestamp = None
    started_time: Timestamp = None
    stopped_time: Timestamp = None
    file_size: ByteCount = None
    output_file_name: str | None = None
    meeting_id: str | None = None
    recording_duration: float | None = None
    organization_id: str | None = None
    room_uuid: str | None = Field(default=None, alias="roomUUID")
    # Dyte sends "{'reason':'ALL_PEERS_LEFT','caller':{'type':'INTERNAL'}}" (a string), the REST API an object.
    stop_reason: str | dict[str, Any] | None = None
    start_reason: str | dict[str, Any] | None = None

    @property
    def the_id(self) -> str | None:
        return self.id or self.recording_id


class _Event(_Model):
    event: str

    def _field(self, name: str) -> Any:
        """A declared field only: with ``extra="allow"`` a body's own key ``meeting_id_flat`` or a
        ``recording`` object on an event that declares none would otherwise read as one."""
        return getattr(self, name) if name in type(self).model_fields else None

    def _meeting(self) -> MeetingInfo | None:
        meeting = self._field("meeting")
        return meeting if isinstance(meeting, MeetingInfo) else None

    def _recording(self) -> RecordingInfo | None:
        recording = self._field("recording")
        return recording if isinstance(recording, RecordingInfo) else None

    def _id_fields(self) -> list[tuple[str, str | None]]:
        """Every id this body carries that the pipeline may put in an object key, by its place."""
        meeting, recording = self._meeting(), self._recording()
        found: list[tuple[str, str | None]] = [
            ("meetingId", self._field("meeting_id_flat")),
            ("sessionId", self._field("session_id_flat")),
        ]
        if meeting is not None:
            found += [("meeting.id", meeting.id), ("meeting.sessionId", meeting.session_id)]
        if recording is not None:
            found += [
                ("recording.id", recording.id),
                ("recording.recordingId", recording.recording_id),
                ("recording.meetingId", recording.meeting_id),
                ("recording.roomUUID", recording.room_uuid),
            ]
        return found

    @model_validator(mode="after")
    def _ids_are_safe(self) -> _Event:
        # The same check for every event type, unknown ones included: an id that could not name a
        # folder makes the body unattributed (kept under unattributed/, no session record).
        for label, value in self._id_fields():
            if value not in (None, "") and not is_safe_id(value):
                raise ValueError(f"{self.event}: {label} {value!r} is not a safe id")
        return self

    # Where each event carries its ids differs (reference section 1, "Parse defensively").
    @property
    def meeting_id(self) -> str | None:
        meeting, recording = self._meeting(), self._recording()
        if meeting is not None and meeting.id:
            return str(meeting.id)
        flat = self._field("meeting_id_flat")
        if flat:
            return str(flat)
        if recording is not None and recording.meeting_id:
            return str(recording.meeting_id)
        return None

    @property
    def session_id(self) -> str | None:
        meeting, recording = self._meeting(), self._recording()
        if meeting is not None and meeting.session_id:
            return str(meeting.session_id)
        flat = self._field("session_id_flat")
        if flat:
            return str(flat)
        if recording is not None and recording.room_uuid:
            return str(recording.room_uuid)
        return None

    @property
    def event_time(self) -> datetime | None:
        """The moment the event describes, taken from the body (it has no send time)."""
        meeting = self._meeting()
        if meeting is not None:
            return meeting.ended_at or meeting.started_at or meeting.created_at
        return None


class _SessionEvent(_Event):
    """An event that belongs to one session: both ids must be present and usable in keys."""

    @model_validator(mode="after")
    def _require_ids(self) -> _SessionEvent:
        for label, value in (("meeting id", self.meeting_id), ("session id", self.session_id)):
            if value is None:
                raise ValueError(f"{self.event}: no {label} in the body")
            if not is_safe_id(value):
                raise ValueError(f"{self.event}: {label} {value!r} is not a safe id")
        return self


class MeetingStarted(_SessionEvent):
    event: Literal["meeting.started"]
    meeting: MeetingInfo

    @property
    def event_time(self) -> datetime | None:
        return self.meeting.started_at or self.meeting.created_at


class MeetingEnded(_SessionEvent):
    event: Literal["meeting.ended"]
    meeting: MeetingInfo
    reason: str | None = None


class ParticipantJoined(_SessionEvent):
    event: Literal["meeting.participantJoined"]
    meeting: MeetingInfo
    participant: ParticipantInfo

    @property
    def event_time(self) -> datetime | None:
        return self.participant.joined_at or super().event_time


class ParticipantLeft(_SessionEvent):
    event: Literal["meeting.participantLeft"]
    meeting: MeetingInfo
    participant: ParticipantInfo

    @property
    def event_time(self) -> datetime | None:
        return self.participant.left_at or self.participant.joined_at or super().event_time


class ChatSynced(_SessionEvent):
    """Flat in every documented version: no ``meeting`` object."""

    event: Literal["meeting.chatSynced"]
    meeting_id_flat: str | None = Field(default=None, alias="meetingId")
    session_id_flat: str | None = Field(default=None, alias="sessionId")
    meeting: MeetingInfo | None = None
    title: str | None = None
    chat_download_url: str | None = None
    chat_download_url_expiry: Timestamp = None
    created_at: Timestamp = None
    started_at: Timestamp = None
    ended_at: Timestamp = None
    organized_by: Organizer | None = None

    @property
    def event_time(self) -> datetime | None:
        return self.ended_at or self.started_at or self.created_at or super().event_time


class RecordingStatusUpdate(_SessionEvent):
    """Legacy Dyte UPLOADING/UPLOADED bodies may carry only ``roomUUID``, ``organizationId`` and
    ``recordingId``: no meeting id. Such a body is valid; its meeting (and session) are found
    through the REST API (``GET /recordings/{id}``) by the recordings consumer
    (``shared.session.attribution``)."""

    event: Literal["recording.statusUpdate"]
    recording: RecordingInfo
    meeting: MeetingInfo | None = None

    @model_validator(mode="after")
    def _require_ids(self) -> RecordingStatusUpdate:
        for label, value in (("meeting id", self.meeting_id), ("session id", self.session_id)):
            if value is not None and not is_safe_id(value):
                raise ValueError(f"{self.event}: {label} {value!r} is not a safe id")
        if self.meeting_id is not None and self.session_id is None:
            raise ValueError(f"{self.event}: no session id in the body")
        return self

    @model_validator(mode="after")
    def _require_recording_id(self) -> RecordingStatusUpdate:
        rid = self.recording.the_id
        if not rid or not is_safe_id(rid):
            raise ValueError(f"recording.statusUpdate: missing or unsafe recording id {rid!r}")
        return self

    @property
    def event_time(self) -> datetime | None:
        r = self.recording
        return r.stopped_time or r.started_time or r.invoked_time or super().event_time


class LivestreamingStatusUpdate(_Event):
    """The Dyte version carries only ``event``, ``streamId`` and ``status``: no session ids."""

    event: Literal["livestreaming.statusUpdate"]
    stream_id: str | None = None
    status: str | None = None
    manual_ingest: bool | None = None
    playback_url: str | None = None
    ingest_server: str | None = None
    stream_key: str | None = None
    meeting: MeetingInfo | None = None


class MeetingTranscript(_SessionEvent):
    event: Literal["meeting.transcript"]
    meeting: MeetingInfo
    transcript_download_url: str | None = None
    transcript_download_url_expiry: Timestamp = None


class MeetingSummary(_SessionEvent):
    """Nested (full or ``{id, sessionId, organizedBy}`` only) or flat, by version."""

    event: Literal["meeting.summary"]
    meeting: MeetingInfo | None = None
    meeting_id_flat: str | None = Field(default=None, alias="meetingId")
    session_id_flat: str | None = Field(default=None, alias="sessionId")
    summary_download_url: str | None = None
    summary_download_url_expiry: Timestamp = None


class UnknownEvent(_Event):
    """An event name this version does not know: kept and forwarded (forward compatible)."""

    meeting: MeetingInfo | None = None
    meeting_id_flat: str | None = Field(default=None, alias="meetingId")
    session_id_flat: str | None = Field(default=None, alias="sessionId")


WebhookEvent = (
    MeetingStarted
    | MeetingEnded
    | ParticipantJoined
    | ParticipantLeft
    | ChatSynced
    | RecordingStatusUpdate
    | LivestreamingStatusUpdate
    | MeetingTranscript
    | MeetingSummary
    | UnknownEvent
)

EVENT_MODELS: dict[str, type[_Event]] = {
    "meeting.started": MeetingStarted,
    "meeting.ended": MeetingEnded,
    "meeting.participantJoined": ParticipantJoined,
    "meeting.participantLeft": ParticipantLeft,
    "meeting.chatSynced": ChatSynced,
    "recording.statusUpdate": RecordingStatusUpdate,
    "livestreaming.statusUpdate": LivestreamingStatusUpdate,
    "meeting.transcript": MeetingTranscript,
    "meeting.summary": MeetingSummary,
}
KNOWN_EVENTS = tuple(EVENT_MODELS)


def parse_event(payload: Any) -> _Event:
    """Validate a decoded JSON body into its event model.

    Raises ``ValueError`` (pydantic's ``ValidationError`` is one) when the body is not an object,
    has no string ``event``, or a known event lacks what it needs."""
    if not isinstance(payload, dict):
        raise ValueError(f"body is a JSON {type(payload).__name__}, not an object")
    name = payload.get("event")
    if not isinstance(name, str) or not name:
        raise ValueError("body has no 'event' name")
    model = EVENT_MODELS.get(name, UnknownEvent)
    return model.model_validate(payload)
