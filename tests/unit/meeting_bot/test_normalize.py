"""A bot session's bodies -> the same normalized files as a RealtimeKit session (seed shapes)."""

from __future__ import annotations

import hashlib
import json
import random

from local.sample_bot_meeting import SampleBotMeeting, encode
from shared.normalize.seed_models import (
    ParticipantEventsDocument,
    ParticipantsDocument,
    SpeakerTimelineDocument,
    TranscriptDocument,
)
from shared.session.model import SeenEvent, SessionFacts
from shared.sources.meeting_bot.normalize import build_bot_outputs
from shared.sources.meeting_bot.payloads import MEDIA_EVENTS, PARTICIPANT_ACTIONS, read_event

MEETING = SampleBotMeeting()


def facts_of(bodies: list[dict], *, keep_partial: bool = False) -> SessionFacts:
    facts = SessionFacts(meeting_id="design-review", session_id=MEETING.recording_id)
    for body in bodies:
        if body["event"] in MEDIA_EVENTS:
            continue
        payload = {} if body["event"] == "transcript.partial_data" and not keep_partial else body
        facts.events.append(
            SeenEvent(digest=hashlib.sha256(encode(body)).hexdigest(), event=body["event"], payload=payload)
        )
    return facts


def outputs(bodies: list[dict]) -> dict[str, bytes]:
    return {path: data for path, (data, _) in build_bot_outputs(facts_of(bodies)).files.items()}


def test_ids_come_from_bot_metadata_then_bot_id() -> None:
    body = MEETING.bodies()[0]
    assert read_event(body).meeting_id == "design-review"
    assert read_event(body).session_id == MEETING.recording_id
    no_metadata = SampleBotMeeting(meeting_id=None).bodies()[0]
    assert read_event(no_metadata).meeting_id == MEETING.bot_id
    unsafe = json.loads(json.dumps(body))
    unsafe["data"]["bot"]["metadata"]["meeting_id"] = "../etc"
    assert read_event(unsafe).meeting_id is None


def test_participant_events_keep_every_action_in_relative_order_with_chat_data() -> None:
    files = outputs(MEETING.bodies())
    events = json.loads(files["participant_events.json"])
    ParticipantEventsDocument.validate_json(files["participant_events.json"])
    assert {e["action"] for e in events} == set(PARTICIPANT_ACTIONS)
    relatives = [e["timestamp"]["relative"] for e in events]
    assert relatives == sorted(relatives)
    chat = next(e for e in events if e["action"] == "chat_message")
    assert chat["data"] == {"text": "Link to the doc: https://example.com/d/42", "to": "everyone"}
    assert all(e["data"] is None for e in events if e["action"] != "chat_message")
    assert events[0]["timestamp"] == {"absolute": "2026-06-04T15:00:00.500000Z", "relative": 0.5}


def test_participants_use_the_bots_ids_and_the_latest_name() -> None:
    files = outputs(MEETING.bodies())
    people = json.loads(files["participants.json"])
    ParticipantsDocument.validate_json(files["participants.json"])
    assert [p["id"] for p in people] == [100, 101, 102]
    assert people[2]["name"] == "Ines Köhler (Berlin)"  # the update event renamed her
    assert people[0]["is_host"] is True
    assert people[0]["extra_data"] == {"zoom": {"user_guid": "guid-100"}}


def test_transcript_files_come_from_transcript_data_only() -> None:
    files = outputs(MEETING.bodies())
    TranscriptDocument.validate_json(files["transcript/transcript.json"])
    SpeakerTimelineDocument.validate_json(files["transcript/speaker_timeline.json"])
    transcript = json.loads(files["transcript/transcript.json"])
    assert [e["participant"]["id"] for e in transcript] == [100, 101, 102]
    first_word = transcript[0]["words"][0]
    assert first_word["text"] == "Good"
    assert first_word["start_timestamp"] == {"absolute": "2026-06-04T15:00:01.300000Z", "relative": 1.3}
    assert files["transcript/transcript.txt"].decode().splitlines()[0] == (
        "[00:00:01] Maya Patel: Good afternoon, let's review the design."
    )
    assert files["transcript/transcript.vtt"].startswith(b"WEBVTT\n")
    assert b"00:00:04,000 --> " in files["transcript/transcript.srt"]
    timeline = json.loads(files["transcript/speaker_timeline.json"])
    assert [t["participant"]["id"] for t in timeline] == [100, 101, 102]


def test_partial_transcripts_are_counted_not_rendered() -> None:
    files = outputs(MEETING.bodies())
    manifest = json.loads(files["session.json"])
    assert manifest["source"] == "meeting-bot"
    assert manifest["events"]["partialTranscripts"] == 1
    assert manifest["events"]["byType"]["bot.custom_signal"] == 1  # unknown events are kept and counted
    assert b"Good afternoon, let's review the design\n" not in files["transcript/transcript.txt"]


def test_shuffled_and_duplicated_deliveries_give_byte_identical_files() -> None:
    bodies = MEETING.bodies()
    first = outputs(bodies)
    for seed in range(3):
        again = bodies * 2
        random.Random(seed).shuffle(again)
        assert outputs(again) == first


def test_a_session_without_transcript_has_no_transcript_files() -> None:
    bodies = [b for b in MEETING.bodies() if not b["event"].startswith("transcript.")]
    files = outputs(bodies)
    assert not any(path.startswith("transcript/") for path in files)
