"""Keeps the session record and the files derived from it up to date.

Every function that changes a session's facts (the sessions consumer for webhooks, the artifact
consumers for files) calls ``publish`` afterwards, which rewrites every derived file from the
whole record: ``session.json``, the participant files, the session page ``index.html``, and the normalized transcript and chat (their
participant ids come from the roster, which a late join webhook can change). Writers can race:
each one re-reads the version after writing and writes again if the record moved on meanwhile,
so the last writer to finish always leaves the files of the latest record.

The session's summary item (``shared.session.listing``) is rewritten with the files, from the same
manifest. A session ``meeting-vault forget`` erased records nothing and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.adapters.s3 import ArchiveStore
from shared.archive.keys import session_prefix
from shared.ingest.envelope import WebhookDetail
from shared.session.listing import summarize
from shared.session.model import (
    CHAT_SOURCE,
    SUMMARY_SOURCE,
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    SeenEvent,
    archived_source,
    build_outputs,
)
from shared.session.store import SessionStore

if TYPE_CHECKING:
    from shared.session.announce import SessionAnnouncer

MAX_REWRITES = 5


class SessionRecorder:
    def __init__(
        self,
        store: SessionStore,
        archive: ArchiveStore,
        announcer: SessionAnnouncer | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._archive = archive
        self._announcer = announcer  # session.archived once every known artifact has settled
        self._clock = clock or (lambda: datetime.now(UTC))

    def is_erased(self, meeting_id: str, session_id: str) -> bool:
        """Erased by ``meeting-vault forget``: one GetItem, the check before archiving anything."""
        return self._store.is_erased(meeting_id, session_id)

    def record_event(self, detail: WebhookDetail) -> bool:
        """Add a verified webhook to its session; False when it belongs to no session. The caller
        (``take_in_event``) has checked the session is not erased."""
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
        if self.is_erased(meeting_id, session_id):
            return
        self._store.put_artifact(meeting_id, session_id, record)
        self.publish(meeting_id, session_id)

    def publish(self, meeting_id: str, session_id: str) -> None:
        self._store.bump_version(meeting_id, session_id)
        prefix = session_prefix(meeting_id, session_id)
        for _ in range(MAX_REWRITES):
            facts, version = self._store.load(meeting_id, session_id)
            if facts.erased:  # erased while this writer worked: leave nothing behind
                return
            sources = {}
            for name in (TRANSCRIPT_SOURCE, CHAT_SOURCE, SUMMARY_SOURCE):
                record = archived_source(facts, name)
                if record is not None and record.key:
                    sources[name] = self._archive.get_bytes(record.key)
            outputs = build_outputs(facts, sources)
            # session.json last: whoever reads it finds the files it lists already there.
            for path, (data, content_type) in sorted(
                outputs.files.items(), key=lambda f: f[0] == "session.json"
            ):
                self._archive.put_bytes(prefix + path, data, content_type=content_type)
            for key, (data, content_type) in outputs.index.items():  # the search index's rows
                self._archive.put_bytes(key, data, content_type=content_type)
            self._store.put_summary(summarize(json.loads(outputs.manifest), now=self._clock()))
            if self._store.version(meeting_id, session_id) == version:
                if self._announcer is not None:
                    self._announcer.announce(facts, json.loads(outputs.manifest))
                return
