"""``meeting-vault forget``: erase a session, or every session of a meeting.

For each session, in this order:
1. the tombstone and the session record (``SessionStore.erase``): the tombstone is written first, so
   from then on the consumers and the reconcile sweep archive nothing of the session (they check it
   before downloading or recording), then every other item of the session's partition is deleted;
2. every object version and delete marker under the folder (``meetings/{m}/sessions/{s}/``, or
   ``meetings/{m}/`` for ``--meeting``): the bucket is versioned, and a plain delete only hides data;
3. the consumers' idempotency items (``shared.core.idempotency.session_record_ids``).

What it cannot erase (the EventBridge archive, S3 access logs, DLQ messages, CloudWatch logs) is
listed in docs/runbook.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from cli.backfill import human_bytes
from cli.errors import CliError
from cli.inspect import find_session
from cli.target import Target
from shared.archive.keys import MEETINGS_PREFIX, is_safe_id, session_prefix
from shared.session.store import SessionStore

_DELETE_BATCH = 1000  # S3 DeleteObjects limit


@dataclass
class ObjectVersions:
    versions: list[dict[str, Any]] = field(default_factory=list)  # {"Key", "VersionId", "Size"}
    delete_markers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(int(v.get("Size") or 0) for v in self.versions)

    @property
    def keys(self) -> set[str]:
        return {str(v["Key"]) for v in self.versions + self.delete_markers}


def object_versions(s3: Any, bucket: str, prefix: str) -> ObjectVersions:
    found = ObjectVersions()
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        found.versions += [
            {"Key": v["Key"], "VersionId": v["VersionId"], "Size": v.get("Size", 0)}
            for v in page.get("Versions", [])
        ]
        found.delete_markers += [
            {"Key": m["Key"], "VersionId": m["VersionId"]} for m in page.get("DeleteMarkers", [])
        ]
    return found


def index_versions(s3: Any, bucket: str, session_ids: set[str]) -> ObjectVersions:
    """The sessions' rows in the search index (``index/utterances/date=.../{sessionId}.jsonl``). The
    day in the key is the session's start, which can change as facts arrive: every day is listed."""
    from shared.search.index import INDEX_PREFIX

    every = object_versions(s3, bucket, INDEX_PREFIX)
    ours = ObjectVersions()
    ours.versions = [
        v for v in every.versions if str(v["Key"]).rsplit("/", 1)[-1][: -len(".jsonl")] in session_ids
    ]
    ours.delete_markers = [
        m for m in every.delete_markers if str(m["Key"]).rsplit("/", 1)[-1][: -len(".jsonl")] in session_ids
    ]
    return ours


def delete_versions(s3: Any, bucket: str, found: ObjectVersions) -> int:
    """Delete every listed version and delete marker; returns how many went. Any refusal is an error
    (the tombstone is written already: running forget again finishes the job)."""
    targets = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in found.versions + found.delete_markers]
    deleted = 0
    for start in range(0, len(targets), _DELETE_BATCH):
        answer = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": targets[start : start + _DELETE_BATCH], "Quiet": True}
        )
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise CliError(
                f"S3 refused to delete {len(errors)} object versions (first: {first.get('Key')}: "
                f"{first.get('Code')} {first.get('Message', '')}); run forget again"
            )
        deleted += len(targets[start : start + _DELETE_BATCH])
    return deleted


def _recording_ids(store: SessionStore, s3: Any, bucket: str, meeting_id: str, session_id: str) -> set[str]:
    """Recording ids the recordings consumer keyed its work on: from the record and session.json."""
    facts, _ = store.load(meeting_id, session_id)
    ids = {a.name.split("/")[1] for a in facts.artifacts if a.name.startswith("recording/")}
    for event in facts.events:
        recording = event.payload.get("recording") if isinstance(event.payload, dict) else None
        if isinstance(recording, dict) and isinstance(recording.get("id"), str):
            ids.add(recording["id"])
    try:
        body = s3.get_object(Bucket=bucket, Key=session_prefix(meeting_id, session_id) + "session.json")
        manifest = json.loads(body["Body"].read())
        ids.update(str(r["id"]) for r in manifest.get("recordings") or [] if r.get("id"))
    except ClientError:
        pass  # no manifest (yet, or any more): the record is the other source
    return ids


def delete_idempotency_items(ddb: Any, table: str, ids: list[str]) -> int:
    deleted = 0
    for record_id in ids:
        old = ddb.delete_item(TableName=table, Key={"id": {"S": record_id}}, ReturnValues="ALL_OLD")
        deleted += 1 if old.get("Attributes") else 0
    return deleted


@dataclass
class ForgottenSession:
    meeting_id: str
    session_id: str
    record_items: int = 0
    events: int = 0
    artifacts: int = 0
    idempotency_items: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "meetingId": self.meeting_id,
            "sessionId": self.session_id,
            "recordItems": self.record_items,
            "events": self.events,
            "artifacts": self.artifacts,
            "idempotencyItems": self.idempotency_items,
            "tombstone": True,
        }


