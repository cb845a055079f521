"""A session as facts (the webhooks seen, the artifacts archived or failed, the transcript's
speakers) and the files derived from them: ``session.json``, ``participants.json`` and
``participant_events.json``. Pure: the same set of facts gives byte-identical files, whatever
order or how many times they arrived."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.archive.keys import session_prefix
from shared.ingest.events import parse_event
from shared.normalize.chat import chat_events, chat_senders, chat_to_json, parse_chat
from shared.normalize.participants import (
    PresenceEvent,
    Roster,
    Speaker,
    build_roster,
    participant_events_document,
    participant_events_to_json,
    participants_document,
    participants_to_json,
)
from shared.normalize.rest_participants import PARTICIPANTS_EVENT, rest_presence
from shared.normalize.seed_models import ParticipantEventsDocument, dump_document, iso_utc
from shared.normalize.transcript import (
    Transcript,
    parse_transcript,
    rebase_transcript,
    speaker_timeline_to_json,
    transcript_to_json,
    transcript_to_srt,
    transcript_to_txt,
    transcript_to_vtt,
)
from shared.page.render import PAGE_CONTENT_TYPE, PAGE_NAME, PageInputs, render_session_page
from shared.search.index import index_day, utterance_index_key, utterance_rows

MANIFEST_SCHEMA = "meeting-vault/session@1"
PRESENCE_EVENTS = ("meeting.participantJoined", "meeting.participantLeft")
# Webhooks are unordered and several statuses share a timestamp: order statuses by lifecycle.
RECORDING_LIFECYCLE = {"INVOKED": 0, "RECORDING": 1, "PAUSED": 2, "UPLOADING": 3, "UPLOADED": 4, "ERRORED": 5}


def _status_rank(status: str) -> tuple[int, str]:
    return (RECORDING_LIFECYCLE.get(status, -1), status)


class ArtifactState(StrEnum):
    ARCHIVED = "archived"
    FAILED = "failed"


class ArtifactRecord(BaseModel):
    """One file of the session, archived or failed. ``name`` is unique within the session
    (e.g. ``recording/<id>/video``, ``transcript/source``) so a retry replaces its own record."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    state: ArtifactState
    key: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    archived_at: datetime | None = None
    reason: str | None = None
    message: str | None = None
    source: str | None = None  # the event that brought it, e.g. "recording.statusUpdate"


@dataclass(frozen=True)
class SeenEvent:
    digest: str
    event: str
    payload: dict[str, Any]
    # Made by the pipeline (reconciliation, backfill): it informs the session's metadata but is not
    # counted as a webhook, so the manifest does not depend on whether a sweep happened to run.
    synthesized: bool = False


@dataclass
class SessionFacts:
    meeting_id: str
    session_id: str
    events: list[SeenEvent] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    speakers: list[Speaker] = field(default_factory=list)
    erased: bool = False  # ``meeting-vault forget`` erased the session: archive nothing of it again


TRANSCRIPT_SOURCE = "transcript/source"
CHAT_SOURCE = "chat/source"
SUMMARY_SOURCE = "summary/summary"  # shown on the session page
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class SessionOutputs:
    """Every derived file, by its key relative to the session folder: (bytes, content type)."""

    files: dict[str, tuple[bytes, str]]
    # Files outside the session folder, by their full key: the session's utterance index rows.
    index: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    @property
    def manifest(self) -> bytes:
        return self.files["session.json"][0]

    @property
    def participants(self) -> bytes:
        return self.files["participants.json"][0]

    @property
    def participant_events(self) -> bytes:
        return self.files["participant_events.json"][0]


def archived_source(facts: SessionFacts, name: str) -> ArtifactRecord | None:
    """The archived record of a source file (transcript or chat) whose derived files we render."""
    record = next((a for a in facts.artifacts if a.name == name), None)
    return record if record is not None and record.state is ArtifactState.ARCHIVED and record.key else None


def archived_sources(
    facts: SessionFacts, names: Iterable[str], read: Callable[[ArtifactRecord], bytes]
) -> dict[str, bytes]:
    """The bytes of each named source the session has archived (``read`` fetches one by its
    record), keyed by name: what ``build_outputs`` renders the derived files from."""
    sources = {}
    for name in names:
        record = archived_source(facts, name)
        if record is not None:
            sources[name] = read(record)
    return sources


