"""Archiving a recording: the composite file and, when RealtimeKit made one, the audio-only file,
under ``recordings/{recordingId}/`` with RealtimeKit's ``outputFileName``.

The UPLOADED webhook "can" carry ``audioDownloadUrl`` (not guaranteed); when it does not, the REST
recording (``GET /recordings/{id}``, its ``audio_download_url``) says whether there is an audio file,
once per recording (the same answer serves a video URL refresh). If that question fails, the video
is still recorded as archived and ``AudioLookupFailed`` fails the message, so the queue asks again
(the video is not downloaded again)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from shared.adapters.realtimekit import RealtimeKitClient
from shared.archive.fetch import ArtifactFetcher, ArtifactGone, Link
from shared.archive.keys import safe_file_name, safe_id, session_prefix
from shared.archive.report import log_keys, report, report_gone
from shared.archive.transfer import MEDIA_TYPES, TransferRequest
from shared.core.exceptions import MeetingVaultError, RealtimeKitError, RealtimeKitNotFound
from shared.core.observability import logger
from shared.ingest.envelope import WebhookDetail
from shared.ingest.events import RecordingStatusUpdate, parse_event
from shared.session.model import ArtifactRecord, ArtifactState

VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".mkv": "video/x-matroska"}
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".webm": "audio/webm",
}


class AudioLookupFailed(MeetingVaultError):
    """The webhook had no audio URL and the REST API could not say whether the recording has an
    audio-only file. ``records`` are the files archived before (the video), to be recorded anyway;
    the message is then retried for the audio."""

    reason = "audio_lookup_failed"

    def __init__(self, message: str, *, records: list[ArtifactRecord]) -> None:
        super().__init__(message)
        self.records = records


class RecordingJob(BaseModel):
    """What the recordings consumer needs from an UPLOADED event (the idempotency payload)."""

    model_config = ConfigDict(frozen=True)

    meeting_id: str
    session_id: str
    recording_id: str
    download_url: str | None = None
    audio_download_url: str | None = None
    download_url_expiry: datetime | None = None
    file_size: int | None = None
    output_file_name: str | None = None

    @classmethod
    def from_event(
        cls, event: RecordingStatusUpdate, *, meeting_id: str | None = None, session_id: str | None = None
    ) -> RecordingJob:
        """``meeting_id`` / ``session_id``: where the REST API placed a legacy body without them."""
        r = event.recording
        meeting = event.meeting_id or meeting_id
        session = event.session_id or session_id
        assert meeting
        assert session
        assert r.the_id
        return cls(
            meeting_id=safe_id(meeting),
            session_id=safe_id(session),
            recording_id=safe_id(r.the_id),
            download_url=r.download_url,
            audio_download_url=r.audio_download_url,
            download_url_expiry=r.download_url_expiry,
            file_size=r.file_size,
            output_file_name=r.output_file_name,
        )

    @property
    def folder(self) -> str:
        return f"{session_prefix(self.meeting_id, self.session_id)}recordings/{self.recording_id}/"

    @property
    def video_name(self) -> str:
        return safe_file_name(self.output_file_name or "", fallback=f"{self.recording_id}.mp4")

    def audio_name(self, url: str | None) -> str:
        suffix = PurePosixPath(urlsplit(url or "").path).suffix.lower()
        suffix = suffix if suffix in AUDIO_TYPES else ".m4a"  # AAC is RealtimeKit's default codec
        return f"{PurePosixPath(self.video_name).stem}-audio{suffix}"


def _content_type(name: str, table: dict[str, str]) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return table.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class RecordingArchiver:
    def __init__(
        self,
        *,
        bucket: str,
        s3_client: Any,
        fetcher: ArtifactFetcher,
        rest: Callable[[], RealtimeKitClient],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._bucket = bucket
        self._s3 = s3_client
        self._fetcher = fetcher
        self._rest = rest
        self._clock = clock

    def archive(self, job: RecordingJob) -> list[ArtifactRecord]:
        """Archive both files; returns their records. Raises ``ArtifactGone`` (after returning
        nothing) when RealtimeKit no longer has the composite file; other errors propagate so the
        message is retried."""
        fresh: dict[str, Any] = {}

        def recording_info() -> Any:
            """``GET /recordings/{id}``, asked at most once per archive."""
            if "info" not in fresh:
                fresh["info"] = self._rest().get_recording(job.recording_id)
            return fresh["info"]

        def refresh(field: str) -> Callable[[], Link]:
            def fetch() -> Link:
                info = recording_info()
                return Link(getattr(info, field), info.download_url_expiry)

            return fetch

        records = [
            self._archive_one(
                job,
                name="video",
                file_name=job.video_name,
                link=Link(job.download_url, job.download_url_expiry),
                refresh=refresh("download_url"),
                expected_size=job.file_size,
                content_type=_content_type(job.video_name, VIDEO_TYPES),
            )
        ]
        audio = Link(job.audio_download_url, job.download_url_expiry)
        if not audio.url:
            # The webhook "can" carry the audio URL, not must: ask RealtimeKit whether there is one.
            try:
                info = recording_info()
            except RealtimeKitNotFound:
                info = None  # no such recording any more: no audio file to fetch either
            except RealtimeKitError as exc:
                raise AudioLookupFailed(
                    f"could not ask RealtimeKit whether recording {job.recording_id} has an audio file: {exc}",
                    records=records,
                ) from exc
            if info is not None:
                audio = Link(info.audio_download_url, info.download_url_expiry)
        if audio.url:
            audio_name = job.audio_name(audio.url)
            try:
                records.append(
                    self._archive_one(
                        job,
                        name="audio",
                        file_name=audio_name,
                        link=audio,
                        refresh=refresh("audio_download_url"),
                        expected_size=None,  # fileSize is the composite file's
                        content_type=_content_type(audio_name, AUDIO_TYPES),
                    )
                )
            except ArtifactGone as exc:
                records.append(self.failed(job, "audio", exc))
        return records

    def failed(self, job: RecordingJob, name: str, error: Exception) -> ArtifactRecord:
        return ArtifactRecord(
            name=f"recording/{job.recording_id}/{name}",
            kind="recording" if name == "video" else "recording_audio",
            state=ArtifactState.FAILED,
            reason=getattr(error, "reason", type(error).__name__),
            message=str(error)[:500],
            source="recording.statusUpdate",
        )

    def _archive_one(
        self,
        job: RecordingJob,
        *,
        name: str,
        file_name: str,
        link: Link,
        refresh: Callable[[], Link],
        expected_size: int | None,
        content_type: str,
    ) -> ArtifactRecord:
        key = job.folder + file_name
        existing = self._already_archived(key, expected_size)
        if existing is None:
            result = self._fetcher.copy(
                link,
                refresh,
                lambda url: TransferRequest(
                    url=url,
                    bucket=self._bucket,
                    key=key,
                    expected_size=expected_size,
                    content_type=content_type,
                    metadata={"recording-id": job.recording_id, "session-id": job.session_id},
                    accept=MEDIA_TYPES,
                ),
            )
            size, sha256 = result.size, result.sha256
        else:
            size, sha256 = existing
        return ArtifactRecord(
            name=f"recording/{job.recording_id}/{name}",
            kind="recording" if name == "video" else "recording_audio",
            state=ArtifactState.ARCHIVED,
            key=key,
            bytes=size,
            sha256=sha256,
            content_type=content_type,
            archived_at=self._clock(),
            source="recording.statusUpdate",
        )

    def _already_archived(self, key: str, expected_size: int | None) -> tuple[int, str] | None:
        """(size, sha256) of a complete earlier copy, so a redelivery downloads nothing."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        size = int(head["ContentLength"])
        if expected_size is not None and size != expected_size:
            return None
        sha256 = head.get("Metadata", {}).get("sha256")
        if not sha256:
            tags = self._s3.get_object_tagging(Bucket=self._bucket, Key=key).get("TagSet", [])
            sha256 = next((t["Value"] for t in tags if t["Key"] == "sha256"), None)
        return (size, sha256) if sha256 else None


