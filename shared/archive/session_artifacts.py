"""Archiving a session's transcript, chat export and summary.

Each is read whole (they are small), its format sniffed from the content, and stored as served
under ``transcript/source.<ext>``, ``chat/source.<ext>`` or ``summary/summary.<md|txt>``. The
normalized files (``transcript.json``, ``.vtt``, ``chat.json``...) are derived from the archived
source by the session recorder, like every other derived file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.realtimekit import ArtifactLink, RealtimeKitClient
from shared.adapters.s3 import ArchiveStore
from shared.archive.fetch import ArtifactFetcher, ArtifactGone, Link
from shared.archive.keys import safe_id, session_prefix
from shared.archive.report import log_keys, report, report_gone
from shared.ingest.envelope import WebhookDetail
from shared.ingest.events import ChatSynced, MeetingSummary, MeetingTranscript, parse_event
from shared.normalize.chat import parse_chat
from shared.normalize.errors import EmptyArtifactError, NormalizeError
from shared.normalize.transcript import parse_transcript
from shared.session.model import CHAT_SOURCE, TRANSCRIPT_SOURCE, ArtifactRecord, ArtifactState

SUMMARY = "summary/summary"
_MARKDOWN_HINTS = ("# ", "## ", "### ", "- ", "* ", "1. ", "**")


class ArtifactJob(BaseModel):
    """What an artifact consumer needs from its event (also the idempotency payload)."""

    model_config = ConfigDict(frozen=True)

    kind: str  # "transcript" | "chat" | "summary"
    meeting_id: str
    session_id: str
    url: str | None
    expiry: datetime | None
    started_at: datetime | None = None

    @classmethod
    def of(cls, event: MeetingTranscript | ChatSynced | MeetingSummary) -> ArtifactJob:
        assert event.meeting_id is not None
        assert event.session_id is not None  # the model validated both
        common = {"meeting_id": safe_id(event.meeting_id), "session_id": safe_id(event.session_id)}
        if isinstance(event, MeetingTranscript):
            return cls(
                kind="transcript",
                url=event.transcript_download_url,
                expiry=event.transcript_download_url_expiry,
                started_at=event.meeting.started_at,
                **common,
            )
        if isinstance(event, ChatSynced):
            return cls(
                kind="chat",
                url=event.chat_download_url,
                expiry=event.chat_download_url_expiry,
                started_at=event.started_at,
                **common,
            )
        return cls(
            kind="summary", url=event.summary_download_url, expiry=event.summary_download_url_expiry, **common
        )


def looks_like_markdown(text: str, content_type: str | None) -> bool:
    if content_type and content_type.split(";", 1)[0].strip().lower() == "text/markdown":
        return True
    return any(line.lstrip().startswith(_MARKDOWN_HINTS) for line in text.splitlines()[:50])


class SessionArtifactArchiver:
    def __init__(
        self,
        *,
        fetcher: ArtifactFetcher,
        archive: ArchiveStore,
        rest: Callable[[], RealtimeKitClient],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._fetcher = fetcher
        self._archive = archive
        self._rest = rest
        self._clock = clock

    def _refresh(self, job: ArtifactJob) -> Callable[[], Link]:
        def fetch() -> Link:
            client = self._rest()
            link: ArtifactLink
            if job.kind == "transcript":
                link = client.get_transcript(job.session_id)
            elif job.kind == "chat":
                link = client.get_chat(job.session_id)
            else:
                link = client.get_summary(job.session_id)
            return Link(link.url, link.expiry)

        return fetch

    def archive(self, job: ArtifactJob) -> ArtifactRecord:
        """Fetch and store the source; returns its record (archived, or failed with a reason when
        the file is empty or unreadable: kept, never passed off as fine). Raises ``ArtifactGone``
        when RealtimeKit no longer has it, and transient errors for a retry."""
        name = {"transcript": TRANSCRIPT_SOURCE, "chat": CHAT_SOURCE, "summary": SUMMARY}[job.kind]
        downloaded = self._fetcher.read(Link(job.url, job.expiry), self._refresh(job))
        data = downloaded.data
        folder = session_prefix(job.meeting_id, job.session_id)
        failure: NormalizeError | None = None
        try:
            if job.kind == "transcript":
                ext = parse_transcript(data, session_started_at=job.started_at).source_extension
            elif job.kind == "chat":
                ext = parse_chat(data).source_format
            else:
                text = data.decode("utf-8", errors="replace")
                if not text.strip():
                    raise EmptyArtifactError("the summary is empty")
                ext = "md" if looks_like_markdown(text, downloaded.content_type) else "txt"
        except EmptyArtifactError as exc:
            return self._failed(job, name, exc)  # nothing to keep
        except NormalizeError as exc:
            failure, ext = exc, "txt" if _is_text(data) else "bin"
        key = f"{folder}{name}.{ext}"
        content_type = {
            "csv": "text/csv",
            "json": "application/json",
            "md": "text/markdown",
            "txt": "text/plain",
        }.get(ext, "application/octet-stream")
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        stored = self._archive.put_bytes(
            key, data, content_type=content_type, metadata={"session-id": job.session_id}
        )
        return ArtifactRecord(
            name=name,
            kind=f"{job.kind}_source" if job.kind != "summary" else "summary",
            state=ArtifactState.FAILED if failure else ArtifactState.ARCHIVED,
            key=stored.key,
            bytes=stored.size,
            sha256=stored.sha256,
            content_type=content_type,
            archived_at=self._clock(),
            reason=failure.reason if failure else None,
            message=str(failure)[:500] if failure else None,
            source=f"meeting.{'chatSynced' if job.kind == 'chat' else job.kind}",
        )

    def _failed(self, job: ArtifactJob, name: str, error: Exception) -> ArtifactRecord:
        return ArtifactRecord(
            name=name,
            kind=f"{job.kind}_source" if job.kind != "summary" else "summary",
            state=ArtifactState.FAILED,
            reason=getattr(error, "reason", type(error).__name__),
            message=str(error)[:500],
            source=f"meeting.{'chatSynced' if job.kind == 'chat' else job.kind}",
        )

    def gone(self, job: ArtifactJob, error: ArtifactGone) -> ArtifactRecord:
        name = {"transcript": TRANSCRIPT_SOURCE, "chat": CHAT_SOURCE, "summary": SUMMARY}[job.kind]
        return self._failed(job, name, error)


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def archive_session_artifact(
    event: MeetingTranscript | ChatSynced | MeetingSummary,
    *,
    once: Callable[[ArtifactJob], dict[str, Any]],
    archiver: SessionArtifactArchiver,
    record: Callable[[str, str, ArtifactRecord], None],
) -> ArtifactRecord:
    """A consumer's work for one event: archive once per (kind, session), record the outcome.
    A file RealtimeKit no longer has is recorded as failed and re-raised (it ends in the DLQ)."""
    job = ArtifactJob.of(event)
    try:
        outcome = once(job)
    except ArtifactGone as exc:
        record(job.meeting_id, job.session_id, archiver.gone(job, exc))
        raise
    artifact = ArtifactRecord.model_validate(outcome["record"])
    record(job.meeting_id, job.session_id, artifact)
    return artifact


def archive_and_report(
    detail: WebhookDetail,
    *,
    expected: type[MeetingTranscript | ChatSynced | MeetingSummary],
    once: Callable[[ArtifactJob], dict[str, Any]],
    archiver: SessionArtifactArchiver,
    record: Callable[[str, str, ArtifactRecord], None],
) -> ArtifactRecord:
    """The three consumers' record handler: parse, archive once, log and count the outcome."""
    event = parse_event(detail.payload)
    if not isinstance(event, expected):
        raise TypeError(f"{expected.__name__} queue got {detail.event}")
    keys = log_keys(detail)
    try:
        artifact = archive_session_artifact(
            event,
            once=once,
            archiver=archiver,
            record=record,
        )
    except ArtifactGone as exc:
        report_gone(keys, exc)
        raise
    report(artifact, keys)
    return artifact
