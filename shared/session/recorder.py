"""Keeps the session record and the files derived from it up to date.

Recording a fact is cheap: the fact's own item, plus one write that counts the change and flags the
session as needing a rebuild (``shared.session.rebuild`` says how the requests coalesce: at most one
rebuild per session per window, and an immediate one at ``meeting.ended`` and for every archived or
failed artifact). ``rebuild`` is the one place every derived file is written from the whole record:
``session.json``, the participant files, the session page ``index.html``, the search index's rows,
and the normalized transcript and chat (their participant
ids come from the roster, which a late join webhook can change). It writes only the files whose
bytes changed, and keeps parsed and rendered transcripts and chats in memory
(``CachingNormalizer``), so a rebuild whose sources and roster did not change downloads and parses
nothing.

The session's summary item (``shared.session.listing``) is rewritten with the files, from the same
manifest, and ``session.archived`` is announced once every known artifact has settled. A session
``meeting-vault forget`` erased records nothing and writes nothing.

Without a rebuild queue (unit tests, scripts) every change is rebuilt at once, in the caller."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.adapters.s3 import ArchiveStore
from shared.archive.keys import is_safe_id, session_prefix
from shared.ingest.envelope import WebhookDetail
from shared.normalize.seed_models import iso_utc
from shared.session.listing import summarize
from shared.session.model import (
    CHAT_SOURCE,
    SUMMARY_SOURCE,
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    CachingNormalizer,
    Normalizer,
    SeenEvent,
    SessionFacts,
    archived_sources,
    build_outputs,
)
from shared.session.rebuild import RebuildRequests
from shared.session.store import SessionStore

if TYPE_CHECKING:
    from shared.session.announce import SessionAnnouncer

MAX_REWRITES = 5  # inline mode: rebuild again while concurrent writers move the record on
IMMEDIATE_EVENTS = frozenset({"meeting.ended"})
SOURCE_CACHE_BYTES = 64 * 1024 * 1024
# The listing items' digest, kept with the derived files' (never an S3 key: keys have no '#').
SUMMARY_MARK = "#listing"


@dataclass
class RebuildResult:
    meeting_id: str
    session_id: str
    version: int = 0
    skipped: bool = False  # the files already reflected the record
    put: list[str] = field(default_factory=list)  # derived paths written
    unchanged: list[str] = field(default_factory=list)  # derived paths whose bytes were already stored
    finished: bool = True  # False: the record moved on meanwhile and another rebuild was asked for


class SessionRecorder:
    def __init__(
        self,
        store: SessionStore,
        archive: ArchiveStore,
        announcer: SessionAnnouncer | None = None,
        *,
        requests: RebuildRequests | None = None,
        window_seconds: int = 0,
        stale_after_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
        normalizer: Normalizer | None = None,
    ) -> None:
        self._store = store
        self._archive = archive
        self._requests = requests
        self._window = window_seconds
        self._stale_after = stale_after_seconds if stale_after_seconds is not None else window_seconds + 120
        self._clock = clock
        self._normalizer = normalizer or CachingNormalizer()
        self._sources: dict[tuple[str, str], bytes] = {}
        self._announcer = announcer  # session.archived once every known artifact has settled

    def is_erased(self, meeting_id: str, session_id: str) -> bool:
        """Erased by ``meeting-vault forget``: one GetItem, the check before archiving anything."""
        return self._store.is_erased(meeting_id, session_id)

    def erased_check(self, sessions: Iterable[tuple[str, str]]) -> Callable[[str, str], bool]:
        """:meth:`is_erased` for a batch: the named sessions' tombstones read together, up front
        (one BatchGetItem, not a GetItem per webhook); a session not named is read when asked."""
        checked = set(sessions)
        erased = self._store.erased_among(checked) if checked else set()

        def is_erased(meeting_id: str, session_id: str) -> bool:
            if (meeting_id, session_id) in checked:
                return (meeting_id, session_id) in erased
            return self.is_erased(meeting_id, session_id)

        return is_erased

    # -- recording facts ----------------------------------------------------------------------------
    def record_event(self, detail: WebhookDetail) -> bool:
        """Add a verified webhook to its session; False when it belongs to no session."""
        if not (
            detail.valid
            and is_safe_id(detail.meeting_id)
            and is_safe_id(detail.session_id)
            and isinstance(detail.payload, dict)
        ):
            # Unattributed (no ids, or ids that cannot name a folder, e.g. an old detail replayed
            # from the bus archive): its body is under unattributed/, and no session record is made.
            return False
        seen = SeenEvent(
            digest=detail.delivery.body_sha256,
            event=detail.event or "",
            payload=detail.payload,
            synthesized=detail.synthesized,
        )
        self._store.add_event(detail.meeting_id, detail.session_id, seen)
        self.changed(detail.meeting_id, detail.session_id, immediate=seen.event in IMMEDIATE_EVENTS)
        return True

    def record_artifact(self, meeting_id: str, session_id: str, record: ArtifactRecord) -> None:
        if self.is_erased(meeting_id, session_id):
            return
        self._store.put_artifact(meeting_id, session_id, record)
        self.changed(meeting_id, session_id, immediate=True)

    def changed(self, meeting_id: str, session_id: str, *, immediate: bool = False) -> None:
        """The record changed: flag it and, unless a request is already on its way, ask for a
        rebuild (when its window ends, or at once when ``immediate``)."""
        now = self._clock()
        pending_since = self._store.mark_changed(meeting_id, session_id, now=now)
        if self._requests is None:
            self.rebuild(meeting_id, session_id)
            return
        if immediate:
            self._requests.request(meeting_id, session_id, delay_seconds=0)
        elif pending_since is None:
            self._requests.request(meeting_id, session_id, delay_seconds=self.window_delay(session_id, now))
        elif now - pending_since > self._stale_after:
            # The flag outlived its request (lost, or its rebuild failed for good): ask again.
            self._requests.request(meeting_id, session_id, delay_seconds=0)

    def window_delay(self, session_id: str, now: float) -> int:
        """Seconds until the session's current window ends. Windows are aligned per session (their
        start offset by a hash of the session id, so sessions do not all rebuild in the same second):
        a request is due at the start of the next window, and a new one is sent only once its
        rebuild cleared the flag, so each window holds at most one windowed rebuild however the
        facts arrive, and a session of any size costs at most one rebuild per window of its life."""
        if self._window <= 0:
            return 0
        offset = int(hashlib.sha256(session_id.encode()).hexdigest()[:8], 16) % self._window
        return self._window - int((now - offset) % self._window)

    # -- rebuilding -----------------------------------------------------------------------------------
    def rebuild(self, meeting_id: str, session_id: str, *, recheck: bool = False) -> RebuildResult:
        """Write every derived file of the session from its whole record, skipping the files whose
        bytes are already stored; session.json last, so whoever reads it finds the files it lists.

        Rebuilds of one session can overlap (an immediate request per artifact, a windowed one per
        burst), and an older one's PUTs can land after a newer one's. Its ``finish_rebuild`` then
        fails (the record moved on since it loaded it), so it asks for a ``recheck``: a rebuild that
        runs even when the record says the files are current (the newer rebuild may have finished
        meanwhile), and compares each file with the stored object's SHA-256, not with the saved
        digests (the older rebuild may have saved its own, or the newer one the right ones over
        stale objects). A request received again (its rebuild failed or timed out, perhaps after
        writing some files) and the sweep's requests are rechecks too."""
        result = RebuildResult(meeting_id, session_id)
        for _ in range(MAX_REWRITES):
            facts, state = self._store.load_for_rebuild(meeting_id, session_id)
            result.version = state.version
            if facts.erased or state.version == 0 or (state.current and not recheck):
                result.skipped = True  # erased, no record, or the files already reflect it
                return result
            built_at = iso_utc(datetime.fromtimestamp(self._clock(), UTC))
            outputs = build_outputs(
                facts,
                self._read_sources(facts),
                normalizer=self._normalizer,
                rebuild={"rebuiltAt": built_at, "recordVersion": state.version},
            )
            prefix = session_prefix(meeting_id, session_id)
            written = {} if recheck else dict(state.written)
            for path, (data, content_type) in sorted(
                outputs.files.items(), key=lambda f: (f[0] == "session.json", f[0])
            ):
                digest = hashlib.sha256(data).hexdigest()
                stored = written.get(path) or self._archive.stored_sha256(prefix + path)
                if stored == digest:
                    result.unchanged.append(path)
                else:
                    self._archive.put_bytes(prefix + path, data, content_type=content_type)
                    result.put.append(path)
                written[path] = digest
            for key, (data, content_type) in outputs.index.items():  # the search index's rows
                digest = hashlib.sha256(data).hexdigest()
                if (written.get(key) or self._archive.stored_sha256(key)) != digest:
                    self._archive.put_bytes(key, data, content_type=content_type)
                written[key] = digest
            manifest = json.loads(outputs.manifest)
            summary = summarize(manifest, now=datetime.fromtimestamp(self._clock(), UTC))
            if recheck or written.get(SUMMARY_MARK) != summary.digest:  # its items: only when changed
                self._store.put_summary(summary, batch=True)
                written[SUMMARY_MARK] = summary.digest
            if written != state.written:
                self._store.save_written(meeting_id, session_id, written)
            if self._store.finish_rebuild(meeting_id, session_id, version=state.version, built_at=built_at):
                result.finished = True
                if self._announcer is not None:
                    self._announcer.announce(facts, manifest)
                return result
            result.finished = False
            # Facts arrived while we worked (their writers found the flag set and sent nothing), and
            # a newer rebuild may have written before us: what we wrote may be older than what it did.
            recheck = True
            if self._requests is not None:
                now = self._clock()
                self._store.rearm(meeting_id, session_id, now=now)
                self._requests.request(
                    meeting_id, session_id, delay_seconds=self.window_delay(session_id, now), recheck=True
                )
                return result
        return result

    def _read_sources(self, facts: SessionFacts) -> dict[str, bytes]:
        """The archived transcript and chat sources, downloaded once per environment (keyed by
        their key and SHA-256: a re-archived source is read again)."""
        return archived_sources(facts, (TRANSCRIPT_SOURCE, CHAT_SOURCE, SUMMARY_SOURCE), self._read_source)

    def _read_source(self, record: ArtifactRecord) -> bytes:
        key = record.key or ""
        cache_key = (key, record.sha256 or "")
        data = self._sources.get(cache_key) if record.sha256 else None
        if data is None:
            data = self._archive.get_bytes(key)
            if record.sha256 and hashlib.sha256(data).hexdigest() == record.sha256:
                self._remember(cache_key, data)
        return data

    def _remember(self, key: tuple[str, str], data: bytes) -> None:
        self._sources[key] = data
        while sum(len(v) for v in self._sources.values()) > SOURCE_CACHE_BYTES and len(self._sources) > 1:
            self._sources.pop(next(iter(self._sources)))
