from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.archive.keys import event_key
from shared.ingest.envelope import build_detail
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
from tests.conftest import EVENTS_DIR, load_event

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


# -- every id field, every event type (unknown ones too), the same safe-id check ----------------------
ID_FIELDS = [
    ("meeting", "id"),
    ("meeting", "sessionId"),
    ("meetingId",),
    ("sessionId",),
    ("recording", "id"),
    ("recording", "recordingId"),
    ("recording", "meetingId"),
    ("recording", "roomUUID"),
]
# A newline at the end is the case ``$`` let through; the others are refused anywhere in an id.
CONTROL_CHARACTERS = [
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\t",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\u2028",
]


def _bodies_with_ids() -> list[tuple[str, dict[str, object]]]:
    bodies = []
    for path in sorted(EVENTS_DIR.glob("*.json")):
        payload = json.loads(path.read_text())
        bodies.append((path.stem, payload))
    unknown = load_event("meeting_started.json")
    unknown["event"] = "meeting.somethingNew"
    flat_unknown = {"event": "meeting.somethingNew", "meetingId": MEETING, "sessionId": SESSION}
    return [*bodies, ("unknown", unknown), ("unknown_flat", flat_unknown)]


def _id_cases() -> list[tuple[str, dict[str, object], tuple[str, ...]]]:
    cases = []
    for name, payload in _bodies_with_ids():
        for field in ID_FIELDS:
            node: object = payload
            for part in field:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, str) and node:
                cases.append((name, payload, field))
    return cases


def _with(payload: dict[str, object], field: tuple[str, ...], value: str) -> dict[str, object]:
    copy = json.loads(json.dumps(payload))
    node = copy
    for part in field[:-1]:
        node = node[part]
    node[field[-1]] = value
    return copy


@pytest.mark.parametrize(("name", "payload", "field"), _id_cases(), ids=lambda v: str(v)[:30])
@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=repr)
def test_control_characters_in_any_id_field_make_the_body_unattributed(
    name: str, payload: dict[str, object], field: tuple[str, ...], char: str
) -> None:
    node: object = payload
    for part in field:
        node = node[part]  # type: ignore[index]
    good = str(node)
    for bad in (good + char, char + good, good[:4] + char + good[4:]):
        hostile = _with(payload, field, bad)
        with pytest.raises(ValueError, match=r"not a safe id|unsafe"):
            parse_event(hostile)
        body = json.dumps(hostile).encode()
        detail = build_detail(
            body, received_at=datetime.now(UTC), delivery_id=None, webhook_id=None, signature_header="x"
        )
        assert detail.valid is False
        assert (detail.meeting_id, detail.session_id) == (None, None)
        key = event_key(
            meeting_id=detail.meeting_id,
            session_id=detail.session_id,
            event=detail.event,
            digest=detail.delivery.body_sha256,
            event_time=detail.event_time,
        )
        assert key.startswith("unattributed/events/")


@pytest.mark.parametrize("bad", ["../../etc", "a/b", "..", "x" * 129, "a b", "ünï"])
def test_unknown_events_with_unsafe_ids_are_not_attributed(bad: str) -> None:
    for payload in (
        {"event": "meeting.somethingNew", "meetingId": bad, "sessionId": SESSION},
        {"event": "meeting.somethingNew", "meetingId": MEETING, "sessionId": bad},
        {"event": "meeting.somethingNew", "meeting": {"id": bad, "sessionId": SESSION}},
    ):
        with pytest.raises(ValueError, match="not a safe id"):
            parse_event(payload)


def test_every_fixture_still_parses_with_its_ids() -> None:
    for _, payload in _bodies_with_ids():
        parse_event(payload)  # genuine bodies keep passing the check


@pytest.mark.parametrize("event", ["livestreaming.statusUpdate", "meeting.started", "meeting.ended"])
def test_undeclared_fields_are_never_read_as_ids(event: str) -> None:
    """A body's own ``meeting_id_flat`` key, or a ``recording`` object on an event that declares
    none, is an unknown field like any other: never an id (it used to crash or name a folder)."""
    payload: dict[str, object] = {
        "event": event,
        "meeting_id_flat": "../../etc",
        "session_id_flat": "a/b",
        "recording": {"meetingId": "m-2", "roomUUID": "s-2"},
    }
    if event != "livestreaming.statusUpdate":
        payload["meeting"] = {"id": MEETING, "sessionId": SESSION}
    parsed = parse_event(payload)
    expected = (None, None) if event == "livestreaming.statusUpdate" else (MEETING, SESSION)
    assert (parsed.meeting_id, parsed.session_id) == expected
