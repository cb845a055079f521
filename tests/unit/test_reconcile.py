"""Reconciliation without I/O: an in-memory RealtimeKit, session facts and a recording publisher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.realtimekit import ArtifactLink, RecordingInfo, SessionInfo, SessionParticipant
from shared.core.exceptions import RealtimeKitNotFound, RealtimeKitRateLimited
from shared.fanout.routing import RECONCILE_SIGNATURE_HEADER
from shared.ingest.envelope import WebhookDetail
from shared.ingest.events import (
    ChatSynced,
    MeetingSummary,
    MeetingTranscript,
    RecordingStatusUpdate,
    parse_event,
)
from shared.normalize.rest_participants import PARTICIPANTS_EVENT
from shared.reconcile.sweep import (
    missing_artifacts,
    reconcile_session,
    sessions_due,
    sweep_recent_sessions,
    synthesized_detail,
)
from shared.session.model import ArtifactRecord, ArtifactState, SeenEvent, SessionFacts

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
MEETING, SESSION = "m-1", "s-1"


@dataclass
class FakeRealtimeKit:
    recordings: list[RecordingInfo] = field(default_factory=list)
    links: dict[str, ArtifactLink] = field(default_factory=dict)  # kind -> link; absent: 404
    sessions: dict[str, SessionInfo] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    rate_limited_after: int | None = None
    participants: dict[str, list[SessionParticipant]] = field(default_factory=dict)
    windows: list[tuple[datetime | None, datetime | None]] = field(default_factory=list)

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if self.rate_limited_after is not None and len(self.calls) > self.rate_limited_after:
            raise RealtimeKitRateLimited("slow down", retry_after=10)

    def get_session(self, session_id: str) -> SessionInfo:
        self._call(f"session {session_id}")
        if session_id not in self.sessions:
            raise RealtimeKitNotFound("gone", status=404)
        return self.sessions[session_id]

    def list_sessions(
        self,
        meeting_id: str | None = None,
        *,
        status: str | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> list[SessionInfo]:
        self._call("list sessions")
        self.windows.append((start_time, end_time))
        return list(self.sessions.values())

    def list_recordings(
        self, meeting_id: str | None = None, *, start_time: datetime | None = None
    ) -> list[RecordingInfo]:
        self._call(f"recordings {meeting_id}")
        return [r for r in self.recordings if r.meeting_id == meeting_id]

    def list_participants(self, session_id: str) -> list[SessionParticipant]:
        self._call(f"participants {session_id}")
        return list(self.participants.get(session_id, []))

    def _link(self, kind: str, session_id: str) -> ArtifactLink:
        self._call(f"{kind} {session_id}")
        if kind not in self.links:
            raise RealtimeKitNotFound(f"no {kind}", status=404)
        return self.links[kind]

    def get_transcript(self, session_id: str) -> ArtifactLink:
        return self._link("transcript", session_id)

    def get_summary(self, session_id: str) -> ArtifactLink:
        return self._link("summary", session_id)

    def get_chat(self, session_id: str) -> ArtifactLink:
        return self._link("chat", session_id)


@dataclass
class FakeStore:
    facts: dict[tuple[str, str], SessionFacts] = field(default_factory=dict)

    def load(self, meeting_id: str, session_id: str) -> tuple[SessionFacts, int]:
        return self.facts.get((meeting_id, session_id), SessionFacts(meeting_id, session_id)), 1


@dataclass
class FakeBus:
    details: list[WebhookDetail] = field(default_factory=list)

    def publish(self, detail: WebhookDetail) -> str:
        self.details.append(detail)
        return "event-id"


def recording(rid: str, *, session: str = SESSION, status: str = "UPLOADED") -> RecordingInfo:
    return RecordingInfo(
        id=rid,
        status=status,
        meeting_id=MEETING,
        session_id=session,
        download_url=f"https://r2.example/{rid}.mp4",
        audio_download_url=f"https://r2.example/{rid}.mp3",
        download_url_expiry=NOW + timedelta(days=6),
        file_size=2044680,
        output_file_name="weekly.mp4",
        started_time=NOW - timedelta(hours=1),
        stopped_time=NOW - timedelta(minutes=30),
    )


def link(kind: str) -> ArtifactLink:
    return ArtifactLink(url=f"https://r2.example/{kind}", expiry=NOW + timedelta(days=6), session_id=SESSION)


def record(name: str, state: ArtifactState = ArtifactState.ARCHIVED) -> ArtifactRecord:
    return ArtifactRecord(name=name, kind="x", state=state, key=f"k/{name}")


def full_realtimekit() -> FakeRealtimeKit:
    return FakeRealtimeKit(
        recordings=[
            recording("rec-1"),
            recording("rec-other-session", session="s-2"),
            recording("rec-errored", status="ERRORED"),
        ],
        links={"transcript": link("transcript"), "chat": link("chat")},  # no summary: 404
    )


def test_missing_artifacts_are_what_realtimekit_has_and_the_record_lacks() -> None:
    client = full_realtimekit()
    facts = SessionFacts(MEETING, SESSION, artifacts=[record("chat/source")])
    missing = missing_artifacts(MEETING, SESSION, facts=facts, client=client)
    assert [(m.kind, m.name) for m in missing] == [
        ("recording", "recording/rec-1/video"),
        ("transcript", "transcript/source"),
    ]
    assert f"chat {SESSION}" not in client.calls, "what the record holds is not asked for"


def test_a_failed_record_is_final_and_not_enqueued_again() -> None:
    facts = SessionFacts(
        MEETING,
        SESSION,
        artifacts=[record("transcript/source", ArtifactState.FAILED), record("recording/rec-1/video")],
    )
    missing = missing_artifacts(MEETING, SESSION, facts=facts, client=full_realtimekit())
    assert [m.name for m in missing] == ["chat/source"]


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("recording", RecordingStatusUpdate),
        ("transcript", MeetingTranscript),
        ("chat", ChatSynced),
        ("summary", MeetingSummary),
    ],
)
def test_synthesized_bodies_parse_like_the_webhooks_they_stand_for(kind: str, model: type) -> None:
    client = full_realtimekit()
    client.links["summary"] = link("summary")
    facts = SessionFacts(MEETING, SESSION)
    (missing,) = [
        m for m in missing_artifacts(MEETING, SESSION, facts=facts, client=client) if m.kind == kind
    ]
    detail = synthesized_detail(missing, now=NOW)
    assert detail.valid, detail.parse_error
    assert (detail.meeting_id, detail.session_id) == (MEETING, SESSION)
    assert detail.delivery.signature_header == RECONCILE_SIGNATURE_HEADER
    event = parse_event(detail.payload)
    assert isinstance(event, model)
    if isinstance(event, RecordingStatusUpdate):
        assert event.recording.status == "UPLOADED"  # the recordings rule matches on it
        assert event.recording.download_url == "https://r2.example/rec-1.mp4"
        assert event.recording.file_size == 2044680


def test_reconcile_enqueues_once_then_finds_the_session_complete() -> None:
    client, store, bus = full_realtimekit(), FakeStore(), FakeBus()
    first = reconcile_session(
        MEETING,
        SESSION,
        store=store,
        client=client,
        publisher=bus,
        now=NOW,
        ended_at=NOW - timedelta(minutes=20),
    )
    assert first.outcome == "reconciled"
    assert [d.event for d in bus.details] == [
        "recording.statusUpdate",
        "meeting.transcript",
        "meeting.chatSynced",
    ]
    # The consumers archive them; the record now holds all three.
    store.facts[(MEETING, SESSION)] = SessionFacts(
        MEETING, SESSION, artifacts=[record(m.name) for m in first.enqueued]
    )
    second = reconcile_session(
        MEETING,
        SESSION,
        store=store,
        client=client,
        publisher=bus,
        now=NOW,
        ended_at=NOW - timedelta(minutes=20),
    )
    assert second.outcome == "complete"
    assert len(bus.details) == 3


def test_sessions_past_the_7_day_retention_are_left_alone() -> None:
    client, bus = full_realtimekit(), FakeBus()
    result = reconcile_session(
        MEETING,
        SESSION,
        store=FakeStore(),
        client=client,
        publisher=bus,
        now=NOW,
        ended_at=NOW - timedelta(days=8),
    )
    assert result.outcome == "expired"
    assert client.calls == []
    assert bus.details == []


def test_unknown_end_is_read_from_the_session_and_a_deleted_session_is_gone() -> None:
    client = full_realtimekit()
    assert (
        reconcile_session(
            MEETING, SESSION, store=FakeStore(), client=client, publisher=FakeBus(), now=NOW
        ).outcome
        == "gone"
    )
    client.sessions[SESSION] = SessionInfo(id=SESSION, meeting_id=MEETING, status="LIVE")
    assert (
        reconcile_session(
            MEETING, SESSION, store=FakeStore(), client=client, publisher=FakeBus(), now=NOW
        ).outcome
        == "live"
    )


def test_unsafe_ids_never_reach_a_key_or_the_api() -> None:
    client = full_realtimekit()
    result = reconcile_session(
        "../m", SESSION, store=FakeStore(), client=client, publisher=FakeBus(), now=NOW
    )
    assert result.outcome == "unsafe_id"
    assert client.calls == []


def session(sid: str, ended_ago: timedelta | None) -> SessionInfo:
    return SessionInfo(
        id=sid, meeting_id=MEETING, status="ENDED", ended_at=None if ended_ago is None else NOW - ended_ago
    )


def test_sweep_window_is_settled_and_within_retention_oldest_first() -> None:
    sessions = [
        session("too-new", timedelta(minutes=5)),
        session("day-old", timedelta(days=1)),
        session("week-old", timedelta(days=6, hours=23)),
        session("expired", timedelta(days=7, hours=1)),
        session("no-end", None),
    ]
    due = sessions_due(sessions, now=NOW, settle=timedelta(minutes=30), lookback=timedelta(days=30))
    assert [s.id for s in due] == ["week-old", "day-old"]


def test_sweep_is_bounded_and_stops_when_rate_limited() -> None:
    client = FakeRealtimeKit()
    for i in range(10):
        client.sessions[f"s-{i}"] = session(f"s-{i}", timedelta(hours=i + 1))
    report = sweep_recent_sessions(
        store=FakeStore(), client=client, publisher=FakeBus(), now=NOW, max_sessions=3
    )
    assert report.considered == 3
    assert report.stopped_early is not None
    assert "max_sessions" in report.stopped_early

    client.calls.clear()
    client.rate_limited_after = 6
    report = sweep_recent_sessions(store=FakeStore(), client=client, publisher=FakeBus(), now=NOW)
    assert report.stopped_early == "RealtimeKitRateLimited"
    assert len(report.errors) == 1
    assert len(client.calls) == 7, "no call after the first 429"


def test_sweep_finds_sessions_whose_every_webhook_was_lost() -> None:
    client = full_realtimekit()
    client.sessions[SESSION] = session(SESSION, timedelta(hours=2))
    bus = FakeBus()
    report = sweep_recent_sessions(store=FakeStore(), client=client, publisher=bus, now=NOW)
    assert report.enqueued == 3
    assert {d.session_id for d in bus.details} == {SESSION}


def test_sweep_lists_only_the_window_with_the_documented_time_filters() -> None:
    # Seed 003, "Fetch all sessions of an App":
    # "client.realtimeKit.sessions.getSessions(stringappId, SessionGetSessionsParams { account_id,
    #  associated_id, end_time, 8 more } params, ...)"
    client = FakeRealtimeKit()
    sweep_recent_sessions(store=FakeStore(), client=client, publisher=FakeBus(), now=NOW)
    assert client.windows == [(NOW - timedelta(days=8), NOW - timedelta(minutes=30))]


def test_participants_are_read_once_and_enqueued_as_one_event_per_page() -> None:
    # Seed 003: "GET/accounts/{account_id}/realtime/kit/{app_id}/sessions/{session_id}/participants"
    # with "joined_at?: string", "left_at?: string", "duration?: number", "preset_name?: string"
    client = FakeRealtimeKit()
    client.participants[SESSION] = [
        SessionParticipant(
            id=f"peer-{i:03d}",
            display_name=f"P{i}",
            user_id=f"u-{i}",
            joined_at=NOW - timedelta(hours=1, seconds=-i),
            left_at=NOW - timedelta(minutes=31),
            preset_name="group_call_participant",
            duration=29.0,
        )
        for i in range(150)
    ]
    facts = SessionFacts(MEETING, SESSION)
    missing = missing_artifacts(MEETING, SESSION, facts=facts, client=client, kinds=("participants",))

    assert [(m.kind, m.name, m.event) for m in missing] == [
        ("participants", "participants/1", PARTICIPANTS_EVENT),
        ("participants", "participants/2", PARTICIPANTS_EVENT),
    ]
    assert [len(m.payload["participants"]) for m in missing] == [100, 50]
    first = missing[0].payload["participants"][0]
    assert first == {
        "id": "peer-000",
        "user_id": "u-0",
        "custom_participant_id": None,
        "display_name": "P0",
        "preset_name": "group_call_participant",
        "joined_at": "2026-06-03T11:00:00.000000Z",
        "left_at": "2026-06-03T11:29:00.000000Z",
        "duration": 29.0,
    }
    detail = synthesized_detail(missing[0], now=NOW)
    assert (detail.valid, detail.meeting_id, detail.session_id) == (True, MEETING, SESSION)

    # Once the record holds the list, it is not asked for again.
    facts.events.append(SeenEvent("d", PARTICIPANTS_EVENT, missing[0].payload, synthesized=True))
    client.calls.clear()
    assert missing_artifacts(MEETING, SESSION, facts=facts, client=client, kinds=("participants",)) == []
    assert client.calls == []
