"""A bot session's facts (the bodies seen, the media pointers, the assembled WAVs) -> the same
files a RealtimeKit session has: ``participants.json``, ``participant_events.json``,
``transcript/transcript.json|speaker_timeline.json|.txt|.vtt|.srt`` and ``session.json``.

Pure, and independent of arrival: everything is ordered by the payload's ``relative`` time
(then participant id, then the body's digest), and facts are a set keyed by body digest, so
duplicated or reordered deliveries give byte-identical files.

The bot's own participant ids (numbers, unique within the meeting) are the seed ids. The time
origin (``relative`` 0 as an absolute time) comes from participant events, which carry both;
transcript words carry ``relative`` only, so their ``absolute`` is derived from that origin, or
null when no participant event was seen."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.normalize.participants import Speaker
from shared.normalize.seed_models import iso_utc, round_seconds, to_json_bytes
from shared.normalize.transcript import (
    Transcript,
    Utterance,
    transcript_to_srt,
    transcript_to_txt,
    transcript_to_vtt,
)
from shared.page.render import PAGE_CONTENT_TYPE, PAGE_NAME, PageInputs, render_session_page
from shared.session.model import MANIFEST_SCHEMA, ArtifactState, SessionFacts, utterance_index
from shared.sources.meeting_bot.payloads import (
    AUDIO_CHUNK_STORED,
    FRAME_STORED,
    PARTIAL_TRANSCRIPT,
    PARTICIPANT_EVENT_PREFIX,
    SOURCE,
    TRANSCRIPT,
    BotEvent,
    _number,
)

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class _Seen:
    event: BotEvent
    digest: str

    @property
    def content(self) -> str:
        """Digest of what the event says (name and inner data), not of its envelope: the ids
        and the order of the files do not depend on endpoint or resource ids."""
        text = json.dumps([self.event.event, self.event.inner], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def order(self) -> tuple[Any, ...]:
        relative = self.event.relative
        return (relative is None, relative or 0.0, self.event.participant_id or 0, self.content)


def seed_participant(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The seed "Participant" shape of a bot payload's participant (fields the bot lacks: null)."""
    raw = raw or {}
    pid = raw.get("id")
    extra = raw.get("extra_data")
    return {
        "id": pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        "name": raw.get("name") if isinstance(raw.get("name"), str) else None,
        "is_host": raw.get("is_host") if isinstance(raw.get("is_host"), bool) else None,
        "platform": raw.get("platform") if isinstance(raw.get("platform"), str) else None,
        "extra_data": extra if isinstance(extra, dict) else None,
        "email": raw.get("email") if isinstance(raw.get("email"), str) else None,
    }


def _stamp(
    relative: float | None, origin: datetime | None, absolute: datetime | None = None
) -> dict[str, Any]:
    if absolute is None and relative is not None and origin is not None:
        absolute = origin + timedelta(seconds=relative)
    return {
        "absolute": iso_utc(absolute) if absolute is not None else None,
        "relative": round_seconds(relative) if relative is not None else None,
    }


@dataclass(frozen=True)
class BotOutputs:
    files: dict[str, tuple[bytes, str]]
    # The search index's rows (full keys, outside the session folder), as for RealtimeKit sessions.
    index: dict[str, tuple[bytes, str]] = field(default_factory=dict)


def _words(event: BotEvent) -> list[tuple[str, float, float | None]]:
    words = event.inner.get("words")
    found = []
    for word in words if isinstance(words, list) else []:
        if not isinstance(word, dict) or not isinstance(word.get("text"), str):
            continue
        start = _number((word.get("start_timestamp") or {}).get("relative"))
        end_stamp = word.get("end_timestamp")
        end = _number(end_stamp.get("relative")) if isinstance(end_stamp, dict) else None
        if start is not None:
            found.append((word["text"], start, end))
    return found


