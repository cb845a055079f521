"""``meeting-vault sessions``, ``show`` and ``get``: what the archive holds, read from the bucket.

Sessions are found by listing ``meetings/{meetingId}/sessions/{sessionId}/`` with a delimiter (no
full listing of the events), and described by their ``session.json``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from cli.backfill import human_bytes
from cli.errors import CliError
from cli.target import Target
from shared.archive.keys import MEETINGS_PREFIX, is_safe_id, session_prefix
from shared.session.store import SessionStore

_KIND_LABELS = {"recording": "recording", "recording_audio": "audio", "transcript_source": "transcript"}
_KIND_LABELS |= {"chat_source": "chat", "summary": "summary"}
_LABEL_ORDER = {
    label: index for index, label in enumerate(("recording", "audio", "transcript", "summary", "chat"))
}


def _prefixes(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            yield str(common["Prefix"])[len(prefix) :].rstrip("/")


def _get_json(s3: Any, bucket: str, key: str) -> Any:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            return None
        raise
    return json.loads(body)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration_text(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@dataclass
class SessionRow:
    meeting_id: str
    session_id: str
    title: str | None = None
    started_at: datetime | None = None
    duration_seconds: float | None = None
    state: str | None = None
    participants: int = 0
    archived: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, meeting_id: str, session_id: str, manifest: dict[str, Any] | None) -> SessionRow:
        row = cls(meeting_id=meeting_id, session_id=session_id)
        if manifest is None:
            return row
        session = manifest.get("session") or {}
        row.title = (manifest.get("meeting") or {}).get("title")
        row.started_at = _parse_time(session.get("startedAt"))
        row.duration_seconds = session.get("durationSeconds")
        row.state = session.get("state")
        row.participants = len(manifest.get("participants") or [])
        for artifact in manifest.get("artifacts") or []:
            label = _KIND_LABELS.get(str(artifact.get("kind")), str(artifact.get("kind")))
            bucket = row.archived if artifact.get("state") == "archived" else row.failed
            if label not in bucket:
                bucket.append(label)
        for labels in (row.archived, row.failed):
            labels.sort(key=lambda label: (_LABEL_ORDER.get(label, len(_LABEL_ORDER)), label))
        return row

    def as_json(self) -> dict[str, Any]:
        return {
            "meetingId": self.meeting_id,
            "sessionId": self.session_id,
            "title": self.title,
            "startedAt": self.started_at.isoformat().replace("+00:00", "Z") if self.started_at else None,
            "durationSeconds": self.duration_seconds,
            "state": self.state,
            "participants": self.participants,
            "archived": self.archived,
            "failed": self.failed,
        }


def session_rows(
    s3: Any, bucket: str, *, meeting_id: str | None = None, since: datetime | None = None
) -> list[SessionRow]:
    """Every archived session (of one meeting), newest first."""
    meetings = [meeting_id] if meeting_id else list(_prefixes(s3, bucket, f"{MEETINGS_PREFIX}/"))
    rows = []
    for meeting in meetings:
        if not is_safe_id(meeting):
            raise CliError(f"{meeting!r} is not a meeting id")
        for session in _prefixes(s3, bucket, f"{MEETINGS_PREFIX}/{meeting}/sessions/"):
            if not is_safe_id(session):
                continue
            manifest = _get_json(s3, bucket, session_prefix(meeting, session) + "session.json")
            row = SessionRow.of(meeting, session, manifest)
            if since is None or (row.started_at is not None and row.started_at >= since):
                rows.append(row)
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.started_at or oldest, r.session_id), reverse=True)


def render_table(rows: list[SessionRow]) -> list[str]:
    header = ("STARTED (UTC)", "DURATION", "TITLE", "MEETING", "SESSION", "PEOPLE", "ARCHIVED", "FAILED")
    table = [header]
    for row in rows:
        title = row.title or "-"
        table.append(
            (
                row.started_at.strftime("%Y-%m-%d %H:%M") if row.started_at else "-",
                duration_text(row.duration_seconds) + (" (live)" if row.state == "live" else ""),
                title if len(title) <= 32 else title[:31] + "…",
                row.meeting_id,
                row.session_id,
                str(row.participants),
                ",".join(row.archived) or "-",
                ",".join(row.failed) or "-",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]


# -- one session -----------------------------------------------------------------------------------
def find_session(
    s3: Any, bucket: str, sessions_table: str | None, ddb: Any, reference: str
) -> tuple[str, str]:
    """``meetingId/sessionId`` or a session id alone (looked up in the session records, then the bucket)."""
    if "/" in reference:
        meeting_id, _, session_id = reference.partition("/")
        if is_safe_id(meeting_id) and is_safe_id(session_id):
            return meeting_id, session_id
        raise CliError(f"{reference!r} is not MEETING_ID/SESSION_ID")
    if not is_safe_id(reference):
        raise CliError(f"{reference!r} is not a session id")
    if sessions_table:
        matches = [pair for pair in SessionStore(sessions_table, ddb).list_sessions() if pair[1] == reference]
        if len(matches) == 1:
            return matches[0]
    for meeting in _prefixes(s3, bucket, f"{MEETINGS_PREFIX}/"):
        if reference in set(_prefixes(s3, bucket, f"{MEETINGS_PREFIX}/{meeting}/sessions/")):
            return meeting, reference
    raise CliError(f"session {reference} is not in the archive (s3://{bucket}/{MEETINGS_PREFIX}/)")


def load_manifest(s3: Any, bucket: str, meeting_id: str, session_id: str) -> dict[str, Any]:
    manifest = _get_json(s3, bucket, session_prefix(meeting_id, session_id) + "session.json")
    if manifest is None:
        raise CliError(f"session {meeting_id}/{session_id} has no session.json yet")
    return dict(manifest)


def render_manifest(manifest: dict[str, Any], *, bucket: str) -> list[str]:
    meeting = manifest.get("meeting") or {}
    session = manifest.get("session") or {}
    prefix = session_prefix(str(meeting.get("id")), str(session.get("id")))
    lines = [
        f"session   {session.get('id')}",
        f"meeting   {meeting.get('id')}  {json.dumps(meeting.get('title'), ensure_ascii=False)}",
        f"folder    s3://{bucket}/{prefix}",
        f"started   {session.get('startedAt') or '-'}",
        f"ended     {session.get('endedAt') or '-'}"
        + (f"  ({session['endReason']})" if session.get("endReason") else ""),
        f"duration  {duration_text(session.get('durationSeconds'))}   state {session.get('state')}",
    ]
    participants = manifest.get("participants") or []
    lines.append(f"participants ({len(participants)})")
    lines.extend(
        f"  {p.get('id')}  {p.get('name') or '-'}" + (f"  <{p['email']}>" if p.get("email") else "")
        for p in participants
    )
    recordings = manifest.get("recordings") or []
    lines.append(f"recordings ({len(recordings)})")
    for recording in recordings:
        size = recording.get("fileSize")
        lines.append(
            f"  {recording.get('id')}  {recording.get('status')}  {recording.get('outputFileName') or '-'}"
            + (f"  {human_bytes(int(size))}" if size else "")
            + (
                f"  {duration_text(recording.get('durationSeconds'))}"
                if recording.get("durationSeconds")
                else ""
            )
        )
    artifacts = manifest.get("artifacts") or []
    counts = manifest.get("artifactCounts") or {}
    lines.append(f"artifacts ({counts.get('archived', 0)} archived, {counts.get('failed', 0)} failed)")
    for artifact in artifacts:
        if artifact.get("state") == "archived":
            key = str(artifact.get("key") or "").removeprefix(prefix)
            lines.append(
                f"  archived  {artifact.get('name')}  {key}  {human_bytes(int(artifact.get('bytes') or 0))}"
                f"  sha256 {str(artifact.get('sha256') or '')[:12]}"
            )
        else:
            lines.append(
                f"  FAILED    {artifact.get('name')}  reason {artifact.get('reason')}: {artifact.get('message') or '-'}"
            )
    derived = manifest.get("derivedFiles") or []
    lines.append(f"derived files ({len(derived)}): {', '.join(str(d.get('path')) for d in derived)}")
    events = manifest.get("events") or {}
    by_type = ", ".join(f"{name} {count}" for name, count in (events.get("byType") or {}).items())
    lines.append(f"events ({events.get('count', 0)}): {by_type or '-'}")
    return lines


@dataclass
class Download:
    files: int = 0
    bytes: int = 0


def download_session(
    s3: Any,
    bucket: str,
    meeting_id: str,
    session_id: str,
    out: Path,
    *,
    echo: Callable[[str], None] = lambda _: None,
) -> Download:
    """Every object of the session folder into ``out``, keeping the folder's layout. Each file is
    written to a temporary name and renamed, so an interrupted download leaves no torn file."""
    prefix = session_prefix(meeting_id, session_id)
    result = Download()
    root = out.resolve()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = str(item["Key"])[len(prefix) :]
            path = (root / relative).resolve()
            if root not in path.parents:  # keys come from our own layout; refuse anything else
                raise CliError(f"refusing to write {item['Key']} outside {out}")
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
            with partial.open("wb") as handle:
                while chunk := body.read(1024 * 1024):
                    handle.write(chunk)
            os.replace(partial, path)
            result.files += 1
            result.bytes += int(item["Size"])
            echo(f"  {relative}  {human_bytes(int(item['Size']))}")
    if result.files == 0:
        raise CliError(f"session {meeting_id}/{session_id} has no objects in s3://{bucket}/")
    return result


# -- commands --------------------------------------------------------------------------------------
def sessions_command(
    target: Target,
    *,
    meeting_id: str | None,
    since: datetime | None,
    as_json: bool,
    echo: Callable[[str], None],
) -> list[SessionRow]:
    rows = session_rows(target.client("s3"), target.bucket, meeting_id=meeting_id, since=since)
    if as_json:
        echo(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
    elif not rows:
        echo(f"no archived sessions in s3://{target.bucket}/ ({target.description})")
    else:
        for line in render_table(rows):
            echo(line)
        echo(f"{len(rows)} sessions in s3://{target.bucket}/")
    return rows


def _locate(target: Target, reference: str) -> tuple[str, str]:
    return find_session(
        target.client("s3"), target.bucket, target.sessions_table, target.client("dynamodb"), reference
    )


def show_command(target: Target, reference: str, *, as_json: bool, echo: Callable[[str], None]) -> None:
    meeting_id, session_id = _locate(target, reference)
    manifest = load_manifest(target.client("s3"), target.bucket, meeting_id, session_id)
    if as_json:
        echo(json.dumps(manifest, ensure_ascii=False, indent=2))
        return
    for line in render_manifest(manifest, bucket=target.bucket):
        echo(line)


def get_command(target: Target, reference: str, *, out: Path, echo: Callable[[str], None]) -> Download:
    meeting_id, session_id = _locate(target, reference)
    echo(f"s3://{target.bucket}/{session_prefix(meeting_id, session_id)} -> {out}/")
    result = download_session(target.client("s3"), target.bucket, meeting_id, session_id, out, echo=echo)
    echo(f"{result.files} files, {human_bytes(result.bytes)}")
    return result
