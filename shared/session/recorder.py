"""Keeps the session record and the files derived from it up to date.

Every function that changes a session's facts (the sessions consumer for webhooks, the artifact
consumers for files) calls ``publish`` afterwards, which rewrites every derived file from the
whole record: ``session.json``, the participant files, and the normalized transcript and chat (their
participant ids come from the roster, which a late join webhook can change). Writers can race:
each one re-reads the version after writing and writes again if the record moved on meanwhile,
so the last writer to finish always leaves the files of the latest record."""

from __future__ import annotations

from shared.adapters.s3 import ArchiveStore
from shared.archive.keys import session_prefix
from shared.ingest.envelope import WebhookDetail
from shared.session.model import (
    CHAT_SOURCE,
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    SeenEvent,
    archived_source,
    build_outputs,
)
from shared.session.store import SessionStore

MAX_REWRITES = 5


class SessionRecorder:
    def __init__(self, store: SessionStore, archive: ArchiveStore) -> None:
        self._store = store
        self._archive = archive

    def record_event(self, detail: WebhookDetail) -> bool:
        """Add a verified webhook to its session; False when it belongs to no session."""
        if not (
            detail.valid and detail.meeting_id and detail.session_id and isinstance(detail.payload, dict)
        ):
            return False
        seen = SeenEvent(
            digest=detail.delivery.body_sha256,
            event=detail.event or "",
            payload=detail.payload,
            synthesized=detail.synthesized,
        )
        self._store.add_event(detail.meeting_id, detail.session_id, seen)
        self.publish(detail.meeting_id, detail.session_id)
        return True

    def record_artifact(self, meeting_id: str, session_id: str, record: ArtifactRecord) -> None:
        self._store.put_artifact(meeting_id, session_id, record)
        self.publish(meeting_id, session_id)

    def publish(self, meeting_id: str, session_id: str) -> None:
        self._store.bump_version(meeting_id, session_id)
        prefix = session_prefix(meeting_id, session_id)
        for _ in range(MAX_REWRITES):
            facts, version = self._store.load(meeting_id, session_id)
            sources = {}
            for name in (TRANSCRIPT_SOURCE, CHAT_SOURCE):
                record = archived_source(facts, name)
                if record is not None and record.key:
                    sources[name] = self._archive.get_bytes(record.key)
            outputs = build_outputs(facts, sources)
            # session.json last: whoever reads it finds the files it lists already there.
            for path, (data, content_type) in sorted(
                outputs.files.items(), key=lambda f: f[0] == "session.json"
            ):
                self._archive.put_bytes(prefix + path, data, content_type=content_type)
            if self._store.version(meeting_id, session_id) == version:
                return
