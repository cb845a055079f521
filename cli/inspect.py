"""``meeting-vault sessions``, ``show`` and ``get``: what the archive holds.

``sessions`` reads one page of the sessions table's listing index (``shared.session.listing``),
never the bucket, so its cost does not grow with the archive. ``show`` resolves a session id with one
index query and reads that session's ``session.json``. ``get`` downloads the session folder through
s3transfer (parallel ranged reads of large files), skipping files already complete."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from cli.backfill import human_bytes
from cli.errors import CliError
from cli.target import Target
from shared.archive.keys import MEETINGS_PREFIX, is_safe_id, session_prefix
from shared.session.listing import parse_time
from shared.session.store import SessionStore


def _get_json(s3: Any, bucket: str, key: str) -> Any:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            return None
        raise
    return json.loads(body)


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
    status: str | None = None
    participants: int = 0
    archived: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @classmethod
    def of_index(cls, row: dict[str, Any]) -> SessionRow:
        """A row as the listing index stores it (``shared.session.listing.summarize``)."""
        return cls(
            meeting_id=str(row.get("meetingId")),
            session_id=str(row.get("sessionId")),
            title=row.get("title"),
            started_at=parse_time(row.get("startedAt")),
            duration_seconds=row.get("durationSeconds"),
            state=row.get("state"),
            status=row.get("status"),
            participants=int(row.get("participants") or 0),
            archived=list(row.get("archived") or []),
            failed=list(row.get("failed") or []),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "meetingId": self.meeting_id,
            "sessionId": self.session_id,
            "title": self.title,
            "startedAt": self.started_at.isoformat().replace("+00:00", "Z") if self.started_at else None,
            "durationSeconds": self.duration_seconds,
            "state": self.state,
            "status": self.status,
            "participants": self.participants,
            "archived": self.archived,
            "failed": self.failed,
        }


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
    store: SessionStore, reference: str, *, s3: Any = None, bucket: str | None = None
) -> tuple[str, str]:
    """``meetingId/sessionId`` as given, or a session id alone: one query of the listing index. Only
    when the index does not know the id (a session archived before the index existed, or whose
    record was wiped for a rebuild) and ``s3`` is given, the bucket's meeting folders are searched."""
    if "/" in reference:
        meeting_id, _, session_id = reference.partition("/")
        if is_safe_id(meeting_id) and is_safe_id(session_id):
            return meeting_id, session_id
        raise CliError(f"{reference!r} is not MEETING_ID/SESSION_ID")
    if not is_safe_id(reference):
        raise CliError(f"{reference!r} is not a session id")
    matches = store.sessions_with_id(reference)
    if not matches and s3 is not None and bucket:
        matches = _sessions_in_bucket(s3, bucket, reference)
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(f"{m}/{s}" for m, s in matches)
        raise CliError(
            f"session id {reference} is in several meetings ({listed}): pass MEETING_ID/SESSION_ID"
        )
    where = f" nor in s3://{bucket}/{MEETINGS_PREFIX}/" if s3 is not None and bucket else ""
    raise CliError(
        f"session {reference} is not in the sessions index ({store.table_name}){where}: check the id, "
        "or pass MEETING_ID/SESSION_ID"
    )


def _sessions_in_bucket(s3: Any, bucket: str, session_id: str) -> list[tuple[str, str]]:
    """The meetings whose folder holds this session (one delimiter listing, then one probe per meeting)."""
    found = []
    root = f"{MEETINGS_PREFIX}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            meeting_id = str(common["Prefix"])[len(root) :].rstrip("/")
            if not is_safe_id(meeting_id):
                continue
            probe = s3.list_objects_v2(
                Bucket=bucket, Prefix=session_prefix(meeting_id, session_id), MaxKeys=1
            )
            if probe.get("KeyCount", 0):
                found.append((meeting_id, session_id))
    return found


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
    skipped: int = 0  # already complete in the output folder (resume)
    paths: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "skipped": self.skipped, "paths": self.paths}


PART_SUFFIX = ".part"
MULTIPART_THRESHOLD = 16 * 1024 * 1024  # larger files are fetched as parallel ranged GETs
MAX_CONCURRENCY = 8


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _complete(path: Path, size: int, sha256: str | None) -> bool:
    """A file a previous run finished: same size, and the manifest's sha256 when it gives one."""
    if not path.is_file() or path.stat().st_size != size:
        return False
    return sha256 is None or _sha256_of(path) == sha256


