"""The bot events consumer's work: raw bodies under ``events/``, facts in the session record,
then every derived file rewritten from the whole record (``normalize.build_bot_outputs``: the same
files as a RealtimeKit session's, session page included), its search index rows and its listing item.

Same record as RealtimeKit sessions (``shared.session.store``: one item per body digest, so a
duplicate changes nothing) and the same last-writer-wins rewrite loop."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from shared.adapters.s3 import ArchiveStore
from shared.archive.keys import session_prefix
from shared.ingest.envelope import WebhookDetail
from shared.session.intake import archive_raw_event
from shared.session.listing import summarize
from shared.session.model import ArtifactRecord, SeenEvent
from shared.session.store import SessionStore
from shared.sources.meeting_bot.normalize import build_bot_outputs
from shared.sources.meeting_bot.payloads import FRAME_STORED, PARTIAL_TRANSCRIPT

MAX_REWRITES = 5


class BotSessionRecorder:
    def __init__(self, store: SessionStore, archive: ArchiveStore, *, keep_partial_transcripts: bool) -> None:
        self._store = store
        self._archive = archive
        self._keep_partial = keep_partial_transcripts

    def take_in(self, detail: WebhookDetail) -> tuple[str, str] | None:
        """Archive and record one bus event; the session it touched (None: unattributed)."""
        partial_dropped = detail.event == PARTIAL_TRANSCRIPT and not self._keep_partial
        if detail.event != FRAME_STORED and not partial_dropped:
            archive_raw_event(detail, self._archive)
        if not (
            detail.valid and detail.meeting_id and detail.session_id and isinstance(detail.payload, dict)
        ):
            return None
        # A partial transcript not kept is still counted: its fact carries no payload.
        payload = {} if partial_dropped else detail.payload
        seen = SeenEvent(digest=detail.delivery.body_sha256, event=detail.event or "", payload=payload)
        self._store.add_event(detail.meeting_id, detail.session_id, seen)
        return detail.meeting_id, detail.session_id

    def record_artifact(self, meeting_id: str, session_id: str, record: ArtifactRecord) -> None:
        self._store.put_artifact(meeting_id, session_id, record)
        self.publish(meeting_id, session_id)

    def publish(self, meeting_id: str, session_id: str) -> None:
        self._store.bump_version(meeting_id, session_id)
        prefix = session_prefix(meeting_id, session_id)
        for _ in range(MAX_REWRITES):
            facts, version = self._store.load(meeting_id, session_id)
            outputs = build_bot_outputs(facts, keep_partial=self._keep_partial)
            # session.json last: whoever reads it finds the files it lists already there.
            for path, (data, content_type) in sorted(
                outputs.files.items(), key=lambda f: f[0] == "session.json"
            ):
                self._archive.put_bytes(prefix + path, data, content_type=content_type)
            for key, (data, content_type) in outputs.index.items():  # the search index's rows
                self._archive.put_bytes(key, data, content_type=content_type)
            # The listing the CLI reads (``meeting-vault sessions``, ``show``, ``status``).
            manifest = json.loads(outputs.files["session.json"][0])
            self._store.put_summary(summarize(manifest, now=datetime.now(UTC)))
            if self._store.version(meeting_id, session_id) == version:
                return
