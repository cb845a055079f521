"""``meeting-vault backfill``: archive what RealtimeKit still retains and the bucket lacks.

No download logic of its own: for every session it lists (and every UPLOADED recording), it reads
the session's ``session.json`` and, for each artifact not archived there, synthesizes the webhook
RealtimeKit would have sent (``recording.statusUpdate`` UPLOADED, ``meeting.transcript``,
``meeting.summary``, ``meeting.chatSynced``) and puts it on the bus like the ingest function does.
The normal consumers do the work.

The synthesized bodies carry no download URLs (the consumers ask the REST API for fresh ones), so
they are deterministic: a second backfill of the same artifact lands on the same ``events/`` key
and the same session-record item. Transcript, summary and chat are only enqueued when the REST API
has them (a 404 means RealtimeKit does not have one, or no longer retains it).

Resume: a checkpoint file lists what this run enqueued; an interrupted run's successor skips those
(their consumers may not have finished yet, so ``session.json`` does not show them). A run that
completes deletes the checkpoint."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from cli.realtimekit_access import RealtimeKitOptions, realtimekit_access
from cli.target import Target
from shared.adapters.eventbridge import EventPublisher
from shared.adapters.realtimekit import RealtimeKitClient, RecordingInfo, SessionInfo
from shared.archive.keys import is_safe_id, session_prefix
from shared.core.exceptions import RealtimeKitNotFound, RealtimeKitRateLimited
from shared.ingest.envelope import build_detail
from shared.normalize.rest_participants import participants_payloads
from shared.session.model import CHAT_SOURCE, TRANSCRIPT_SOURCE

SIGNATURE_HEADER = "backfill"  # delivery.signatureHeader of every synthesized event
SYNTHESIZED_BY = "meeting-vault backfill"
SUMMARY_NAME = "summary/summary"
DEFAULT_CHECKPOINT = Path(".meeting-vault") / "backfill-checkpoint.json"
RATE_LIMIT_ATTEMPTS = 4
_T = TypeVar("_T")


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _compact(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}


@dataclass
class SessionToCheck:
    meeting_id: str
    session_id: str
    title: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    recordings: list[RecordingInfo] = field(default_factory=list)

    def meeting(self) -> dict[str, Any]:
        return _compact(
            {
                "id": self.meeting_id,
                "sessionId": self.session_id,
                "title": self.title,
                "createdAt": iso(self.created_at),
                "startedAt": iso(self.started_at),
                "endedAt": iso(self.ended_at),
            }
        )


# -- synthesized webhooks --------------------------------------------------------------------------
def recording_payload(session: SessionToCheck, recording: RecordingInfo) -> dict[str, Any]:
    return {
        "event": "recording.statusUpdate",
        "recording": _compact(
            {
                "id": recording.id,
                "recordingId": recording.id,
                "status": "UPLOADED",
                "meetingId": session.meeting_id,
                "roomUUID": session.session_id,
                "outputFileName": recording.output_file_name,
                "fileSize": recording.file_size,
                "invokedTime": iso(recording.invoked_time),
                "startedTime": iso(recording.started_time),
                "stoppedTime": iso(recording.stopped_time),
                "recordingDuration": recording.recording_duration,
            }
        ),
        "meeting": session.meeting(),
        "synthesizedBy": SYNTHESIZED_BY,
    }


def artifact_payload(session: SessionToCheck, kind: str) -> dict[str, Any]:
    if kind == "chat":  # flat, like RealtimeKit's meeting.chatSynced
        return _compact(
            {
                "event": "meeting.chatSynced",
                "meetingId": session.meeting_id,
                "sessionId": session.session_id,
                "title": session.title,
                "createdAt": iso(session.created_at),
                "startedAt": iso(session.started_at),
                "endedAt": iso(session.ended_at),
                "synthesizedBy": SYNTHESIZED_BY,
            }
        )
    event = {"transcript": "meeting.transcript", "summary": "meeting.summary"}[kind]
    return {"event": event, "meeting": session.meeting(), "synthesizedBy": SYNTHESIZED_BY}


def payload_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# -- checkpoint ------------------------------------------------------------------------------------
class Checkpoint:
    """What an unfinished run enqueued, per target. Written after every event (atomic replace)."""

    def __init__(self, path: Path | None, target_key: str, *, restart: bool = False) -> None:
        self.path = path
        self.target_key = target_key
        self.done: set[str] = set()
        self.resumed = False
        if path is not None and path.exists() and not restart:
            try:
                document = json.loads(path.read_text())
            except ValueError:
                document = {}
            if isinstance(document, dict) and document.get("target") == target_key:
                self.done = set(document.get("enqueued") or [])
                self.resumed = bool(self.done)

    def add(self, item: str) -> None:
        self.done.add(item)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps({"target": self.target_key, "enqueued": sorted(self.done)}, indent=1))
        os.replace(partial, self.path)

    def finish(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()


# -- the run ---------------------------------------------------------------------------------------
@dataclass
class SessionOutcome:
    session: SessionToCheck
    enqueued: list[str] = field(default_factory=list)  # artifact names
    already: list[str] = field(default_factory=list)  # archived before (or enqueued by the interrupted run)
    unavailable: list[str] = field(default_factory=list)  # RealtimeKit has none (or no longer)
    bytes: int = 0  # known sizes of enqueued recordings
    skipped: str | None = None  # why the whole session was skipped


@dataclass
class BackfillReport:
    sessions: int = 0
    complete: int = 0  # sessions with nothing to enqueue
    enqueued: dict[str, int] = field(default_factory=dict)  # kind -> events
    bytes: int = 0
    unavailable: int = 0
    skipped: int = 0
    resumed: bool = False

    @property
    def events(self) -> int:
        return sum(self.enqueued.values())

    def add(self, outcome: SessionOutcome) -> None:
        self.sessions += 1
        if outcome.skipped:
            self.skipped += 1
            return
        if not outcome.enqueued:
            self.complete += 1
        for name in outcome.enqueued:
            kind = name.split("/", 1)[0]
            self.enqueued[kind] = self.enqueued.get(kind, 0) + 1
        self.bytes += outcome.bytes
        self.unavailable += len(outcome.unavailable)


class ArchivedArtifacts:
    """The artifact names a session's ``session.json`` lists as archived."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def manifest(self, meeting_id: str, session_id: str) -> dict[str, Any]:
        try:
            body = self._s3.get_object(
                Bucket=self._bucket, Key=session_prefix(meeting_id, session_id) + "session.json"
            )["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return {}
            raise
        manifest = json.loads(body)
        return manifest if isinstance(manifest, dict) else {}

    def names(self, meeting_id: str, session_id: str) -> set[str]:
        return archived_names(self.manifest(meeting_id, session_id))


def archived_names(manifest: dict[str, Any]) -> set[str]:
    return {
        str(a["name"])
        for a in manifest.get("artifacts", [])
        if a.get("state") == "archived" and a.get("name")
    }


class Backfill:
    def __init__(
        self,
        *,
        client: RealtimeKitClient,
        archived: ArchivedArtifacts,
        publisher: EventPublisher,
        checkpoint: Checkpoint,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._archived = archived
        self._publisher = publisher
        self._checkpoint = checkpoint
        self._sleep = sleep
        self._now = now

    # REST calls: the pacer keeps us under the limit; a 429 that outlasts the SDK's own retries
    # (which honour Retry-After) waits what RealtimeKit asked for and tries again.
    def _rest(self, call: Callable[[], _T]) -> _T:
        for attempt in range(RATE_LIMIT_ATTEMPTS):
            try:
                return call()
            except RealtimeKitRateLimited as exc:
                if attempt == RATE_LIMIT_ATTEMPTS - 1:
                    raise
                self._sleep(exc.retry_after if exc.retry_after is not None else 10.0)
        raise AssertionError("unreachable")

    def sessions(self, *, meeting_id: str | None, since: datetime | None) -> list[SessionToCheck]:
        """Every session RealtimeKit lists (and every session with an UPLOADED recording), oldest first."""
        found: dict[str, SessionToCheck] = {}
        # ``since`` goes to the API's documented start_time filter: only that part of the history
        # is paged through.
        infos: list[SessionInfo] = self._rest(
            lambda: self._client.list_sessions(meeting_id, start_time=since)
        )
        for info in infos:
            if info.meeting_id and is_safe_id(info.meeting_id) and is_safe_id(info.id):
                found[info.id] = SessionToCheck(
                    meeting_id=info.meeting_id,
                    session_id=info.id,
                    title=info.meeting_title,
                    status=info.status,
                    created_at=info.created_at,
                    started_at=info.started_at,
                    ended_at=info.ended_at,
                )
        recordings: list[RecordingInfo] = self._rest(
            lambda: self._client.list_recordings(meeting_id, status=["UPLOADED"], start_time=since)
        )
        for recording in recordings:
            if (
                not recording.session_id
                or not is_safe_id(recording.session_id)
                or not is_safe_id(recording.id)
            ):
                continue
            session = found.get(recording.session_id)
            if session is None:
                if not recording.meeting_id or not is_safe_id(recording.meeting_id):
                    continue
                session = found[recording.session_id] = SessionToCheck(
                    meeting_id=recording.meeting_id,
                    session_id=recording.session_id,
                    status="ENDED",
                    started_at=recording.started_time or recording.invoked_time,
                )
            session.recordings.append(recording)
        selected = [
            s for s in found.values() if since is None or (s.started_at is not None and s.started_at >= since)
        ]
        return sorted(
            selected, key=lambda s: (s.started_at or datetime.min.replace(tzinfo=UTC), s.session_id)
        )

    def check(self, session: SessionToCheck) -> SessionOutcome:
        outcome = SessionOutcome(session=session)
        if session.status == "LIVE":
            outcome.skipped = "still live"
            return outcome
        manifest = self._archived.manifest(session.meeting_id, session.session_id)
        archived = archived_names(manifest)
        done = self._checkpoint.done
        for recording in session.recordings:
            name = f"recording/{recording.id}/video"
            if name in archived or f"{session.session_id}/{name}" in done:
                outcome.already.append(name)
                continue
            self._enqueue(session, name, recording_payload(session, recording))
            outcome.enqueued.append(name)
            outcome.bytes += recording.file_size or 0
        probes: dict[str, tuple[str, Callable[[str], object]]] = {
            "transcript": (TRANSCRIPT_SOURCE, self._client.get_transcript),
            "summary": (SUMMARY_NAME, self._client.get_summary),
            "chat": (CHAT_SOURCE, self._client.get_chat),
        }
        for kind, (name, probe) in probes.items():
            if name in archived or f"{session.session_id}/{name}" in done:
                outcome.already.append(name)
                continue
            try:
                self._rest(lambda probe=probe: probe(session.session_id))  # type: ignore[misc]
            except RealtimeKitNotFound:
                outcome.unavailable.append(name)
                continue
            self._enqueue(session, name, artifact_payload(session, kind))
            outcome.enqueued.append(name)
        # The REST participant list (GET /sessions/{id}/participants), so participants.json names
        # people whose join webhook was lost; once the record has it, session.json says so.
        listed = "rest" in (manifest.get("participantSources") or [])
        if not listed and not any(item.startswith(f"{session.session_id}/participants/") for item in done):
            people = self._rest(lambda: self._client.list_participants(session.session_id))
            for page, payload in enumerate(
                participants_payloads(session.meeting_id, session.session_id, people), start=1
            ):
                name = f"participants/{page}"
                self._enqueue(session, name, {**payload, "synthesizedBy": SYNTHESIZED_BY})
                outcome.enqueued.append(name)
        return outcome

    def _enqueue(self, session: SessionToCheck, name: str, payload: dict[str, Any]) -> None:
        body = payload_bytes(payload)
        detail = build_detail(
            body,
            received_at=self._now(),
            delivery_id=f"backfill-{hashlib.sha256(body).hexdigest()[:16]}",
            webhook_id=None,
            signature_header=SIGNATURE_HEADER,
        )
        if not detail.valid:  # our own payload: a bug, never something to put on the bus
            raise AssertionError(f"synthesized {payload['event']} does not parse: {detail.parse_error}")
        self._publisher.publish(detail)
        self._checkpoint.add(f"{session.session_id}/{name}")

    def run(self, sessions: list[SessionToCheck]) -> Iterator[SessionOutcome]:
        for session in sessions:
            yield self.check(session)
        self._checkpoint.finish()


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{count} B"


def outcome_line(index: int, total: int, outcome: SessionOutcome) -> str:
    session = outcome.session
    head = f"[{index}/{total}] {session.meeting_id}/{session.session_id}"
    if outcome.skipped:
        return f"{head}: skipped ({outcome.skipped})"
    parts = []
    if outcome.enqueued:
        sized = f" ({human_bytes(outcome.bytes)})" if outcome.bytes else ""
        parts.append(f"enqueued {', '.join(outcome.enqueued)}{sized}")
    if outcome.already:
        parts.append(f"archived {len(outcome.already)}")
    if outcome.unavailable:
        parts.append(f"not at RealtimeKit: {', '.join(n.split('/')[0] for n in outcome.unavailable)}")
    return f"{head}: {'; '.join(parts) or 'nothing retained'}"


def report_line(report: BackfillReport) -> str:
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(report.enqueued.items())) or "nothing"
    text = (
        f"backfill: {report.sessions} sessions checked, {report.complete} already complete; "
        f"enqueued {kinds} ({human_bytes(report.bytes)} of recordings)"
    )
    if report.unavailable:
        text += f"; {report.unavailable} artifacts not available at RealtimeKit"
    if report.skipped:
        text += f"; {report.skipped} live sessions skipped"
    return text


def run_backfill(
    *,
    client: RealtimeKitClient,
    s3: Any,
    bucket: str,
    publisher: EventPublisher,
    target_key: str,
    meeting_id: str | None,
    since: datetime | None,
    checkpoint_path: Path | None,
    restart: bool,
    echo: Callable[[str], None],
    progress_bar: bool,
) -> BackfillReport:
    """The command: list, check and enqueue session by session, showing progress. Interrupting it
    (Ctrl-C) keeps the checkpoint; the next run with the same target resumes after it."""
    import click

    checkpoint = Checkpoint(checkpoint_path, target_key, restart=restart)
    backfill = Backfill(
        client=client, archived=ArchivedArtifacts(s3, bucket), publisher=publisher, checkpoint=checkpoint
    )
    report = BackfillReport(resumed=checkpoint.resumed)
    if checkpoint.resumed:
        echo(
            f"resuming: {len(checkpoint.done)} artifacts were enqueued by the interrupted run ({checkpoint_path})"
        )
    sessions = backfill.sessions(meeting_id=meeting_id, since=since)
    echo(f"{len(sessions)} sessions at RealtimeKit to check")
    outcomes = backfill.run(sessions)
    try:
        if progress_bar and sessions:
            progress: Any = click.progressbar(
                length=len(sessions),
                label="backfill",
                item_show_func=lambda _: f"{report.events} enqueued, {human_bytes(report.bytes)}",
            )
            with progress as bar:
                for outcome in outcomes:
                    report.add(outcome)
                    bar.update(1, outcome)
        else:
            for index, outcome in enumerate(outcomes, start=1):
                report.add(outcome)
                echo(outcome_line(index, len(sessions), outcome))
    except KeyboardInterrupt:
        echo(report_line(report))
        echo("interrupted: run the same command again to resume (what was enqueued is not sent twice)")
        raise click.exceptions.Exit(130) from None
    echo(report_line(report))
    return report


def backfill_command(
    target: Target,
    rtk: RealtimeKitOptions,
    *,
    meeting_id: str | None,
    since: datetime | None,
    checkpoint_path: Path | None,
    restart: bool,
    echo: Callable[[str], None],
    progress_bar: bool,
) -> BackfillReport:
    access = realtimekit_access(target, rtk)
    echo(f"{target.description}: archive s3://{target.bucket}, bus {target.bus}")
    report = run_backfill(
        client=access.client,
        s3=target.client("s3"),
        bucket=target.bucket,
        publisher=EventPublisher(target.bus, target.client("events")),
        target_key=target.key,
        meeting_id=meeting_id,
        since=since,
        checkpoint_path=checkpoint_path,
        restart=restart,
        echo=echo,
        progress_bar=progress_bar,
    )
    if access.pacer.waited_seconds >= 1:
        echo(f"paced to the rate limit: waited {access.pacer.waited_seconds:.0f} s in total")
    if report.events:
        echo("the consumers archive them now: `meeting-vault status` shows the queues, `sessions` the result")
    return report
