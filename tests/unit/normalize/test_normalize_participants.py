"""People from join/leave webhooks and transcript speakers (shared.normalize.participants)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalize import (
    PresenceEvent,
    Speaker,
    UnknownParticipantError,
    build_roster,
    parse_transcript,
    participant_events_to_json,
    participants_to_json,
    speaker_timeline_to_json,
    transcript_to_json,
)
from shared.normalize.seed_models import ParticipantEventsDocument, ParticipantsDocument

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts"
SESSION_START = datetime(2026, 6, 3, 10, 0, 0, tzinfo=UTC)
MEETING = {"id": "meet-1", "sessionId": "sess-1", "startedAt": "2026-06-03T10:00:00.000Z"}


def joined(peer: str, cpi: str | None, name: str, at: str, **extra: Any) -> dict[str, Any]:
    participant = {"peerId": peer, "userDisplayName": name, "joinedAt": at, **extra}
    if cpi is not None:
        participant["customParticipantId"] = cpi
    return {"event": "meeting.participantJoined", "meeting": MEETING, "participant": participant}


def left(peer: str, cpi: str | None, name: str, joined_at: str, left_at: str) -> dict[str, Any]:
    body = joined(peer, cpi, name, joined_at)
    body["event"] = "meeting.participantLeft"
    body["participant"]["leftAt"] = left_at
    return body


# The people of realtimekit_tricky.csv: Ana leaves and rejoins with a new peer id; Bo joins;
# Sam joins but never speaks; Li speaks but no webhook ever said Li joined.
WEBHOOKS = [
    joined("peer-a1", "cust-ana", "José Ñúñez", "2026-06-03T10:00:01.000Z"),
    joined("peer-b1", "cust-bo", 'Bo "The Boss" O\'Neil, Jr.', "2026-06-03T10:00:02.000Z"),
    joined("peer-s1", "cust-sam", "Silent Sam", "2026-06-03T10:00:05.000Z"),
    left("peer-a1", "cust-ana", "José Ñúñez", "2026-06-03T10:00:01.000Z", "2026-06-03T10:00:07.000Z"),
    joined("peer-a2", "cust-ana", "José Ñúñez", "2026-06-03T10:00:08.000Z"),
]


def events(bodies: list[dict[str, Any]]) -> list[PresenceEvent]:
    return [PresenceEvent.from_webhook(body) for body in bodies]


def test_webhook_body_becomes_a_presence_event() -> None:
    event = PresenceEvent.from_webhook(WEBHOOKS[0])

    assert event.action == "join"
    assert event.at == datetime(2026, 6, 3, 10, 0, 1, tzinfo=UTC)
    assert event.speaker == Speaker(peer_id="peer-a1", custom_participant_id="cust-ana", name="José Ñúñez")


def test_leave_uses_left_at() -> None:
    event = PresenceEvent.from_webhook(WEBHOOKS[3])

    assert (event.action, event.at) == ("leave", datetime(2026, 6, 3, 10, 0, 7, tzinfo=UTC))


def test_deprecated_client_specific_id_is_read() -> None:
    body = joined("peer-x", None, "X", "2026-06-03T10:00:01Z", clientSpecificId="legacy-1")

    assert PresenceEvent.from_webhook(body).speaker.custom_participant_id == "legacy-1"


def test_leave_without_left_at_has_no_time() -> None:
    body = joined("peer-x", "c", "X", "2026-06-03T10:00:01Z")
    body["event"] = "meeting.participantLeft"

    event = PresenceEvent.from_webhook(body)

    assert event.at is None  # joinedAt is not the time they left


@pytest.mark.parametrize("body", [{"event": "meeting.started", "meeting": MEETING}, {"event": None}, {}])
def test_other_events_are_rejected(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a participant join/leave webhook"):
        PresenceEvent.from_webhook(body)


def test_rejoin_with_new_peer_id_is_the_same_person() -> None:
    roster = build_roster(events(WEBHOOKS))

    assert [(p.id, p.name, p.peer_ids) for p in roster.people] == [
        (1, "José Ñúñez", ("peer-a1", "peer-a2")),
        (2, 'Bo "The Boss" O\'Neil, Jr.', ("peer-b1",)),
        (3, "Silent Sam", ("peer-s1",)),
    ]


def test_participants_json_has_the_seed_shape_and_keeps_realtimekit_ids() -> None:
    body = participants_to_json(build_roster(events(WEBHOOKS)))

    people = ParticipantsDocument.validate_json(body)
    assert json.loads(body)[0] == {
        "id": 1,
        "name": "José Ñúñez",
        "is_host": None,
        "platform": "realtimekit",
        "extra_data": {
            "custom_participant_id": "cust-ana",
            "user_id": None,
            "peer_ids": ["peer-a1", "peer-a2"],
            "display_names": ["José Ñúñez"],
        },
        "email": None,
    }
    assert len(people) == 3


def test_ids_do_not_depend_on_arrival_order() -> None:
    expected_people = participants_to_json(build_roster(events(WEBHOOKS)))
    roster = build_roster(events(WEBHOOKS))
    expected_events = participant_events_to_json(events(WEBHOOKS), roster, session_started_at=SESSION_START)

    for order in itertools.permutations(WEBHOOKS):
        shuffled = events(list(order))
        shuffled_roster = build_roster(shuffled)
        assert participants_to_json(shuffled_roster) == expected_people
        assert (
            participant_events_to_json(shuffled, shuffled_roster, session_started_at=SESSION_START)
            == expected_events
        )


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(WEBHOOKS), min_size=1, max_size=12))
def test_duplicate_deliveries_change_nothing(deliveries: list[dict[str, Any]]) -> None:
    distinct = [body for body in WEBHOOKS if body in deliveries]
    once = build_roster(events(distinct))

    repeated = build_roster(events(deliveries))

    assert participants_to_json(repeated) == participants_to_json(once)
    assert participant_events_to_json(
        events(deliveries), repeated, session_started_at=SESSION_START
    ) == participant_events_to_json(events(distinct), once, session_started_at=SESSION_START)


def test_participant_events_json_has_the_seed_shape() -> None:
    roster = build_roster(events(WEBHOOKS))

    body = participant_events_to_json(events(WEBHOOKS), roster, session_started_at=SESSION_START)

    documents = ParticipantEventsDocument.validate_json(body)
    assert [(d.action, d.participant.id, d.timestamp.relative) for d in documents] == [
        ("join", 1, 1.0),
        ("join", 2, 2.0),
        ("join", 3, 5.0),
        ("leave", 1, 7.0),
        ("join", 1, 8.0),
    ]
    assert documents[3].timestamp.absolute == "2026-06-03T10:00:07.000000Z"
    assert all(d.data is None for d in documents)
    assert len({d.id for d in documents}) == 5


def test_event_relative_time_is_null_when_session_start_is_unknown() -> None:
    roster = build_roster(events(WEBHOOKS))

    documents = json.loads(participant_events_to_json(events(WEBHOOKS), roster, session_started_at=None))

    assert documents[0]["timestamp"] == {"absolute": "2026-06-03T10:00:01.000000Z", "relative": None}


def test_speakers_who_never_joined_by_webhook_are_participants_too() -> None:
    transcript = parse_transcript((FIXTURES / "realtimekit_tricky.csv").read_bytes())

    roster = build_roster(events(WEBHOOKS), transcript.speakers)

    assert [(p.id, p.name) for p in roster.people] == [
        (1, "José Ñúñez"),
        (2, 'Bo "The Boss" O\'Neil, Jr.'),
        (3, "Silent Sam"),
        (4, "李雷 🎤"),  # only in the transcript: after everyone the webhooks announced
    ]
    # The transcript's user ids join the webhook records through the shared custom participant id.
    assert roster.people[0].user_id == "user-a"
    ParticipantsDocument.validate_json(participants_to_json(roster))


def test_transcript_and_participants_share_ids_when_built_from_one_roster() -> None:
    transcript = parse_transcript((FIXTURES / "realtimekit_tricky.csv").read_bytes())
    roster = build_roster(events(WEBHOOKS), transcript.speakers)

    people = {p["id"]: p for p in json.loads(participants_to_json(roster))}
    entries = json.loads(transcript_to_json(transcript, roster))
    timeline = json.loads(speaker_timeline_to_json(transcript, roster))

    for item in entries + timeline:
        embedded, person = item["participant"], people[item["participant"]["id"]]
        assert {k: v for k, v in embedded.items() if k != "extra_data"} == {
            k: v for k, v in person.items() if k != "extra_data"
        }
        # The embedded copy names the one peer id of its record, which is one of the person's.
        assert embedded["extra_data"]["peer_id"] in person["extra_data"]["peer_ids"]
        for kind in ("custom_participant_id", "user_id"):
            assert embedded["extra_data"][kind] == person["extra_data"][kind]
    assert [t["participant"]["id"] for t in timeline] == [1, 2, 4, 1]


def test_peer_id_links_a_webhook_without_custom_id_to_a_transcript_speaker() -> None:
    webhook = events([joined("peer-9", None, "Nine", "2026-06-03T10:00:03Z")])
    speaker = Speaker(peer_id="peer-9", user_id="user-9", custom_participant_id="cust-9", name="Nine")

    roster = build_roster(webhook, [speaker])

    assert len(roster.people) == 1
    assert roster.person_for(speaker).custom_participant_id == "cust-9"


def test_speaker_missing_from_the_roster_is_an_error() -> None:
    roster = build_roster(events(WEBHOOKS))

    with pytest.raises(UnknownParticipantError):
        roster.person_for(Speaker(peer_id="nobody"))


def test_speakers_without_any_id_are_told_apart_by_name() -> None:
    roster = build_roster(speakers=[Speaker(name="Ann"), Speaker(name="Ben"), Speaker(name="Ann")])

    assert [(p.id, p.name) for p in roster.people] == [(1, "Ann"), (2, "Ben")]
