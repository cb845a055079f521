"""Archiving a session's transcript, chat export and summary.

Each is read whole (they are small), its format sniffed from the content, and stored as served
under ``transcript/source.<ext>``, ``chat/source.<ext>`` or ``summary/summary.<md|txt>``. The
normalized files (``transcript.json``, ``.vtt``, ``chat.json``...) are derived from the archived
source by the session recorder, like every other derived file."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.adapters.realtimekit import ArtifactLink, RealtimeKitClient
from shared.adapters.s3 import ArchiveStore
from shared.archive.fetch import ArtifactFetcher, ArtifactGone, Link
from shared.archive.keys import safe_id, session_prefix
from shared.archive.report import log_keys, report, report_gone
from shared.archive.small_download import TooLargeToRead
from shared.archive.transfer import TEXT_TYPES, TransferRequest
from shared.ingest.envelope import WebhookDetail
from shared.ingest.events import ChatSynced, MeetingSummary, MeetingTranscript, parse_event
from shared.normalize.chat import chat_to_json, parse_chat
from shared.normalize.errors import (
    MAX_SOURCE_BYTES,
    EmptyArtifactError,
    NormalizeError,
    TooLargeError,
    fingerprint,
)
from shared.normalize.transcript import (
    parse_transcript,
    speaker_timeline_to_json,
    transcript_to_json,
    transcript_to_srt,
    transcript_to_txt,
    transcript_to_vtt,
)
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
        """Fetch and store the source as served, then parse it; returns its record: archived, or
        failed with a reason when the file is empty, too large or unreadable (kept, never passed
        off as fine). Raises ``ArtifactGone`` when RealtimeKit no longer has it, and transient
        errors for a retry. A parser failure of any kind is a failed file, never a retry."""
        name = {"transcript": TRANSCRIPT_SOURCE, "chat": CHAT_SOURCE, "summary": SUMMARY}[job.kind]
        folder = session_prefix(job.meeting_id, job.session_id)
        link, refresh = Link(job.url, job.expiry), self._refresh(job)
        try:
            downloaded = self._fetcher.read(link, refresh, max_bytes=MAX_SOURCE_BYTES)
        except TooLargeToRead as exc:
            return self._keep_too_large(job, name, folder, link, refresh, exc)
        data = downloaded.data
        if not data.strip():  # nothing to keep
            return self._failed(job, name, EmptyArtifactError(f"the {job.kind} is empty ({len(data)} bytes)"))
        if job.kind == "summary":
            text = data.decode("utf-8", errors="replace")
            ext = "md" if looks_like_markdown(text, downloaded.content_type) else "txt"
        else:
            ext = _source_extension(job.kind, data)
        content_type = _CONTENT_TYPES.get(ext, "application/octet-stream")
        # Stored before it is parsed: whatever the parser makes of it, the file is kept.
        stored = self._archive.put_bytes(
            f"{folder}{name}.{ext}", data, content_type=content_type, metadata={"session-id": job.session_id}
        )
        failure = None if job.kind == "summary" else _parse_failure(job, data)
        return ArtifactRecord(
            name=name,
            kind=f"{job.kind}_source" if job.kind != "summary" else "summary",
            state=ArtifactState.FAILED if failure else ArtifactState.ARCHIVED,
            key=stored.key,
            bytes=stored.size,
            sha256=stored.sha256,
            content_type=content_type,
            archived_at=self._clock(),
            reason=failure[0] if failure else None,
            message=failure[1][:500] if failure else None,
            source=_source_event(job),
        )

    def _keep_too_large(
        self,
        job: ArtifactJob,
        name: str,
        folder: str,
        link: Link,
        refresh: Callable[[], Link],
        error: TooLargeToRead,
    ) -> ArtifactRecord:
        """Over what is read into memory: streamed to the bucket as served, marked failed."""
        media = (error.content_type or "").split(";", 1)[0].strip().lower()
        ext = {"text/csv": "csv", "application/json": "json", "text/markdown": "md", "text/plain": "txt"}.get(
            media, "bin"
        )
        result = self._fetcher.copy(
            link,
            refresh,
            lambda url: TransferRequest(
                url=url,
                bucket=self._archive.bucket,
                key=f"{folder}{name}.{ext}",
                metadata={"session-id": job.session_id},
                accept=TEXT_TYPES,
            ),
        )
        return ArtifactRecord(
            name=name,
            kind=f"{job.kind}_source" if job.kind != "summary" else "summary",
            state=ArtifactState.FAILED,
            key=result.key,
            bytes=result.size,
            sha256=result.sha256,
            content_type=result.content_type,
            archived_at=self._clock(),
            reason=TooLargeError.reason,
            message=f"{job.kind} is {result.size} bytes, more than the {MAX_SOURCE_BYTES} parsed; kept as served",
            source=_source_event(job),
        )

    def _failed(self, job: ArtifactJob, name: str, error: Exception) -> ArtifactRecord:
        return ArtifactRecord(
            name=name,
            kind=f"{job.kind}_source" if job.kind != "summary" else "summary",
            state=ArtifactState.FAILED,
            reason=getattr(error, "reason", type(error).__name__),
            message=str(error)[:500],
            source=_source_event(job),
        )

    def gone(self, job: ArtifactJob, error: ArtifactGone) -> ArtifactRecord:
        name = {"transcript": TRANSCRIPT_SOURCE, "chat": CHAT_SOURCE, "summary": SUMMARY}[job.kind]
        return self._failed(job, name, error)


_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
_SRT_START = re.compile(rb"\d+[ \t]*\r?\n\d{1,2}:\d{2}:\d{2},\d{3}")


def _source_event(job: ArtifactJob) -> str:
    return f"meeting.{'chatSynced' if job.kind == 'chat' else job.kind}"


def _source_extension(kind: str, data: bytes) -> str:
    """The stored file's extension, from a look at the content only (it is stored before it is
    parsed): ``json`` or ``csv`` for what looks like one, ``txt`` for other text, ``bin`` else."""
    if not _is_text(data):
        return "bin"
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if head[:1] in (b"[", b"{"):
        return "json"
    if kind == "transcript" and (head.startswith(b"WEBVTT") or _SRT_START.match(head)):
        return "txt"
    first_line = head.split(b"\n", 1)[0]
    return "csv" if b"," in first_line else "txt"


def _parse_failure(job: ArtifactJob, data: bytes) -> tuple[str, str] | None:
    """Parse (and render, as the session recorder will) a stored source; None when it reads, else
    (reason, message). The message names sizes and digests, never content."""
    try:
        if job.kind == "transcript":
            transcript = parse_transcript(data, session_started_at=job.started_at)
            for render in (
                transcript_to_json,
                speaker_timeline_to_json,
                transcript_to_txt,
                transcript_to_vtt,
                transcript_to_srt,
            ):
                render(transcript)
        else:
            chat_to_json(parse_chat(data))
    except NormalizeError as exc:
        return exc.reason, str(exc)
    except RecursionError:
        return "unparseable", f"{job.kind} nests too deeply to parse ({fingerprint(data)})"
    except MemoryError:
        return (
            TooLargeError.reason,
            f"{job.kind} needs more memory to parse than there is ({fingerprint(data)})",
        )
    except Exception as exc:  # noqa: BLE001 - a parser bug must not become a retry: the file is kept
        return "unparseable", f"{job.kind}: {type(exc).__name__} while parsing ({fingerprint(data)})"
    return None


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
