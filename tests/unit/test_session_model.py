"""session.json and the participant files depend on the set of facts only, not on their order."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from local.sample_meeting import SampleMeeting
from shared.normalize.participants import Speaker
from shared.session.model import ArtifactRecord, ArtifactState, SeenEvent, SessionFacts, build_outputs

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