def _iso(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment else None


def _ordered(events: Iterable[SeenEvent]) -> list[tuple[Any, SeenEvent]]:
    """Events with their parsed model, in the order of the time they describe (digest breaks ties)."""
    parsed = []
    for seen in events:
        try:
            model = parse_event(seen.payload)
        except ValueError:
            continue
        moment = model.event_time
        parsed.append(((moment is None, moment.timestamp() if moment else 0.0, seen.digest), model, seen))
    parsed.sort(key=lambda item: item[0])
    return [(model, seen) for _, model, seen in parsed]


TranscriptFiles = dict[str, tuple[bytes, str]]


def roster_digest(roster: Roster, participants_json: bytes) -> str:
    """The roster's version: normalized files name participants by its ids, and speakers find
    their person through its identity keys; both are in the digest."""
    digest = hashlib.sha256(participants_json)
    digest.update(repr(sorted((p.id, sorted(p.keys)) for p in roster.people)).encode())
    return digest.hexdigest()


class Normalizer:
    """Parses and renders the transcript and chat sources (no cache)."""

    def transcript(self, source: bytes, *, session_started_at: datetime | None) -> Transcript:
        return parse_transcript(source, session_started_at=session_started_at)

    def transcript_files(
        self,
        source: bytes,
        transcript: Transcript,
        roster: Roster,
        roster_version: str,
        *,
        session_started_at: datetime | None,
    ) -> TranscriptFiles:
        return {
            "transcript/transcript.json": (transcript_to_json(transcript, roster), JSON_TYPE),
            "transcript/speaker_timeline.json": (speaker_timeline_to_json(transcript, roster), JSON_TYPE),
            # Speakers named from the roster, as in transcript.json, the page and the search index.
            "transcript/transcript.txt": (transcript_to_txt(transcript, roster), "text/plain; charset=utf-8"),
            "transcript/transcript.vtt": (transcript_to_vtt(transcript, roster), "text/vtt; charset=utf-8"),
            "transcript/transcript.srt": (
                transcript_to_srt(transcript, roster),
                "application/x-subrip; charset=utf-8",
            ),
        }

    def chat_files(self, source: bytes, roster: Roster, roster_version: str) -> TranscriptFiles:
        return {"chat/chat.json": (chat_to_json(parse_chat(source), roster), JSON_TYPE)}


class CachingNormalizer(Normalizer):
    """Keeps parsed and rendered transcripts and chats, keyed by the source's SHA-256 (plus the
    session start the transcript's times count from) and the roster version (the SHA-256 of
    participants.json, whose ids the normalized files use). A rebuild whose source and roster did
    not change parses and renders nothing. Bounded: the oldest entries go first."""

    def __init__(self, max_entries: int = 64) -> None:
        self._entries: dict[tuple[Any, ...], Any] = {}
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def _cached(self, key: tuple[Any, ...], make: Any) -> Any:
        if key in self._entries:
            self.hits += 1
            self._entries[key] = self._entries.pop(key)  # most recently used last
            return self._entries[key]
        self.misses += 1
        value = make()
        self._entries[key] = value
        while len(self._entries) > self._max:
            self._entries.pop(next(iter(self._entries)))
        return value

    def transcript(self, source: bytes, *, session_started_at: datetime | None) -> Transcript:
        key = ("transcript", hashlib.sha256(source).hexdigest(), session_started_at)
        parsed: Transcript = self._cached(
            key,
            lambda: super(CachingNormalizer, self).transcript(source, session_started_at=session_started_at),
        )
        return parsed

    def transcript_files(
        self,
        source: bytes,
        transcript: Transcript,
        roster: Roster,
        roster_version: str,
        *,
        session_started_at: datetime | None,
    ) -> TranscriptFiles:
        key = ("transcript-files", hashlib.sha256(source).hexdigest(), session_started_at, roster_version)
        files: TranscriptFiles = self._cached(
            key,
            lambda: super(CachingNormalizer, self).transcript_files(
                source, transcript, roster, roster_version, session_started_at=session_started_at
            ),
        )
        return files

    def chat_files(self, source: bytes, roster: Roster, roster_version: str) -> TranscriptFiles:
        key = ("chat-files", hashlib.sha256(source).hexdigest(), roster_version)
        files: TranscriptFiles = self._cached(
            key, lambda: super(CachingNormalizer, self).chat_files(source, roster, roster_version)
        )
        return files


def build_outputs(
    facts: SessionFacts,
    sources: dict[str, bytes] | None = None,
    *,
    normalizer: Normalizer | None = None,
    rebuild: dict[str, Any] | None = None,
) -> SessionOutputs:
    """All derived files from the facts and the archived source files (``sources`` maps
    ``TRANSCRIPT_SOURCE`` / ``CHAT_SOURCE`` / ``SUMMARY_SOURCE`` to their bytes, when archived). The one
    place every derived file comes from: add a new one here. ``normalizer`` may cache the normalized
    transcript and chat (``CachingNormalizer``); ``rebuild`` (when and from which record version the
    files were rebuilt) becomes session.json's last section."""
    sources = sources or {}
    ordered = _ordered(facts.events)
    title = room_name = None
    organizer: dict[str, Any] | None = None
    created_at = started_at = ended_at = None
    end_reason = None
    recordings: dict[str, dict[str, Any]] = {}
    recording_starts: dict[str, datetime] = {}
    synthesized_starts: dict[str, datetime] = {}
    by_type: dict[str, int] = {}
    for model, seen in ordered:
        if not seen.synthesized:
            by_type[seen.event] = by_type.get(seen.event, 0) + 1
        meeting = getattr(model, "meeting", None)
        title = getattr(model, "title", None) or (meeting.title if meeting else None) or title
        if meeting is not None:
            room_name = meeting.room_name or room_name
            if meeting.organized_by is not None:
                organizer = meeting.organized_by.model_dump(exclude_none=True)
            created_at = min(filter(None, (created_at, meeting.created_at)), default=None)
            started_at = min(filter(None, (started_at, meeting.started_at)), default=None)
            ended_at = max(filter(None, (ended_at, meeting.ended_at)), default=None)
        for attr in ("created_at", "started_at"):
            flat = getattr(model, attr, None) if meeting is None else None
            if isinstance(flat, datetime):
                if attr == "created_at":
                    created_at = min(filter(None, (created_at, flat)), default=None)
                else:
                    started_at = min(filter(None, (started_at, flat)), default=None)
        if seen.event == "meeting.ended":
            end_reason = getattr(model, "reason", None) or end_reason
        recording = getattr(model, "recording", None)
        if recording is not None and recording.the_id:
            entry = recordings.setdefault(recording.the_id, {"id": recording.the_id, "statuses": []})
            if recording.status not in entry["statuses"]:
                entry["statuses"] = sorted([*entry["statuses"], recording.status], key=_status_rank)
            entry["status"] = entry["statuses"][-1]
            entry["outputFileName"] = recording.output_file_name or entry.get("outputFileName")
            entry["fileSize"] = recording.file_size or entry.get("fileSize")
            entry["durationSeconds"] = recording.recording_duration or entry.get("durationSeconds")
            if recording.started_time is not None:
                # What RealtimeKit's webhooks say wins over what a synthesized event copied from
                # the REST API, so the time base does not depend on whether a sweep ran.
                starts = synthesized_starts if seen.synthesized else recording_starts
                known = starts.get(recording.the_id)
                starts[recording.the_id] = min(filter(None, (known, recording.started_time)))

    presence = [
        PresenceEvent.from_webhook(seen.payload) for seen in facts.events if seen.event in PRESENCE_EVENTS
    ]
    # People the REST API listed (the sweep and backfill read it): what the webhooks missed.
    listed, listed_people = rest_presence(
        (seen.payload for seen in facts.events if seen.event == PARTICIPANTS_EVENT), presence
    )
    presence += listed
    # Time base (seed 002: relative = seconds "from the start of the recording"): the start of
    # the session's first recording when there is one, else the session start.
    # Recordings that reached UPLOADED (the files in the archive) come first; an errored one only
    # when there is nothing else.
    for recording_id, start in synthesized_starts.items():
        recording_starts.setdefault(recording_id, start)
    first_recording = min(
        recording_starts.items(),
        key=lambda item: (recordings[item[0]]["status"] != "UPLOADED", item[1], item[0]),
        default=None,
    )
    origin = first_recording[1] if first_recording else started_at
    base = "recording_start" if first_recording else ("session_start" if started_at else None)
    normalizer = normalizer or Normalizer()
    transcript = None
    if TRANSCRIPT_SOURCE in sources:
        transcript = normalizer.transcript(sources[TRANSCRIPT_SOURCE], session_started_at=started_at)
        if first_recording is not None:
            transcript = rebase_transcript(transcript, first_recording[1], "recording_start")
    chat = parse_chat(sources[CHAT_SOURCE]) if CHAT_SOURCE in sources else None
    speakers = [*facts.speakers, *(transcript.speakers if transcript else ()), *listed_people]
    roster = build_roster(presence, speakers)
    if chat is not None:
        # Senders nobody else named (a lost join webhook, no REST list yet) are people too.
        strangers = [s for s in chat_senders(chat) if roster.find_by_any_id(s.peer_id) is None]
        if strangers:
            roster = build_roster(presence, [*speakers, *strangers])
    if chat is None:
        events_json = participant_events_to_json(presence, roster, session_started_at=origin)
    else:
        merged = [
            *participant_events_document(presence, roster, session_started_at=origin),
            *chat_events(chat, roster, origin=origin),
        ]
        # Stable: joins/leaves keep their order, chat messages their export order.
        merged.sort(
            key=lambda e: (
                e.timestamp.absolute is None,
                e.timestamp.absolute or "",
                e.action == "chat_message",
            )
        )
        events_json = dump_document(ParticipantEventsDocument, merged)
    participants_json = participants_to_json(roster)
    files: dict[str, tuple[bytes, str]] = {
        "participants.json": (participants_json, JSON_TYPE),
        "participant_events.json": (events_json, JSON_TYPE),
    }
    roster_version = roster_digest(roster, participants_json)
    if transcript is not None:
        files.update(
            # The cache key's time is the origin the rebased times count from.
            normalizer.transcript_files(
                sources[TRANSCRIPT_SOURCE], transcript, roster, roster_version, session_started_at=origin
            )
        )
    if CHAT_SOURCE in sources:
        files.update(normalizer.chat_files(sources[CHAT_SOURCE], roster, roster_version))
    artifacts = sorted(facts.artifacts, key=lambda a: a.name)
    duration = (ended_at - started_at).total_seconds() if started_at and ended_at else None
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "source": "realtimekit",  # bot sessions say "meeting-bot" (shared.sources.meeting_bot)
        "meeting": {
            "id": facts.meeting_id,
            "title": title,
            "roomName": room_name,
            "organizedBy": organizer,
            "createdAt": _iso(created_at),
        },
        "session": {
            "id": facts.session_id,
            "startedAt": _iso(started_at),
            "endedAt": _iso(ended_at),
            "endReason": end_reason,
            "durationSeconds": duration,
            "state": "ended" if ended_at or "meeting.ended" in by_type else "live",
        },
        "participants": [p.model_dump(mode="json") for p in participants_document(roster)],
        # Where the people came from; "rest" = the REST API's participant list (sweep, backfill).
        "participantSources": [
            name
            for name, present in (
                ("webhooks", any(seen.event in PRESENCE_EVENTS for seen in facts.events)),
                ("rest", any(seen.event == PARTICIPANTS_EVENT for seen in facts.events)),
                ("transcript", bool(facts.speakers) or bool(transcript and transcript.utterances)),
                ("chat", bool(chat and chat.messages)),
            )
            if present
        ],
        "recordings": sorted(recordings.values(), key=lambda r: r["id"]),
        "artifacts": [a.model_dump(mode="json", exclude_none=True, by_alias=True) for a in artifacts],
        "artifactCounts": {
            state.value: sum(1 for a in artifacts if a.state is state) for state in ArtifactState
        },
        "derivedFiles": [],
        "transcriptTimeBase": transcript.time_base if transcript else None,
        # What every ``relative`` time in the session's files counts from.
        "timeBase": {
            "relativeTo": base,
            "origin": _iso(origin),
            "recordingId": first_recording[0] if first_recording else None,
        },
        "events": {"count": sum(by_type.values()), "byType": dict(sorted(by_type.items()))},
    }
    files[PAGE_NAME] = (_session_page(facts, manifest, files, sources), PAGE_CONTENT_TYPE)
    manifest["derivedFiles"] = [
        {"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for path, (data, _) in sorted(files.items())
    ]
    if rebuild is not None:
        manifest["rebuild"] = rebuild
    files["session.json"] = ((json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode(), JSON_TYPE)
    return SessionOutputs(files=files, index=utterance_index(facts, manifest, files))


def _session_page(
    facts: SessionFacts,
    manifest: dict[str, Any],
    files: dict[str, tuple[bytes, str]],
    sources: dict[str, bytes],
) -> bytes:
    """``index.html``: the manifest and the derived files, as a page a person reads."""
    summary = None
    record = archived_source(facts, SUMMARY_SOURCE)
    if SUMMARY_SOURCE in sources and record is not None:
        text = sources[SUMMARY_SOURCE].decode("utf-8", errors="replace")
        summary = (text, bool(record.key and record.key.endswith(".md")))
    return render_session_page(
        PageInputs.from_files(manifest, {path: data for path, (data, _) in files.items()}, summary)
    )


def utterance_index(
    facts: SessionFacts, manifest: dict[str, Any], files: dict[str, tuple[bytes, str]]
) -> dict[str, tuple[bytes, str]]:
    """The session's rows of the search index (one per utterance), when it has a transcript: for
    RealtimeKit sessions and the meeting-bot source alike (a manifest without a title gives none)."""
    if "transcript/transcript.json" not in files:
        return {}
    transcript = json.loads(files["transcript/transcript.json"][0])
    started_at = manifest["session"]["startedAt"]
    day = index_day(started_at, transcript)
    rows = utterance_rows(
        meeting_id=facts.meeting_id,
        session_id=facts.session_id,
        title=(manifest.get("meeting") or {}).get("title"),
        session_started_at=started_at,
        transcript=transcript,
        page_key=session_prefix(facts.meeting_id, facts.session_id) + PAGE_NAME,
    )
    if day is None or not rows:
        return {}
    return {utterance_index_key(day, facts.session_id): (rows, "application/x-ndjson; charset=utf-8")}