def build_bot_outputs(facts: SessionFacts, *, keep_partial: bool = False) -> BotOutputs:
    seen: list[_Seen] = []
    frames: list[dict[str, Any]] = []
    partial = 0
    by_type: dict[str, int] = {}
    unique = {fact.digest: fact for fact in facts.events}  # the store keys facts by digest too
    for fact in unique.values():
        if fact.event == FRAME_STORED:
            frames.append(fact.payload)
            continue
        if fact.event == AUDIO_CHUNK_STORED:
            continue
        by_type[fact.event] = by_type.get(fact.event, 0) + 1
        if fact.event == PARTIAL_TRANSCRIPT:
            partial += 1
            continue
        seen.append(_Seen(BotEvent(fact.event, fact.payload), fact.digest))
    seen.sort(key=_Seen.order)
    participant_events = [s for s in seen if s.event.event.startswith(PARTICIPANT_EVENT_PREFIX)]
    transcripts = [s for s in seen if s.event.event == TRANSCRIPT and _words(s.event)]

    # Time origin: from the earliest participant event carrying both times.
    origin = None
    for s in participant_events:
        if s.event.absolute is not None and s.event.relative is not None:
            origin = s.event.absolute - timedelta(seconds=s.event.relative)
            break

    # Participants: every id seen; the latest snapshot (by relative time) wins (an update renames),
    # participant events over transcript lines.
    people: dict[int, dict[str, Any]] = {}
    for s in [*transcripts, *participant_events]:
        pid = s.event.participant_id
        if pid is not None:
            people[pid] = seed_participant(s.event.participant)
    participants = [people[pid] for pid in sorted(people)]

    events_doc = []
    for s in participant_events:
        action = s.event.action or "unknown"
        data = s.event.inner.get("data")
        chat = None
        if action == "chat_message" and isinstance(data, dict):
            chat = {"text": data.get("text"), "to": data.get("to")}
        events_doc.append(
            {
                "id": f"{action}-{s.content[:16]}",
                "action": action,
                "participant": seed_participant(s.event.participant),
                "timestamp": _stamp(s.event.relative, None, s.event.absolute),
                "data": chat,
            }
        )

    files: dict[str, tuple[bytes, str]] = {
        "participants.json": (to_json_bytes(participants), JSON_TYPE),
        "participant_events.json": (to_json_bytes(events_doc), JSON_TYPE),
    }
    if transcripts:
        entries: list[dict[str, Any]] = []
        utterances: list[Utterance] = []
        for s in transcripts:
            words = _words(s.event)
            participant = seed_participant(s.event.participant)
            entries.append(
                {
                    "participant": participant,
                    "words": [
                        {
                            "text": text,
                            "start_timestamp": _stamp(start, origin),
                            "end_timestamp": _stamp(end, origin),
                        }
                        for text, start, end in words
                    ],
                }
            )
            ends = [end for _, _, end in words]
            utterances.append(
                Utterance(
                    start_s=words[0][1],
                    end_s=ends[-1],
                    speaker=Speaker(peer_id=str(participant["id"]), name=participant["name"]),
                    text=" ".join(text.strip() for text, _, _ in words if text.strip()),
                )
            )
        transcript = Transcript("meeting_bot", tuple(utterances), origin, "recording_start")
        timeline: list[dict[str, Any]] = []
        run_id: object = object()
        for entry, utterance in zip(entries, utterances, strict=True):
            if entry["participant"]["id"] == run_id:
                last = timeline[-1]
                end = utterance.end_s
                previous = last["end_timestamp"]["relative"]
                if end is not None and (previous is None or end > previous):
                    last["end_timestamp"] = _stamp(end, origin)
                continue
            run_id = entry["participant"]["id"]
            timeline.append(
                {
                    "participant": entry["participant"],
                    "start_timestamp": _stamp(utterance.start_s, origin),
                    "end_timestamp": _stamp(utterance.end_s, origin),
                }
            )
        files["transcript/transcript.json"] = (to_json_bytes(entries), JSON_TYPE)
        files["transcript/speaker_timeline.json"] = (to_json_bytes(timeline), JSON_TYPE)
        files["transcript/transcript.txt"] = (transcript_to_txt(transcript), "text/plain; charset=utf-8")
        files["transcript/transcript.vtt"] = (transcript_to_vtt(transcript), "text/vtt; charset=utf-8")
        files["transcript/transcript.srt"] = (
            transcript_to_srt(transcript),
            "application/x-subrip; charset=utf-8",
        )

    first = min(seen, key=lambda s: s.content, default=None)
    bot = first.event.envelope.get("bot") if first else None
    recording = first.event.envelope.get("recording") if first else None
    artifacts = sorted(facts.artifacts, key=lambda a: a.name)
    relatives = [s.event.relative for s in seen if s.event.relative is not None]
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "source": SOURCE,
        "meeting": {
            "id": facts.meeting_id,
            "botId": bot.get("id") if isinstance(bot, dict) else None,
            "botMetadata": bot.get("metadata") if isinstance(bot, dict) else None,
        },
        "session": {
            "id": facts.session_id,
            "recordingMetadata": recording.get("metadata") if isinstance(recording, dict) else None,
            "startedAt": iso_utc(origin) if origin else None,
            "lastEventRelativeSeconds": round_seconds(max(relatives)) if relatives else None,
        },
        "participants": participants,
        "artifacts": [a.model_dump(mode="json", exclude_none=True, by_alias=True) for a in artifacts],
        "artifactCounts": {
            state.value: sum(1 for a in artifacts if a.state is state) for state in ArtifactState
        },
        "frames": sorted(
            (
                {"key": f.get("key"), "participantId": f.get("participantId"), "relative": f.get("relative")}
                for f in frames
            ),
            key=lambda f: str(f["key"]),
        ),
        "derivedFiles": [],
        "transcriptTimeBase": "recording_start" if transcripts else None,
        "events": {
            "count": sum(by_type.values()),
            "byType": dict(sorted(by_type.items())),
            "partialTranscripts": partial,
            "partialTranscriptsKept": keep_partial,
        },
    }
    # The same session page as a RealtimeKit session's (player, transcript, participants, artifacts).
    page = PageInputs.from_files(manifest, {path: data for path, (data, _) in files.items()}, None)
    files[PAGE_NAME] = (render_session_page(page), PAGE_CONTENT_TYPE)
    manifest["derivedFiles"] = [
        {"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for path, (data, _) in sorted(files.items())
    ]
    files["session.json"] = ((json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode(), JSON_TYPE)
    return BotOutputs(files=files, index=utterance_index(facts, manifest, files))