def archive_recording_event(
    event: RecordingStatusUpdate,
    *,
    once: Callable[[RecordingJob], dict[str, Any]],
    archiver: RecordingArchiver,
    record: Callable[[str, str, ArtifactRecord], None],
    meeting_id: str | None = None,
    session_id: str | None = None,
) -> list[ArtifactRecord]:
    """The recordings consumer's work for one UPLOADED event: archive once, record the outcome.
    A recording RealtimeKit no longer has is recorded as failed, then re-raised (it ends in the DLQ)."""
    job = RecordingJob.from_event(event, meeting_id=meeting_id, session_id=session_id)
    try:
        outcome = once(job)
    except ArtifactGone as exc:
        record(job.meeting_id, job.session_id, archiver.failed(job, "video", exc))
        raise
    except AudioLookupFailed as exc:
        for artifact in exc.records:  # the video is archived: say so now, not after the retry
            record(job.meeting_id, job.session_id, artifact)
        raise
    records = [ArtifactRecord.model_validate(r) for r in outcome["records"]]
    for artifact in records:
        record(job.meeting_id, job.session_id, artifact)
    return records


def archive_and_report(
    detail: WebhookDetail,
    *,
    once: Callable[[RecordingJob], dict[str, Any]],
    archiver: RecordingArchiver,
    record: Callable[[str, str, ArtifactRecord], None],
) -> list[ArtifactRecord]:
    """The recordings consumer's record handler: parse, archive once, log and count each file."""
    event = parse_event(detail.payload)
    if not isinstance(event, RecordingStatusUpdate):
        raise TypeError(f"recordings queue got {detail.event}")
    keys = log_keys(detail, recording_id=event.recording.the_id)
    try:
        records = archive_recording_event(
            event,
            once=once,
            archiver=archiver,
            record=record,
            meeting_id=detail.meeting_id,
            session_id=detail.session_id,
        )
    except ArtifactGone as exc:
        report_gone(keys, exc)
        raise
    except AudioLookupFailed as exc:
        for artifact in exc.records:
            report(artifact, keys)
        logger.error(
            "audio file lookup failed; the message is retried",
            extra={**keys, "reason": exc.reason, "error": str(exc)},
        )
        raise
    for artifact in records:
        report(artifact, keys)
    return records
