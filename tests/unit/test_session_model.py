"""session.json and the participant files depend on the set of facts only, not on their order."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
from datetime import UTC, datetime, timedelta

import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from local.sample_meeting import SampleMeeting
from shared.adapters.realtimekit import SessionParticipant
from shared.normalize.participants import Speaker
from shared.normalize.rest_participants import PARTICIPANTS_EVENT, participants_payloads
from shared.session.model import (
    CHAT_SOURCE,
    PRESENCE_EVENTS,
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    ArtifactState,
    SeenEvent,
    SessionFacts,
    build_outputs,
)

MEETING = SampleMeeting()
URLS = {name: f"https://files.test/{name}" for name in MEETING.files()}


def seen(payload: dict[str, object]) -> SeenEvent:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SeenEvent(digest=hashlib.sha256(body).hexdigest(), event=str(payload["event"]), payload=payload)


EVENTS = [seen(p) for p in MEETING.webhooks(URLS)]
ARTIFACTS = [
    ArtifactRecord(
        name="recording/r1/video",
        kind="recording",
        state=ArtifactState.ARCHIVED,
        key="k1",
        bytes=10,
        sha256="ab",
        archived_at=datetime(2026, 6, 3, 11, tzinfo=UTC),
    ),
    ArtifactRecord(
        name="transcript/source", kind="transcript_source", state=ArtifactState.FAILED, reason="empty"
    ),
]
TRANSCRIPT_ARCHIVED = ArtifactRecord(
    name="transcript/source", kind="transcript_source", state=ArtifactState.ARCHIVED, key="k2"
)


def outputs_for(events: list[SeenEvent], artifacts: list[ArtifactRecord]) -> tuple[bytes, bytes, bytes]:
    # The record is a set: a fact put twice is one item (same sort key).
    unique_events = list({e.digest: e for e in events}.values())
    unique_artifacts = list({a.name: a for a in artifacts}.values())
    facts = SessionFacts(MEETING.meeting_id, MEETING.session_id, unique_events, unique_artifacts)
    out = build_outputs(facts)
    return out.manifest, out.participants, out.participant_events


REFERENCE = outputs_for(EVENTS, ARTIFACTS)


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False), st.lists(st.integers(0, len(EVENTS) - 1), max_size=8))
def test_any_order_with_duplicates_gives_identical_files(rng: random.Random, duplicates: list[int]) -> None:
    events = EVENTS + [EVENTS[i] for i in duplicates]
    rng.shuffle(events)
    artifacts = ARTIFACTS * 2
    rng.shuffle(artifacts)
    assert outputs_for(events, artifacts) == REFERENCE


def test_manifest_content() -> None:
    manifest = json.loads(REFERENCE[0])
    assert manifest["meeting"]["title"] == MEETING.title
    assert manifest["session"] == {
        "id": MEETING.session_id,
        "startedAt": "2026-06-03T10:00:00.000000Z",
        "endedAt": "2026-06-03T10:30:00.000000Z",
        "endReason": "ALL_PARTICIPANTS_LEFT",
        "durationSeconds": 1800.0,
        "state": "ended",
    }
    assert [p["name"] for p in manifest["participants"]] == ["Alice Ng", "José Müller", 'Chen "CJ" Jie']
    assert manifest["recordings"][0]["statuses"] == ["RECORDING", "UPLOADING", "UPLOADED"]
    assert manifest["artifactCounts"] == {"archived": 1, "failed": 1}
    assert manifest["events"]["count"] == len(EVENTS)


def test_rejoin_with_new_peer_id_is_one_person() -> None:
    participants = json.loads(REFERENCE[1])
    jose = next(p for p in participants if p["name"] == "José Müller")
    assert jose["extra_data"]["peer_ids"] == ["peer-j1", "peer-j2"]
    assert len(participants) == 3


def test_speaker_who_never_joined_by_webhook_is_added() -> None:
    facts = SessionFacts(
        MEETING.meeting_id, MEETING.session_id, EVENTS, [], [Speaker(peer_id="p-x", name="Late Larry")]
    )
    names = [p["name"] for p in json.loads(build_outputs(facts).participants)]
    assert "Late Larry" in names
    assert len(names) == 4


def test_session_without_end_is_live() -> None:
    started = [e for e in EVENTS if e.event == "meeting.started"]
    manifest = json.loads(
        build_outputs(SessionFacts(MEETING.meeting_id, MEETING.session_id, started)).manifest
    )
    assert manifest["session"]["state"] == "live"
    assert manifest["session"]["endedAt"] is None


def test_synthesized_events_inform_metadata_but_are_not_counted_as_webhooks() -> None:
    transcript = next(e for e in EVENTS if e.event == "meeting.transcript")
    made_up = SeenEvent(digest="f" * 64, event=transcript.event, payload=transcript.payload, synthesized=True)
    alone = json.loads(
        build_outputs(SessionFacts(MEETING.meeting_id, MEETING.session_id, [made_up])).manifest
    )
    assert alone["meeting"]["title"] == MEETING.title
    assert alone["events"] == {"count": 0, "byType": {}}
    with_real = outputs_for([*EVENTS, made_up], ARTIFACTS)
    assert with_real == REFERENCE


# -- participants from the REST API (seed 003: GET /sessions/{session_id}/participants) -------------
def rest_listing(people: list[dict[str, object]]) -> SeenEvent:
    payload = participants_payloads(
        MEETING.meeting_id,
        MEETING.session_id,
        [SessionParticipant.model_validate(p) for p in people],
    )[0]
    return SeenEvent(
        digest=f"rest-{len(people)}", event=PARTICIPANTS_EVENT, payload=payload, synthesized=True
    )


def sample_rest_listing() -> SeenEvent:
    """What the stand-in lists for the sample session (every stint, with user ids)."""
    return rest_listing(
        [
            {
                "id": person.peer_ids[peer],
                "user_id": person.user_id,
                "custom_participant_id": person.custom_participant_id,
                "display_name": person.name,
                "preset_name": "group_call_participant",
                "joined_at": MEETING.started_at + timedelta(seconds=joined),
                "left_at": MEETING.started_at + timedelta(seconds=left),
            }
            for person, peer, joined, left in MEETING.stints()
        ]
    )


def test_rest_participants_fill_in_a_lost_join_webhook() -> None:
    # Seed 003, "Fetch participants list of a session": "id?: string  Participant ID. This maps to
    # the corresponding peerId." ... "joined_at?: string" ... "left_at?: string"
    chen_webhooks = [
        e for e in EVENTS if e.event in PRESENCE_EVENTS and e.payload["participant"]["peerId"] == "peer-c1"
    ]
    without_chen = [e for e in EVENTS if e not in chen_webhooks]
    lost = build_outputs(SessionFacts(MEETING.meeting_id, MEETING.session_id, without_chen))
    assert 'Chen "CJ" Jie' not in [p["name"] for p in json.loads(lost.participants)]

    healed = build_outputs(
        SessionFacts(MEETING.meeting_id, MEETING.session_id, [*without_chen, sample_rest_listing()])
    )
    complete = build_outputs(SessionFacts(MEETING.meeting_id, MEETING.session_id, EVENTS))
    people = json.loads(healed.participants)
    assert [p["name"] for p in people] == ["Alice Ng", "José Müller", 'Chen "CJ" Jie']
    # Chen's join and leave come from REST, at the times the lost webhooks would have given.
    events = json.loads(healed.participant_events)
    assert [(e["action"], e["participant"]["name"], e["timestamp"]["absolute"]) for e in events] == [
        (e["action"], e["participant"]["name"], e["timestamp"]["absolute"])
        for e in json.loads(complete.participant_events)
    ]


def test_webhook_and_rest_facts_about_one_person_are_one_participant() -> None:
    outputs = build_outputs(
        SessionFacts(MEETING.meeting_id, MEETING.session_id, [*EVENTS, sample_rest_listing()])
    )
    people = json.loads(outputs.participants)
    assert len(people) == 3
    jose = next(p for p in people if p["name"] == "José Müller")
    # The webhooks carry no userId; REST does: one person, both facts.
    assert jose["extra_data"] == {
        "custom_participant_id": "jose@example.com",
        "user_id": "u-jose",
        "peer_ids": ["peer-j1", "peer-j2"],
        "display_names": ["José Müller"],
    }
    # Every stint was announced by webhook too: no join or leave is written twice.
    assert [(e["id"], e["timestamp"]) for e in json.loads(outputs.participant_events)] == [
        (e["id"], e["timestamp"]) for e in json.loads(REFERENCE[2])
    ]


# -- time base (seed 002) --------------------------------------------------------------------------
def test_time_base_is_the_recording_start_else_the_session_start() -> None:
    # Seed 002: "relative - represents the time in seconds from the start of the recording"
    with_recording = json.loads(REFERENCE[0])["timeBase"]
    assert with_recording == {
        "relativeTo": "recording_start",
        "origin": "2026-06-03T10:00:02.000000Z",
        "recordingId": MEETING.recording_id,
    }
    events = json.loads(REFERENCE[2])
    assert (events[0]["timestamp"]["absolute"], events[0]["timestamp"]["relative"]) == (
        "2026-06-03T10:00:00.000000Z",
        -2.0,
    )

    no_recording = [e for e in EVENTS if e.event != "recording.statusUpdate"]
    outputs = build_outputs(SessionFacts(MEETING.meeting_id, MEETING.session_id, no_recording))
    assert json.loads(outputs.manifest)["timeBase"] == {
        "relativeTo": "session_start",
        "origin": "2026-06-03T10:00:00.000000Z",
        "recordingId": None,
    }
    assert json.loads(outputs.participant_events)[0]["timestamp"]["relative"] == 0.0


# -- chat as participant events (seed 002) ---------------------------------------------------------
def test_chat_messages_are_chat_message_participant_events() -> None:
    # Seed 002, "Participant Event": "action": ... "chat_message"; "data": { "text": string, // The
    # text of chat message  "to": string, // The recipient of the chat message. values: "everyone"
    # | "only_bot" } // populated if the action is a `chat_message`
    outputs = build_outputs(
        SessionFacts(MEETING.meeting_id, MEETING.session_id, EVENTS),
        {CHAT_SOURCE: MEETING.chat_csv()},
    )
    events = json.loads(outputs.participant_events)
    chats = [e for e in events if e["action"] == "chat_message"]
    assert [(e["participant"]["name"], e["data"]) for e in chats] == [
        ("Alice Ng", {"text": "Agenda: numbers, release, FAQ", "to": "everyone"}),
        ("José Müller", {"text": 'Numbers are in the sheet, see tab "Q3, final"', "to": "everyone"}),
        ('Chen "CJ" Jie', {"text": "faq-draft.pdf", "to": "everyone"}),
    ]
    # 30 s into the session = 28 s into the recording; events stay in time order.
    assert chats[0]["timestamp"] == {"absolute": "2026-06-03T10:00:30.000000Z", "relative": 28.0}
    absolutes = [e["timestamp"]["absolute"] for e in events]
    assert absolutes == sorted(absolutes)
    assert len(events) == len(json.loads(REFERENCE[2])) + 3


def test_a_private_chat_message_names_its_recipient() -> None:
    chat = (
        b"id,participantId,displayName,payloadType,payload,createdAt,to\n"
        b"m1,peer-a1,Alice Ng,TEXT_MESSAGE,hi all,2026-06-03T10:01:00Z,everyone\n"
        b"m2,peer-a1,Alice Ng,TEXT_MESSAGE,psst,2026-06-03T10:02:00Z,u-jose\n"
        b"m3,peer-new,Newcomer,TEXT_MESSAGE,hello?,2026-06-03T10:03:00Z,\n"
    )
    outputs = build_outputs(SessionFacts(MEETING.meeting_id, MEETING.session_id, EVENTS), {CHAT_SOURCE: chat})
    chats = [e for e in json.loads(outputs.participant_events) if e["action"] == "chat_message"]
    assert [(e["participant"]["name"], e["data"]["to"]) for e in chats] == [
        ("Alice Ng", "everyone"),
        ("Alice Ng", "u-jose"),
        ("Newcomer", "everyone"),  # a sender nobody else named is a participant too
    ]
    assert "Newcomer" in [p["name"] for p in json.loads(outputs.participants)]


# -- one roster, one name per person, in every file --------------------------------------------------
def test_subtitles_and_text_name_speakers_as_the_roster_does() -> None:
    # Alice's row has a blank name, José's another name than his join webhook's, and the third
    # speaker is named nowhere: every file shows the roster's name ("Unknown speaker" when it has none).
    transcript = (
        b'"1200","peer-a1","u-alice","alice@example.com","","Good morning everyone."\n'
        b'"5400","peer-j1","u-jose","jose@example.com","Jose (phone)","Morning!"\n'
        b'"9000","peer-x1","u-ghost","","","Hello?"\n'
    )
    outputs = build_outputs(
        SessionFacts(MEETING.meeting_id, MEETING.session_id, EVENTS, [TRANSCRIPT_ARCHIVED]),
        {TRANSCRIPT_SOURCE: transcript},
    )
    names = ["Alice Ng", "José Müller", "Unknown speaker"]
    entries = json.loads(outputs.files["transcript/transcript.json"][0])
    assert [e["participant"]["name"] for e in entries] == ["Alice Ng", "José Müller", None]
    txt = outputs.files["transcript/transcript.txt"][0].decode()
    assert [line.split("] ", 1)[1].split(":", 1)[0] for line in txt.splitlines()] == names
    vtt = webvtt.from_buffer(io.StringIO(outputs.files["transcript/transcript.vtt"][0].decode()))
    assert [cue.text.split(":", 1)[0] for cue in vtt] == names
    cues = srt.parse(outputs.files["transcript/transcript.srt"][0].decode())
    assert [cue.content.split(":", 1)[0] for cue in cues] == names
    page = outputs.files["index.html"][0].decode()
    assert re.findall(r'<span class="who">([^<]*)</span>', page)[:3] == names
    (rows,) = [data for data, _ in outputs.index.values()]
    assert [json.loads(row)["speaker"] for row in rows.splitlines()] == ["Alice Ng", "José Müller", None]


def test_chat_events_embed_the_same_participant_reference_as_joins_and_chat_json() -> None:
    outputs = build_outputs(
        SessionFacts(MEETING.meeting_id, MEETING.session_id, EVENTS),
        {CHAT_SOURCE: MEETING.chat_csv()},
    )
    events = json.loads(outputs.participant_events)
    chats = [e for e in events if e["action"] == "chat_message"]
    assert chats
    reference_keys = {"custom_participant_id", "user_id", "peer_id"}
    for event in events:  # joins, leaves and chat messages alike: the per-entry reference
        assert set(event["participant"]["extra_data"]) == reference_keys, event["action"]
    chat_json = json.loads(outputs.files["chat/chat.json"][0])
    assert [e["participant"] for e in chats] == [m["participant"] for m in chat_json]
    alice = chats[0]["participant"]
    joined = next(
        e["participant"] for e in events if e["action"] == "join" and e["participant"]["id"] == alice["id"]
    )
    assert (alice["id"], alice["name"], alice["extra_data"]["user_id"]) == (
        joined["id"],
        joined["name"],
        joined["extra_data"]["user_id"],
    )