def download_session(
    s3: Any,
    bucket: str,
    meeting_id: str,
    session_id: str,
    out: Path,
    *,
    replace: bool = False,
    echo: Callable[[str], None] = lambda _: None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Download:
    """Every object of the session folder into ``out``, keeping the folder's layout.

    Each file goes through s3transfer's ``download_file`` (ranged GETs in parallel above
    ``MULTIPART_THRESHOLD``) into ``NAME.part``, is checked against the listed size, then renamed:
    an interrupted run leaves no torn file under the real name. The next run skips files already
    complete (size, and sha256 where session.json lists it) and downloads the rest again from the
    start, replacing any ``.part`` left behind; ``replace`` downloads everything again."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, max_concurrency=MAX_CONCURRENCY)
    prefix = session_prefix(meeting_id, session_id)
    manifest = _get_json(s3, bucket, prefix + "session.json") or {}
    digests = {
        str(a["key"]): str(a["sha256"])
        for a in manifest.get("artifacts") or []
        if a.get("key") and a.get("sha256")
    }
    digests |= {prefix + str(d["path"]): str(d["sha256"]) for d in manifest.get("derivedFiles") or []}
    items = [
        item
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    if not items:
        raise CliError(f"session {meeting_id}/{session_id} has no objects in s3://{bucket}/")
    if on_total:
        on_total(sum(int(item["Size"]) for item in items))
    result = Download()
    root = out.resolve()
    for item in items:
        key, size = str(item["Key"]), int(item["Size"])
        relative = key[len(prefix) :]
        path = (root / relative).resolve()
        if root not in path.parents:  # keys come from our own layout; refuse anything else
            raise CliError(f"refusing to write {key} outside {out}")
        if not replace and _complete(path, size, digests.get(key)):
            result.skipped += 1
            if progress:
                progress(size)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + PART_SUFFIX)
        s3.download_file(bucket, key, str(partial), Callback=progress, Config=config)
        if partial.stat().st_size != size:
            raise CliError(f"{key}: got {partial.stat().st_size} bytes, expected {size}; run get again")
        os.replace(partial, path)
        result.files += 1
        result.bytes += size
        result.paths.append(relative)
        echo(f"  {relative}  {human_bytes(size)}")
    return result


# -- commands --------------------------------------------------------------------------------------
def _store(target: Target) -> SessionStore:
    return SessionStore(target.sessions_table, target.client("dynamodb"))


def sessions_command(
    target: Target,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    meeting_id: str | None = None,
    state: str | None = None,
    limit: int = 50,
    next_token: str | None = None,
    as_json: bool,
    echo: Callable[[str], None],
) -> list[SessionRow]:
    if meeting_id is not None and not is_safe_id(meeting_id):
        raise CliError(f"{meeting_id!r} is not a meeting id")
    try:
        page = _store(target).list_page(
            since=since,
            until=until,
            meeting_id=meeting_id,
            state=state,  # type: ignore[arg-type]  # click.Choice gave one of ListState
            limit=limit,
            next_token=next_token,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    rows = [SessionRow.of_index(row) for row in page.rows]
    if as_json:
        document = {"sessions": [row.as_json() for row in rows], "next": page.next_token}
        echo(json.dumps(document, ensure_ascii=False, indent=2))
        return rows
    if not rows:
        echo(f"no archived sessions match ({target.description})")
    else:
        for line in render_table(rows):
            echo(line)
        echo(f"{len(rows)} sessions")
    if page.next_token:
        echo(f"more: meeting-vault sessions ... --next {page.next_token}")
    return rows


def _locate(target: Target, reference: str) -> tuple[str, str]:
    return find_session(_store(target), reference, s3=target.client("s3"), bucket=target.bucket)


def show_command(target: Target, reference: str, *, as_json: bool, echo: Callable[[str], None]) -> None:
    meeting_id, session_id = _locate(target, reference)
    manifest = load_manifest(target.client("s3"), target.bucket, meeting_id, session_id)
    if as_json:
        echo(json.dumps(manifest, ensure_ascii=False, indent=2))
        return
    for line in render_manifest(manifest, bucket=target.bucket):
        echo(line)


def get_command(
    target: Target,
    reference: str,
    *,
    out: Path,
    replace: bool = False,
    as_json: bool = False,
    echo: Callable[[str], None],
    progress_bar: bool = False,
) -> Download:
    meeting_id, session_id = _locate(target, reference)
    quiet: Callable[[str], None] = (lambda _: None) if as_json or progress_bar else echo
    if not as_json:
        echo(f"s3://{target.bucket}/{session_prefix(meeting_id, session_id)} -> {out}/")
    s3 = target.client("s3")
    if progress_bar:
        result = _download_with_bar(s3, target.bucket, meeting_id, session_id, out, replace=replace)
    else:
        result = download_session(s3, target.bucket, meeting_id, session_id, out, replace=replace, echo=quiet)
    if as_json:
        echo(json.dumps(result.as_json(), indent=2))
    else:
        skipped = f" ({result.skipped} already complete)" if result.skipped else ""
        echo(f"{result.files} files, {human_bytes(result.bytes)}{skipped}")
    return result


def _download_with_bar(
    s3: Any, bucket: str, meeting_id: str, session_id: str, out: Path, *, replace: bool
) -> Download:
    import threading

    import click

    lock = threading.Lock()
    holder: dict[str, Any] = {}

    def on_total(total: int) -> None:
        holder["bar"] = click.progressbar(length=total, label="downloading", file=sys.stderr, show_pos=False)
        holder["bar"].__enter__()

    def progress(amount: int) -> None:  # s3transfer calls it from its worker threads
        with lock:
            holder["bar"].update(amount)

    try:
        return download_session(
            s3, bucket, meeting_id, session_id, out, replace=replace, progress=progress, on_total=on_total
        )
    finally:
        if "bar" in holder:
            holder["bar"].__exit__(None, None, None)
