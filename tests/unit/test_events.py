from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.ingest.events import (
    ChatSynced,
    LivestreamingStatusUpdate,
    MeetingEnded,
    MeetingStarted,
    MeetingSummary,
    MeetingTranscript,
    ParticipantJoined,
    ParticipantLeft,
    RecordingStatusUpdate,
    UnknownEvent,
    parse_event,
)
from tests.conftest import load_event

MEETING = "50c8940e-1b97-402a-97d6-2708b7feca41"
SESSION = "05e57591-d89e-45c9-ae44-08dc1eaad0e0"


@pytest.mark.parametrize(
    ("fixture", "model"),
    [
        ("meeting_started.json", MeetingStarted),
        ("meeting_started_no_room_name.json", MeetingStarted),
        ("meeting_ended.json", MeetingEnded),
        ("participant_joined.json", ParticipantJoined),
        ("participant_left.json", ParticipantLeft),
        ("chat_synced.json", ChatSynced),
        ("chat_synced_dyte.json", ChatSynced),
        ("recording_uploaded.json", RecordingStatusUpdate),
        ("recording_uploaded_dyte.json", RecordingStatusUpdate),
        ("recording_recording.json", RecordingStatusUpdate),
        ("recording_uploading.json", RecordingStatusUpdate),
        ("meeting_transcript.json", MeetingTranscript),
        ("meeting_summary_nested.json", MeetingSummary),
        ("meeting_summary_minimal.json", MeetingSummary),
        ("meeting_summary_flat.json", MeetingSummary),
    ],
)
def test_every_documented_variant_parses_and_yields_its_session(fixture: str, model: type) -> None:
    event = parse_event(load_event(fixture))
    assert type(event) is model
    assert event.meeting_id == MEETING
    assert event.session_id == SESSION


@pytest.mark.parametrize("fixture", ["livestreaming_status.json", "livestreaming_status_dyte.json"])
def test_livestreaming_parses_with_or_without_a_meeting(fixture: str) -> None:
    event = parse_event(load_event(fixture))
    assert isinstance(event, LivestreamingStatusUpdate)
    assert event.stream_id == "d231d346-1a2b-4c5d-8e9f-0a1b2c3d4e5f"
    assert event.session_id is None


def test_file_size_as_string_and_as_number() -> None:
    cf = parse_event(load_event("recording_uploaded.json"))
    dyte = parse_event(load_event("recording_uploaded_dyte.json"))
    assert isinstance(cf, RecordingStatusUpdate)
    assert isinstance(dyte, RecordingStatusUpdate)
    assert cf.recording.file_size == 2044680
    assert dyte.recording.file_size == 216787


def test_space_separated_timestamps_with_microseconds() -> None:
    event = parse_event(load_event("recording_uploaded_dyte.json"))
    assert isinstance(event, RecordingStatusUpdate)
    assert event.recording.stopped_time == datetime(2023, 4, 14, 4, 46, 8, 306221, tzinfo=UTC)
    assert event.event_time == event.recording.stopped_time


def test_stop_reason_python_dict_string_is_kept_verbatim() -> None:
    event = parse_event(load_event("recording_uploaded_dyte.json"))
    assert isinstance(event, RecordingStatusUpdate)
    assert event.recording.stop_reason == "{'reason':'ALL_PEERS_LEFT','caller':{'type':'INTERNAL'}}"


def test_room_name_present_or_absent() -> None:
    with_room = parse_event(load_event("meeting_started.json"))
    without = parse_event(load_event("meeting_started_no_room_name.json"))
    assert isinstance(with_room, MeetingStarted)
    assert isinstance(without, MeetingStarted)
    assert with_room.meeting.room_name == MEETING
    assert without.meeting.room_name is None


def test_unknown_fields_are_kept() -> None:
    payload = load_event("meeting_started.json")
    payload["brandNewField"] = {"x": 1}
    payload["meeting"]["region"] = "eu"
    event = parse_event(payload)
    assert isinstance(event, MeetingStarted)
    assert event.model_extra == {"brandNewField": {"x": 1}}
    assert event.meeting.model_extra == {"region": "eu"}


def test_unknown_event_name_is_forward_compatible() -> None:
    event = parse_event(
        {"event": "meeting.somethingNew", "meetingId": "m-1", "sessionId": "s-1", "extra": True}
    )
    assert isinstance(event, UnknownEvent)
    assert (event.meeting_id, event.session_id) == ("m-1", "s-1")
    assert event.model_extra == {"extra": True}


def test_empty_left_at_reads_as_null() -> None:
    payload = load_event("participant_left.json")
    payload["participant"]["leftAt"] = ""
    event = parse_event(payload)
    assert isinstance(event, ParticipantLeft)
    assert event.participant.left_at is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "not an object"),
        ({"meeting": {}}, "no 'event'"),
        ({"event": "meeting.started", "meeting": {"id": MEETING}}, "no session id"),
        ({"event": "meeting.chatSynced", "sessionId": SESSION}, "no meeting id"),
        ({"event": "meeting.started", "meeting": {"id": "../../etc", "sessionId": SESSION}}, "not a safe id"),
        (
            {
                "event": "recording.statusUpdate",
                "recording": {"status": "UPLOADED", "roomUUID": SESSION, "meetingId": MEETING},
            },
            "recording id",
        ),
        ({"event": "recording.statusUpdate", "meeting": {"id": MEETING, "sessionId": SESSION}}, "recording"),
    ],
)
def test_bodies_missing_what_they_need_are_errors(payload: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_event(payload)