@dataclass
class ForgetReport:
    bucket: str
    prefix: str
    sessions: list[ForgottenSession] = field(default_factory=list)
    object_versions: int = 0
    delete_markers: int = 0
    bytes: int = 0
    keys: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "prefix": f"s3://{self.bucket}/{self.prefix}",
            "objectVersions": self.object_versions,
            "deleteMarkers": self.delete_markers,
            "bytes": self.bytes,
            "keys": self.keys,
            "sessions": [s.as_json() for s in self.sessions],
        }


def _sessions_of_meeting(store: SessionStore, s3: Any, bucket: str, meeting_id: str) -> list[str]:
    """The meeting's sessions in the index and in the bucket (one meeting's folder, listed by folder)."""
    found = set(store.meeting_sessions(meeting_id))
    prefix = f"{MEETINGS_PREFIX}/{meeting_id}/sessions/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            name = str(common["Prefix"])[len(prefix) :].rstrip("/")
            if is_safe_id(name):
                found.add(name)
    return sorted(found)


def forget_command(
    target: Target,
    *,
    session: str | None,
    meeting_id: str | None,
    confirm: Callable[[str], bool] | None,
    as_json: bool,
    echo: Callable[[str], None],
) -> ForgetReport:
    s3, ddb = target.client("s3"), target.client("dynamodb")
    store = SessionStore(target.sessions_table, ddb)
    if meeting_id is not None:
        if not is_safe_id(meeting_id):
            raise CliError(f"{meeting_id!r} is not a meeting id")
        pairs = [(meeting_id, s) for s in _sessions_of_meeting(store, s3, target.bucket, meeting_id)]
        prefix = f"{MEETINGS_PREFIX}/{meeting_id}/"
    else:
        assert session is not None
        pairs = [find_session(store, session, s3=s3, bucket=target.bucket)]
        prefix = session_prefix(*pairs[0])
    found = object_versions(s3, target.bucket, prefix)
    indexed = index_versions(s3, target.bucket, {session_id for _, session_id in pairs})
    found.versions += indexed.versions
    found.delete_markers += indexed.delete_markers
    if not pairs and not found.versions and not found.delete_markers:
        raise CliError(f"nothing archived for meeting {meeting_id} (s3://{target.bucket}/{prefix})")
    plan = (
        f"erase {len(pairs)} session(s) under s3://{target.bucket}/{prefix}: "
        f"{len(found.versions)} object versions ({human_bytes(found.bytes)}) of {len(found.keys)} keys, "
        f"{len(found.delete_markers)} delete markers, the session records and idempotency items. "
        "This cannot be undone."
    )
    if confirm is not None:
        echo(plan)
        if not confirm("Erase?"):
            raise CliError("not confirmed: nothing erased")
    report = ForgetReport(bucket=target.bucket, prefix=prefix, bytes=found.bytes, keys=len(found.keys))
    now = datetime.now(UTC)
    for pair in pairs:
        recording_ids = _recording_ids(store, s3, target.bucket, *pair)
        erased = store.erase(*pair, erased_at=now)  # the tombstone first
        report.sessions.append(
            ForgottenSession(
                meeting_id=pair[0],
                session_id=pair[1],
                record_items=len(erased.sort_keys),
                events=erased.events,
                artifacts=erased.artifacts,
            )
        )
        report.sessions[-1].idempotency_items = _forget_work(target, ddb, pair[1], recording_ids)
    report.object_versions = len(found.versions)
    report.delete_markers = len(found.delete_markers)
    delete_versions(s3, target.bucket, found)
    # A consumer that was mid-download when the tombstone landed may have written since the listing.
    late = object_versions(s3, target.bucket, prefix)
    late_index = index_versions(s3, target.bucket, {gone.session_id for gone in report.sessions})
    late.versions += late_index.versions
    late.delete_markers += late_index.delete_markers
    if late.versions or late.delete_markers:
        delete_versions(s3, target.bucket, late)
        report.object_versions += len(late.versions)
        report.delete_markers += len(late.delete_markers)
        report.bytes += late.bytes
    if as_json:
        echo(json.dumps(report.as_json(), indent=2))
        return report
    echo(
        f"deleted {report.object_versions} object versions ({human_bytes(report.bytes)}) and "
        f"{report.delete_markers} delete markers under s3://{target.bucket}/{prefix}"
    )
    for gone in report.sessions:
        echo(
            f"  {gone.meeting_id}/{gone.session_id}: session record ({gone.record_items} items: "
            f"{gone.events} events, {gone.artifacts} artifacts), {gone.idempotency_items} idempotency "
            "items; tombstone written"
        )
    echo(
        "not erasable here: the EventBridge archive and S3 access logs keep it until their retention ends (docs/runbook.md)"
    )
    return report


def _forget_work(target: Target, ddb: Any, session_id: str, recording_ids: set[str]) -> int:
    if not target.idempotency_table:
        return 0
    from shared.core.idempotency import session_record_ids  # Powertools: loaded only here

    return delete_idempotency_items(
        ddb, target.idempotency_table, session_record_ids(session_id, recording_ids)
    )
