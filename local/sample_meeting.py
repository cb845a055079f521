"""A recorded sample meeting for the demo and the end-to-end tests: the files RealtimeKit would
host and the webhooks it would send, in a realistic order (started, joins, recording states,
a rejoin, leaves, ended, then the artifacts as they become ready)."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# One MPEG-1 Layer III frame, 32 kbit/s, 44.1 kHz, mono, all-zero side info: 1,152 samples of silence.
# Repeated, it makes an MP3 that browsers really play and seek (26 ms a frame, ~2 min per 512 KiB).
_SILENT_MP3_FRAME = b"\xff\xfb\x10\xc0" + bytes(144 * 32_000 // 44_100 - 4)


def generated_media(size: int, *, kind: str, seed: str) -> bytes:
    """Deterministic bytes that start like the media type they stand for (sniffers see media).
    The MP3 is real silence (playable); the MP4 only looks like one."""
    if kind == "mp3":
        header = b"ID3\x04\x00\x00\x00\x00\x00\x00"
        frames = _SILENT_MP3_FRAME * (size // len(_SILENT_MP3_FRAME) + 1)
        return (header + frames)[:size]
    header = (
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
        if kind == "mp4"
        else b"ID3\x04\x00\x00\x00\x00\x00\x00"
    )
    block = b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(2048))  # 64 KiB
    body = (block * (size // len(block) + 1))[: max(0, size - len(header))]
    return (header + body)[:size]


# The RealtimeKit app the sample meeting belongs to (``organizedBy.id`` / ``organizationId`` in its
# webhooks): local mode's default ``--app-id``.
SAMPLE_APP_ID = "c94c437b-592a-4a39-b9e2-47ef1451e43b"


@dataclass(frozen=True)
class Person:
    name: str
    user_id: str
    custom_participant_id: str
    peer_ids: tuple[str, ...]


@dataclass
class SampleMeeting:
    meeting_id: str = "bbb0f2a4-5c3e-4d7a-9a51-6d2e8f1c0a11"
    session_id: str = "5e55a0d1-7f42-4b6c-8e0a-3c9d2b7e4f10"
    recording_id: str = "97cb480d-5840-4528-ace3-919b5e386c68"
    title: str = "Weekly sync — Q3 planning"
    started_at: datetime = field(default_factory=lambda: datetime(2026, 6, 3, 10, 0, 0, tzinfo=UTC))
    recording_bytes: int = 3 * 1024 * 1024 + 12345
    audio_bytes: int = 512 * 1024 + 7
    # True: the meeting was created with summarize_on_end, so RealtimeKit sends meeting.summary by
    # itself; False: the summary comes only when the pipeline asks for one (summary mode realtimekit).
    summarize_on_end: bool = True
    people: tuple[Person, ...] = (
        Person("Alice Ng", "u-alice", "alice@example.com", ("peer-a1",)),
        Person("José Müller", "u-jose", "jose@example.com", ("peer-j1", "peer-j2")),  # rejoins
        Person('Chen "CJ" Jie', "u-chen", "chen@example.com", ("peer-c1",)),
    )

    @property
    def ended_at(self) -> datetime:
        return self.started_at + timedelta(minutes=30)

    @property
    def recording_started_at(self) -> datetime:
        """The recording starts 2 s after the session (the time base of the normalized files)."""
        return self.started_at + timedelta(seconds=2)

    def stints(self) -> list[tuple[Person, int, int, int]]:
        """(person, peer index, joined s, left s) of every join, in join order: what the join and
        leave webhooks say and what ``GET /sessions/{id}/participants`` lists."""
        alice, jose, chen = self.people
        return [(alice, 0, 0, 1800), (jose, 0, 3, 20), (chen, 0, 9, 1790), (jose, 1, 21, 1795)]

    # -- files RealtimeKit would host ---------------------------------------------------------
    def files(self) -> dict[str, tuple[bytes, str]]:
        return {
            "recording.mp4": (
                generated_media(self.recording_bytes, kind="mp4", seed=self.recording_id),
                "video/mp4",
            ),
            "recording.mp3": (
                generated_media(self.audio_bytes, kind="mp3", seed=self.recording_id),
                "audio/mpeg",
            ),
            "transcript.csv": (self.transcript_csv(), "text/csv"),
            "summary.md": (self.summary_markdown(), "text/markdown"),
            "chat.csv": (self.chat_csv(), "text/csv"),
        }

    def transcript_csv(self) -> bytes:
        """RealtimeKit's header-less CSV: start ms, peer id, user id, custom participant id, name, text."""
        alice, jose, chen = self.people
        rows = [
            (1200, alice, 0, "Good morning everyone, let's get started."),
            (5400, jose, 0, "Morning! I have the numbers from last week, finally."),
            (11800, chen, 0, 'Quick note: the "beta" flag ships Friday, not Thursday.'),
            (17250, alice, 0, "Great. José, can you walk us through the numbers?"),
            (22900, jose, 1, "Sure — revenue is up 12%, churn is flat, and NPS went from 41 to 47."),
            (31400, chen, 0, "Nice. Let's make sure the dashboard, the docs, and the FAQ agree."),
            (38600, alice, 0, "Action item for Chen: update the FAQ by Wednesday. Thanks all!"),
        ]
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for ms, person, peer, text in rows:
            writer.writerow(
                [ms, person.peer_ids[peer], person.user_id, person.custom_participant_id, person.name, text]
            )
        return out.getvalue().encode()

    def summary_markdown(self) -> bytes:
        return (
            b"## Key Discussion Points\n"
            b"- Revenue is up 12%, churn is flat, NPS rose from 41 to 47.\n"
            b'- The "beta" flag ships Friday.\n\n'
            b"## Action Items\n"
            b"- Chen: update the FAQ by Wednesday.\n\n"
            b"## Decisions Made\n"
            b"- Keep the dashboard, docs and FAQ consistent before the release.\n"
        )

    def chat_csv(self) -> bytes:
        alice, jose, chen = self.people
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "id",
                "participantId",
                "sessionId",
                "meetingId",
                "displayName",
                "pinned",
                "isEdited",
                "payloadType",
                "payload",
                "createdAt",
            ]
        )
        messages = [
            ("msg-1", alice, "TEXT_MESSAGE", "Agenda: numbers, release, FAQ", 30, True, False),
            ("msg-2", jose, "TEXT_MESSAGE", 'Numbers are in the sheet, see tab "Q3, final"', 95, False, True),
            ("msg-3", chen, "FILE_MESSAGE", '{"name":"faq-draft.pdf","size":48213}', 400, False, False),
        ]
        for mid, person, kind, payload, offset, pinned, edited in messages:
            writer.writerow(
                [
                    mid,
                    person.peer_ids[0],
                    self.session_id,
                    self.meeting_id,
                    person.name,
                    str(pinned).lower(),
                    str(edited).lower(),
                    kind,
                    payload,
                    _iso(self.started_at + timedelta(seconds=offset)),
                ]
            )
        return out.getvalue().encode()

    # -- webhooks RealtimeKit would send -------------------------------------------------------
    def _meeting(self, *, ended: bool = False) -> dict[str, Any]:
        meeting: dict[str, Any] = {
            "id": self.meeting_id,
            "sessionId": self.session_id,
            "title": self.title,
            "status": "LIVE",
            "createdAt": _iso(self.started_at - timedelta(minutes=5)),
            "startedAt": _iso(self.started_at),
            "organizedBy": {"id": SAMPLE_APP_ID, "name": "Example organization"},
        }
        if ended:
            meeting["endedAt"] = _iso(self.ended_at)
        return meeting

    def _participant(
        self, event: str, person: Person, peer: int, joined: int, left: int | None = None
    ) -> dict[str, Any]:
        participant: dict[str, Any] = {
            "peerId": person.peer_ids[peer],
            "userDisplayName": person.name,
            "customParticipantId": person.custom_participant_id,
            "clientSpecificId": person.custom_participant_id,
            "joinedAt": _iso(self.started_at + timedelta(seconds=joined)),
        }
        if left is not None:
            participant["leftAt"] = _iso(self.started_at + timedelta(seconds=left))
        return {"event": event, "meeting": self._meeting(), "participant": participant}

    def _recording(self, status: str, urls: dict[str, str] | None = None) -> dict[str, Any]:
        recording: dict[str, Any] = {
            "id": self.recording_id,
            "recordingId": self.recording_id,
            "status": status,
            "meetingId": self.meeting_id,
            "organizationId": SAMPLE_APP_ID,
            "roomUUID": self.session_id,
            "startedTime": _iso(self.recording_started_at),
            "outputFileName": "weekly-sync.mp4",
        }
        if status in {"UPLOADING", "UPLOADED"}:
            recording["stoppedTime"] = _iso(self.ended_at)
            recording["fileSize"] = str(self.recording_bytes)
        if status == "UPLOADED" and urls is not None:
            recording.update(
                {
                    "downloadUrl": urls["recording.mp4"],
                    "audioDownloadUrl": urls["recording.mp3"],
                    "downloadUrlExpiry": _iso(self.ended_at + timedelta(days=7)),
                    "recordingDuration": 1798,
                    "stopReason": "{'reason':'ALL_PEERS_LEFT','caller':{'type':'INTERNAL'}}",
                }
            )
        return {"event": "recording.statusUpdate", "recording": recording, "meeting": self._meeting()}

    def summary_webhook(self, urls: dict[str, str]) -> dict[str, Any]:
        """``meeting.summary`` (nested form): sent on its own with ``summarize_on_end``, or by the
        stand-in after the pipeline asked for a summary (``POST /sessions/{id}/summary``)."""
        return {
            "event": "meeting.summary",
            "meeting": {
                "id": self.meeting_id,
                "sessionId": self.session_id,
                "organizedBy": self._meeting()["organizedBy"],
            },
            "summaryDownloadUrl": urls["summary.md"],
            "summaryDownloadUrlExpiry": _iso(self.ended_at + timedelta(days=7)),
        }

    def webhooks(self, urls: dict[str, str]) -> list[dict[str, Any]]:
        alice, jose, chen = self.people
        expiry = _iso(self.ended_at + timedelta(days=7))
        return [
            {"event": "meeting.started", "meeting": self._meeting()},
            self._participant("meeting.participantJoined", alice, 0, 0),
            self._participant("meeting.participantJoined", jose, 0, 3),
            self._recording("RECORDING"),
            self._participant("meeting.participantJoined", chen, 0, 9),
            self._participant("meeting.participantLeft", jose, 0, 3, left=20),
            self._participant("meeting.participantJoined", jose, 1, 21),
            self._participant("meeting.participantLeft", chen, 0, 9, left=1790),
            self._participant("meeting.participantLeft", jose, 1, 21, left=1795),
            self._participant("meeting.participantLeft", alice, 0, 0, left=1800),
            self._recording("UPLOADING"),
            {
                "event": "meeting.ended",
                "meeting": self._meeting(ended=True),
                "reason": "ALL_PARTICIPANTS_LEFT",
            },
            self._recording("UPLOADED", urls),
            {
                "event": "meeting.transcript",
                "meeting": self._meeting(ended=True),
                "transcriptDownloadUrl": urls["transcript.csv"],
                "transcriptDownloadUrlExpiry": expiry,
            },
            *([self.summary_webhook(urls)] if self.summarize_on_end else []),
            {
                "event": "meeting.chatSynced",
                "sessionId": self.session_id,
                "meetingId": self.meeting_id,
                "title": self.title,
                "chatDownloadUrl": urls["chat.csv"],
                "chatDownloadUrlExpiry": expiry,
                "createdAt": _iso(self.started_at - timedelta(minutes=5)),
                "startedAt": _iso(self.started_at),
                "endedAt": _iso(self.ended_at),
                "organizedBy": self._meeting()["organizedBy"],
            },
        ]
