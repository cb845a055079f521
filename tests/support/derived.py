"""Derived files as today's builder makes them, for byte-for-byte comparisons with what the
rebuilds left in S3: ``build_outputs`` called on the final record and its archived sources, the
way every webhook's ``publish`` used to write them, with no cache and no rebuild section."""

from __future__ import annotations

import json
from typing import Any

from shared.archive.keys import session_prefix
from shared.session.model import (
    CHAT_SOURCE,
    SUMMARY_SOURCE,
    TRANSCRIPT_SOURCE,
    archived_source,
    build_outputs,
)
from shared.session.store import SessionStore


def without_rebuild(manifest: bytes) -> bytes:
    """session.json without its ``rebuild`` section, in the builder's own formatting."""
    document = json.loads(manifest)
    document.pop("rebuild", None)
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def reference_files(
    ddb: Any, s3: Any, *, table: str, bucket: str, meeting_id: str, session_id: str
) -> dict[str, bytes]:
    """Every derived file of the session, by full key, as the builder renders the stored record."""
    facts, _ = SessionStore(table, ddb).load(meeting_id, session_id)
    sources = {}
    for name in (TRANSCRIPT_SOURCE, CHAT_SOURCE, SUMMARY_SOURCE):  # what the recorder reads
        record = archived_source(facts, name)
        if record is not None and record.key:
            sources[name] = s3.get_object(Bucket=bucket, Key=record.key)["Body"].read()
    prefix = session_prefix(meeting_id, session_id)
    return {prefix + path: data for path, (data, _) in build_outputs(facts, sources).files.items()}


def differences(reference: dict[str, bytes], stored: dict[str, bytes]) -> list[str]:
    """Keys of derived files whose stored bytes differ from the reference (session.json compared
    without its rebuild section), or that are missing."""
    differing = []
    for key, expected in sorted(reference.items()):
        got = stored.get(key)
        if got is not None and key.endswith("/session.json"):
            got = without_rebuild(got)
        if got != expected:
            differing.append(key)
    return differing
