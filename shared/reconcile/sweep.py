"""Reconciliation: webhooks sometimes never arrive, so ask RealtimeKit what a session should have
and put whatever the archive lacks on the bus, where the normal consumers archive it.

What "should have" means: every recording of the session with status UPLOADED, and the
transcript, summary and chat export that RealtimeKit's REST API answers for the session (404 means
there is none, or none yet). What "has" means: the session record (DynamoDB) holds a record of the
artifact, archived *or* failed: a failed record is a final answer (an empty transcript, a file
RealtimeKit deleted), not something another download would change; transient failures are never
recorded, they stay in their queue or its DLQ.

Each missing artifact becomes a synthesized webhook body of the event RealtimeKit would have sent
(``recording.statusUpdate`` UPLOADED, ``meeting.transcript``, ``meeting.summary``,
``meeting.chatSynced``) with the fresh download URLs from the REST answer, published through
``build_detail`` + ``EventPublisher`` with ``signatureHeader`` = ``"reconcile"``. The artifact rules
route it to the same consumers as a real delivery; the sessions rule leaves it out (``events/``
keeps only bodies RealtimeKit sent and signed). Consumers are idempotent per artifact, so a sweep
that overlaps a late webhook, or two sweeps of one session, download nothing twice.

Bounded: nothing is asked about a session that ended more than ``RETENTION`` (7 days) ago, since
RealtimeKit has deleted its files by then.

``missing_artifacts`` and ``reconcile_session`` are reusable (the operator CLI's backfill can call
them); ``sweep_recent_sessions`` is the scheduled backstop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal, Protocol

from pydantic import Field

from shared.adapters.realtimekit import (
    ArtifactLink,
    RealtimeKitClient,
    RecordingInfo,
    SessionInfo,
    SessionParticipant,
)
from shared.archive.keys import is_safe_id
from shared.core.config import _Settings
from shared.core.exceptions import (
    RealtimeKitError,
    RealtimeKitNotFound,
    RealtimeKitRateLimited,
    RealtimeKitUnavailable,
)
from shared.fanout.routing import RECONCILE_SIGNATURE_HEADER
from shared.ingest.envelope import WebhookDetail, build_detail
from shared.normalize.rest_participants import PARTICIPANTS_EVENT, participants_payloads
from shared.session.model import CHAT_SOURCE, TRANSCRIPT_SOURCE, SessionFacts
from shared.session.rebuild import PendingSessions, RebuildRequests, request_stale_rebuilds

RETENTION = timedelta(days=7)
# The session list is asked for sessions that *started* in the window (``start_time`` /
# ``end_time``, API reference "Fetch all sessions of an App"); a session that ended in the window
# may have started up to this much earlier.
LONGEST_SESSION = timedelta(days=1)
# Recordings of a session are invoked after it started; a little slack for clock skew.
RECORDING_SLACK = timedelta(hours=1)
ArtifactKind = Literal["recording", "transcript", "summary", "chat", "participants"]
PARTICIPANTS_NAME = "participants"
SESSION_ARTIFACT_NAMES: dict[str, str] = {
    "transcript": TRANSCRIPT_SOURCE,
    "summary": "summary/summary",  # shared.archive.session_artifacts.SUMMARY (not imported: it pulls in Powertools)
    "chat": CHAT_SOURCE,
}
SESSION_ARTIFACT_KINDS: tuple[ArtifactKind, ...] = ("transcript", "summary", "chat")


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _compact(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}


# -- pure domain -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MissingArtifact:
    """An artifact RealtimeKit has and the archive lacks, with the webhook body that fetches it."""

    kind: ArtifactKind
    name: str  # the session record's artifact name, e.g. "recording/<id>/video", "transcript/source"
    payload: dict[str, Any]

    @property
    def event(self) -> str:
        return str(self.payload["event"])


def recorded_names(facts: SessionFacts) -> set[str]:
    """Names of every artifact the session record holds, archived or failed (both are final)."""
    return {artifact.name for artifact in facts.artifacts}


def recording_record_name(recording_id: str) -> str:
    return f"recording/{recording_id}/video"


def recording_payload(meeting_id: str, session_id: str, info: RecordingInfo) -> dict[str, Any]:
    """The ``recording.statusUpdate`` UPLOADED body RealtimeKit would have sent for ``info``."""
    recording = _compact(
        {
            "id": info.id,
            "recordingId": info.id,
            "status": "UPLOADED",
            "downloadUrl": info.download_url,
            "audioDownloadUrl": info.audio_download_url,
            "downloadUrlExpiry": _iso(info.download_url_expiry),
            "fileSize": info.file_size,
            "outputFileName": info.output_file_name,
            "meetingId": meeting_id,
            "roomUUID": session_id,
            "startedTime": _iso(info.started_time),
            "stoppedTime": _iso(info.stopped_time),
            "recordingDuration": info.recording_duration,
        }
    )
    return {
        "event": "recording.statusUpdate",
        "recording": recording,
        "meeting": {"id": meeting_id, "sessionId": session_id},
    }


def link_payload(
    kind: ArtifactKind,
    meeting_id: str,
    session_id: str,
    link: ArtifactLink,
    *,
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """The ``meeting.transcript`` / ``meeting.summary`` / ``meeting.chatSynced`` body for a link."""
    expiry = _iso(link.expiry)
    meeting = _compact({"id": meeting_id, "sessionId": session_id, "startedAt": _iso(started_at)})
    if kind == "transcript":
        return _compact(
            {
                "event": "meeting.transcript",
                "meeting": meeting,
                "transcriptDownloadUrl": link.url,
                "transcriptDownloadUrlExpiry": expiry,
            }
        )
    if kind == "summary":
        return _compact(
            {
                "event": "meeting.summary",
                "meeting": meeting,
                "summaryDownloadUrl": link.url,
                "summaryDownloadUrlExpiry": expiry,
            }
        )
    if kind == "chat":
        return _compact(
            {
                "event": "meeting.chatSynced",
                "meetingId": meeting_id,
                "sessionId": session_id,
                "startedAt": _iso(started_at),
                "chatDownloadUrl": link.url,
                "chatDownloadUrlExpiry": expiry,
            }
        )
    raise ValueError(f"no link payload for {kind!r}")


def within_retention(ended_at: datetime | None, now: datetime) -> bool:
    """RealtimeKit keeps files 7 days after the session; an unknown end counts as recent."""
    if ended_at is None:
        return True
    ended_at = ended_at if ended_at.tzinfo else ended_at.replace(tzinfo=UTC)
    return now - ended_at <= RETENTION


# -- what RealtimeKit has --------------------------------------------------------------------------
class RealtimeKitInventory(Protocol):
    """The REST calls reconciliation makes (``RealtimeKitClient`` satisfies it)."""

    def get_session(self, session_id: str) -> SessionInfo: ...

    def list_recordings(
        self, meeting_id: str | None = None, *, start_time: datetime | None = None
    ) -> list[RecordingInfo]: ...

    def list_participants(self, session_id: str) -> list[SessionParticipant]: ...

    def get_transcript(self, session_id: str) -> ArtifactLink: ...

    def get_summary(self, session_id: str) -> ArtifactLink: ...

    def get_chat(self, session_id: str) -> ArtifactLink: ...


def _link_of(client: RealtimeKitInventory, kind: ArtifactKind, session_id: str) -> ArtifactLink | None:
    """The REST answer for one session artifact, or None when RealtimeKit has none (404)."""
    fetch: Callable[[str], ArtifactLink] = {
        "transcript": client.get_transcript,
        "summary": client.get_summary,
        "chat": client.get_chat,
    }[kind]
    try:
        return fetch(session_id)
    except RealtimeKitNotFound:
        return None


def missing_artifacts(
    meeting_id: str,
    session_id: str,
    *,
    facts: SessionFacts,
    client: RealtimeKitInventory,
    started_at: datetime | None = None,
    kinds: Iterable[ArtifactKind] = ("recording", *SESSION_ARTIFACT_KINDS, "participants"),
) -> list[MissingArtifact]:
    """What RealtimeKit has for the session and its record lacks. Asks only about artifacts the
    record does not already hold (a complete session costs one list call), and for the participant
    list (``GET /sessions/{id}/participants``) until the record has it, so ``participants.json``
    names people whose join webhook was lost. Raises
    ``RealtimeKitError`` subclasses for REST failures other than 404 (the caller retries)."""
    present = recorded_names(facts)
    wanted = set(kinds)
    missing: list[MissingArtifact] = []
    if "recording" in wanted:
        since = started_at - RECORDING_SLACK if started_at is not None else None
        for info in client.list_recordings(meeting_id, start_time=since):
            if info.status != "UPLOADED" or not is_safe_id(info.id):
                continue
            if info.session_id != session_id:
                continue  # another session of the same meeting (room), or one we cannot attribute
            name = recording_record_name(info.id)
            if name not in present:
                missing.append(
                    MissingArtifact("recording", name, recording_payload(meeting_id, session_id, info))
                )
    for kind in SESSION_ARTIFACT_KINDS:
        name = SESSION_ARTIFACT_NAMES[kind]
        if kind not in wanted or name in present:
            continue
        link = _link_of(client, kind, session_id)
        if link is not None:
            missing.append(
                MissingArtifact(
                    kind, name, link_payload(kind, meeting_id, session_id, link, started_at=started_at)
                )
            )
    if "participants" in wanted and not has_rest_participants(facts):
        # Once per session: the list of an ended session does not change.
        people = client.list_participants(session_id)
        missing.extend(
            MissingArtifact("participants", f"{PARTICIPANTS_NAME}/{page}", payload)
            for page, payload in enumerate(participants_payloads(meeting_id, session_id, people), start=1)
        )
    return missing


def has_rest_participants(facts: SessionFacts) -> bool:
    """The record already holds the participant list read from the REST API."""
    return any(seen.event == PARTICIPANTS_EVENT for seen in facts.events)


# -- reconciling one session -----------------------------------------------------------------------
class SessionFactsSource(Protocol):
    def load(self, meeting_id: str, session_id: str) -> tuple[SessionFacts, int]: ...


class CompletionAnnouncer(Protocol):
    def announce_session(self, meeting_id: str, session_id: str, *, confirmed: bool) -> object: ...


class Publisher(Protocol):
    def publish(self, detail: WebhookDetail) -> str: ...


Outcome = Literal["reconciled", "complete", "expired", "gone", "live", "unsafe_id", "erased"]


@dataclass(frozen=True)
class ReconcileResult:
    meeting_id: str
    session_id: str
    outcome: Outcome
    enqueued: tuple[MissingArtifact, ...] = ()

    @property
    def enqueued_names(self) -> list[str]:
        return [m.name for m in self.enqueued]


def synthesized_detail(missing: MissingArtifact, *, now: datetime) -> WebhookDetail:
    """The bus detail of a reconciliation event: parsed exactly like a webhook, marked as ours."""
    body = json.dumps(missing.payload, separators=(",", ":"), ensure_ascii=False).encode()
    return build_detail(
        body,
        received_at=now,
        delivery_id=f"reconcile:{missing.name}",
        webhook_id=None,
        signature_header=RECONCILE_SIGNATURE_HEADER,
    )


def reconcile_session(
    meeting_id: str,
    session_id: str,
    *,
    store: SessionFactsSource,
    client: RealtimeKitInventory,
    publisher: Publisher,
    now: datetime | None = None,
    ended_at: datetime | None = None,
    started_at: datetime | None = None,
    session_known: bool = False,
) -> ReconcileResult:
    """Enqueue every artifact of the session that RealtimeKit has and the archive lacks.

    ``ended_at`` / ``started_at`` come from the trigger (the ``meeting.ended`` body or the session
    list); without ``ended_at`` (and unless ``session_known``), RealtimeKit's session details are read
    to learn whether the session ended and when. Idempotent: running it again enqueues the same
    artifacts only while they are still missing, and the consumers archive each one once."""
    now = now or datetime.now(UTC)
    if not (is_safe_id(meeting_id) and is_safe_id(session_id)):
        return ReconcileResult(meeting_id, session_id, "unsafe_id")
    if ended_at is None and not session_known:
        try:
            info = client.get_session(session_id)
        except RealtimeKitNotFound:
            return ReconcileResult(meeting_id, session_id, "gone")
        if info.status == "LIVE" and info.ended_at is None:
            return ReconcileResult(meeting_id, session_id, "live")
        ended_at, started_at = info.ended_at, started_at or info.started_at
    if not within_retention(ended_at, now):
        return ReconcileResult(meeting_id, session_id, "expired")
    facts, _ = store.load(meeting_id, session_id)
    if facts.erased:  # `meeting-vault forget` erased it: the sweep must not bring it back
        return ReconcileResult(meeting_id, session_id, "erased")
    missing = missing_artifacts(meeting_id, session_id, facts=facts, client=client, started_at=started_at)
    for item in missing:
        publisher.publish(synthesized_detail(item, now=now))
    return ReconcileResult(meeting_id, session_id, "reconciled" if missing else "complete", tuple(missing))


# -- the scheduled backstop ------------------------------------------------------------------------
class SessionLister(RealtimeKitInventory, Protocol):
    def list_sessions(
        self,
        meeting_id: str | None = None,
        *,
        status: Literal["LIVE", "ENDED"] | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> list[SessionInfo]: ...


@dataclass
class SweepReport:
    considered: int = 0
    results: list[ReconcileResult] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (session id, error)
    stopped_early: str | None = None
    stale_rebuilds: list[tuple[str, str]] = field(default_factory=list)  # (meeting id, session id)

    @property
    def enqueued(self) -> int:
        return sum(len(r.enqueued) for r in self.results)


def sessions_due(
    sessions: Iterable[SessionInfo], *, now: datetime, settle: timedelta, lookback: timedelta
) -> list[SessionInfo]:
    """Ended sessions old enough for their webhooks to have arrived (``settle``) and young enough
    for RealtimeKit to still have their files (``lookback``, at most the 7-day retention); oldest
    first, since they are the nearest to losing their files."""
    lookback = min(lookback, RETENTION)
    due = [
        s
        for s in sessions
        if s.ended_at is not None
        and s.meeting_id
        and now - lookback <= s.ended_at.astimezone(UTC) <= now - settle
    ]
    return sorted(due, key=lambda s: (s.ended_at, s.id))


def sweep_recent_sessions(
    *,
    store: SessionFactsSource,
    client: SessionLister,
    publisher: Publisher,
    now: datetime | None = None,
    settle: timedelta = timedelta(minutes=30),
    lookback: timedelta = RETENTION,
    max_sessions: int = 200,
    time_left: Callable[[], float] = lambda: float("inf"),
    min_seconds_left: float = 20.0,
) -> SweepReport:
    """Reconcile every session RealtimeKit lists as ended within the window, at most
    ``max_sessions`` per run, stopping early when the time budget runs low or RealtimeKit
    rate-limits or fails us (the next scheduled run continues). Sessions this pipeline never heard
    of are included: that is how a session whose every webhook was lost gets archived."""
    now = now or datetime.now(UTC)
    report = SweepReport()
    # Only the window is listed (the API's start_time/end_time filters), so the cost follows the
    # last 7 days, not the App's whole history.
    listed = client.list_sessions(
        status="ENDED",
        start_time=now - min(lookback, RETENTION) - LONGEST_SESSION,
        end_time=now - settle,
    )
    due = sessions_due(listed, now=now, settle=settle, lookback=lookback)
    for info in due[:max_sessions]:
        if time_left() < min_seconds_left:
            report.stopped_early = "time budget"
            break
        assert info.meeting_id is not None
        report.considered += 1
        try:
            result = reconcile_session(
                info.meeting_id,
                info.id,
                store=store,
                client=client,
                publisher=publisher,
                now=now,
                ended_at=info.ended_at,
                started_at=info.started_at,
            )
        except (RealtimeKitRateLimited, RealtimeKitUnavailable) as exc:
            report.errors.append((info.id, str(exc)))
            report.stopped_early = type(exc).__name__
            break
        except RealtimeKitError as exc:  # one session's odd answer must not stop the sweep
            report.errors.append((info.id, str(exc)))
            continue
        report.results.append(result)
    if len(due) > max_sessions and report.stopped_early is None:
        report.stopped_early = f"max_sessions ({max_sessions} of {len(due)})"
    return report


# -- configuration and the reconcile function's collaborators ----------------------------------------------------------------------
class ReconcileSettings(_Settings):
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    sessions_table: str = Field(alias="SESSIONS_TABLE", min_length=3)
    # Backstop: how long after its end a session is first swept, how far back, how many per run.
    settle_minutes: int = Field(default=30, alias="RECONCILE_SETTLE_MINUTES", ge=0, le=24 * 60)
    lookback_hours: int = Field(default=7 * 24, alias="RECONCILE_LOOKBACK_HOURS", ge=1, le=7 * 24)
    max_sessions: int = Field(default=200, alias="RECONCILE_MAX_SESSIONS", ge=1, le=5000)


@cache
def reconcile_settings() -> ReconcileSettings:
    return ReconcileSettings.from_env()


@dataclass(frozen=True)
class Reconciler:
    """What the reconcile function needs, built once per execution environment."""

    settings: ReconcileSettings
    store: SessionFactsSource
    publisher: Publisher
    client: Callable[[], RealtimeKitClient]
    # session.archived when RealtimeKit has nothing more for a session (once per state).
    announcer: CompletionAnnouncer | None = None
    # Rebuilds of the session files (``shared.session.rebuild``); None where there is no rebuild queue.
    rebuilds: RebuildRequests | None = None
    pending: PendingSessions | None = None
    stale_rebuild_seconds: float = 150.0

    def session(
        self, meeting_id: str, session_id: str, *, ended_at: datetime | None, started_at: datetime | None
    ) -> ReconcileResult:
        result = reconcile_session(
            meeting_id,
            session_id,
            store=self.store,
            client=self.client(),
            publisher=self.publisher,
            ended_at=ended_at,
            started_at=started_at,
        )
        self._finished(result)
        self._announce([result])
        return result

    def _announce(self, results: Iterable[ReconcileResult]) -> None:
        if self.announcer is None:
            return
        for result in results:
            if result.outcome == "complete":
                self.announcer.announce_session(result.meeting_id, result.session_id, confirmed=True)

    def _finished(self, result: ReconcileResult) -> None:
        """The sweep is done with a session: rebuild its files now (a no-op when they are current)."""
        if self.rebuilds is not None and result.outcome in ("reconciled", "complete"):
            self.rebuilds.request(result.meeting_id, result.session_id, delay_seconds=0)

    def sweep(self, *, time_left: Callable[[], float], now: float | None = None) -> SweepReport:
        settings = self.settings
        stale: list[tuple[str, str]] = []
        if self.rebuilds is not None and self.pending is not None:
            # First, and whatever RealtimeKit answers: rebuilds whose request was lost or dead-lettered.
            stale = request_stale_rebuilds(
                self.pending,
                self.rebuilds,
                now=time.time() if now is None else now,
                stale_after_seconds=self.stale_rebuild_seconds,
            )
        report = sweep_recent_sessions(
            store=self.store,
            client=self.client(),
            publisher=self.publisher,
            settle=timedelta(minutes=settings.settle_minutes),
            lookback=timedelta(hours=settings.lookback_hours),
            max_sessions=settings.max_sessions,
            time_left=time_left,
        )
        report.stale_rebuilds = stale
        for result in report.results:
            self._finished(result)
        self._announce(report.results)
        return report
