"""The final files of a relayed meeting, from what the legs recorded. Pure: the same record gives
byte-identical files, whatever order the legs recorded it in.

- ``transcript/transcript.json`` (seed 002 "Transcript"), ``.txt``, ``.vtt``, ``.srt``: one entry per
  ``ts`` line, ordered by its ``start``. A line's speaker is named by the speaker-number-to-name map
  as it stands at the end (``speaker_name`` may be null on early lines and arrive later).
- ``transcript/speaker_timeline.json``: from ``started-speaking`` / ``stopped-speaking``.
- ``participants.json``: everyone from ``participant-tracked``, plus speakers no event named.
- ``chat/chat.json``: from ``chat-message``.

Times. A line's ``start``/``end`` are seconds from the bot's recording start: that is ``relative``.
The speaking and chat events carry no time of their own, so they are placed by when the relay
received them, relative to when it received ``start`` (the bot's recording start), else to when
the relay first connected. ``absolute`` times add ``relative`` to that moment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.normalize.chat import ChatDocument, ChatMessage
from shared.normalize.participants import Speaker
from shared.normalize.seed_models import (
    Participant,
    ParticipantsDocument,
    SpeakerTimelineDocument,
    SpeakerTimelineEntry,
    TranscriptDocument,
    TranscriptEntry,
    Word,
    dump_document,
    iso_utc,
    make_timestamp,
    round_seconds,
    seconds_between,
)
from shared.normalize.transcript import (
    Transcript,
    Utterance,
    transcript_to_srt,
    transcript_to_txt,
    transcript_to_vtt,
)
from shared.sources.live_relay.messages import LiveLine

SPEAKING_TYPES = ("started-speaking", "stopped-speaking")


@dataclass(frozen=True, slots=True)
class ReceivedLine:
    line: LiveLine
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A relayed message other than a line: ``participant-tracked``, speaking, ``chat-message``."""

    type: str
    data: dict[str, Any]
    received_at: datetime
    key: str  # unique per relayed message (leg, sequence): legs never relay the same one twice


@dataclass
class RelayRecord:
    """What the legs recorded for one relay."""

    relay_id: str
    meeting_id: str
    session_id: str
    title: str | None
    first_connected_at: datetime | None = None
    started_at: datetime | None = None  # when ``start`` arrived
    lines: list[ReceivedLine] = field(default_factory=list)
    events: list[ReceivedEvent] = field(default_factory=list)


@dataclass
class _Person:
    id: int
    participant_id: str | None
    name: str | None
    speaker: int | str | None = None

    def seed(self) -> Participant:
        return Participant(
            id=self.id,
            name=self.name,
            is_host=None,  # the socket does not say who hosts
            platform=None,  # nor which meeting platform the bot is in
            extra_data={"participant_id": self.participant_id, "speaker": self.speaker},
            email=None,
        )


def origin_of(record: RelayRecord) -> tuple[datetime | None, str]:
    if record.started_at is not None:
        return record.started_at, "bot_start"
    return record.first_connected_at, "first_connection"


def speaker_names(lines: Iterable[ReceivedLine]) -> dict[int | str, str]:
    """Speaker number -> name, as the map stands after every line (a later name wins: the bot
    refines its guess as the meeting goes on)."""
    names: dict[int | str, str] = {}
    for item in sorted(lines, key=lambda r: (r.line.start, r.received_at, r.line.key)):
        if item.line.speaker is not None and item.line.speaker_name:
            names[item.line.speaker] = item.line.speaker_name
    return names


class _People:
    """Everyone: tracked participants in the order the relay first saw them (tracked, speaking or
    chatting), then speakers whose name matches nobody seen. One person per participant id, else
    per name; a speaker number joins the person of its final name."""

    def __init__(self) -> None:
        self.people: list[_Person] = []
        self.by_pid: dict[str, _Person] = {}
        self.by_name: dict[str, _Person] = {}
        self.by_speaker: dict[int | str | None, _Person] = {}

    def find(self, pid: Any, name: Any) -> _Person | None:
        if isinstance(pid, str) and pid in self.by_pid:
            return self.by_pid[pid]
        return self.by_name.get(name) if isinstance(name, str) else None

    def add(self, pid: str | None, name: str | None) -> _Person:
        person = _Person(id=len(self.people) + 1, participant_id=pid, name=name or pid)
        self.people.append(person)
        if pid:
            self.by_pid[pid] = person
        if name:
            self.by_name.setdefault(name, person)
        return person


def _people(record: RelayRecord, names: dict[int | str, str], lines: list[ReceivedLine]) -> _People:
    found = _People()
    for event in sorted(record.events, key=lambda e: (e.received_at, e.key)):
        if event.type == "chat-message":
            pid, name = None, event.data.get("username")
        else:
            pid, name = event.data.get("participantId"), event.data.get("participantName")
        pid = pid if isinstance(pid, str) and pid else None
        name = name if isinstance(name, str) and name else None
        if (pid or name) and found.find(pid, name) is None:
            found.add(pid, name)
    for item in lines:
        number = item.line.speaker
        if number in found.by_speaker:
            continue
        name = names.get(number) if number is not None else None
        person = found.find(None, name) if name else None
        if person is None or person.speaker is not None:
            person = found.add(None, name)
        person.speaker = number
        found.by_speaker[number] = person
    return found


def _label(person: _Person) -> str:
    if person.name:
        return person.name
    return f"Speaker {person.speaker}" if person.speaker is not None else "Unknown speaker"


@dataclass(frozen=True)
class RelayFiles:
    files: dict[str, tuple[bytes, str]]  # path relative to the session folder -> (bytes, content type)
    participants: list[dict[str, Any]]
    time_base: str
    origin: datetime | None
    line_count: int


JSON = "application/json"


def unique_lines(lines: Iterable[ReceivedLine]) -> list[ReceivedLine]:
    """One per content key (the earliest received), ordered by start time."""
    first: dict[str, ReceivedLine] = {}
    for item in lines:
        known = first.get(item.line.key)
        if known is None or item.received_at < known.received_at:
            first[item.line.key] = item
    return sorted(first.values(), key=lambda r: (r.line.start, r.line.end or 0.0, r.line.key))


# Two overlapping legs can both relay a message other than a line that arrives just after the newer
# one's claim (the older relays up to ``LegSettings.handoff_margin_seconds`` past it). Both copies
# left the bot in one broadcast, and each leg stamps a message as it arrives, so they are
# milliseconds apart: the same message, from another leg, this close in time, is one message.
HANDOVER_SECONDS = 0.5


def distinct_events(events: Iterable[ReceivedEvent]) -> list[ReceivedEvent]:
    kept: list[ReceivedEvent] = []
    last: dict[tuple[str, str], ReceivedEvent] = {}
    for event in sorted(events, key=lambda e: (e.received_at, e.key)):
        identity = (event.type, json.dumps(event.data, sort_keys=True, ensure_ascii=False))
        previous = last.get(identity)
        if (
            previous is not None
            and previous.key.split("#")[0] != event.key.split("#")[0]
            and (event.received_at - previous.received_at).total_seconds() <= HANDOVER_SECONDS
        ):
            continue
        last[identity] = event
        kept.append(event)
    return kept


def build_files(record: RelayRecord) -> RelayFiles:
    record = RelayRecord(
        relay_id=record.relay_id,
        meeting_id=record.meeting_id,
        session_id=record.session_id,
        title=record.title,
        first_connected_at=record.first_connected_at,
        started_at=record.started_at,
        lines=record.lines,
        events=distinct_events(record.events),
    )
    origin, time_base = origin_of(record)
    lines = unique_lines(record.lines)
    found = _people(record, speaker_names(lines), lines)
    people = found.people
    seeds = {person.id: person.seed() for person in people}

    def person_of_line(line: LiveLine) -> _Person:
        return found.by_speaker[line.speaker]

    entries = [
        TranscriptEntry(
            participant=seeds[person_of_line(item.line).id],
            words=[
                Word(
                    text=item.line.text,
                    start_timestamp=make_timestamp(item.line.start, origin),
                    end_timestamp=make_timestamp(item.line.end, origin),
                )
            ],
        )
        for item in lines
    ]
    human = Transcript(
        source_format="live_relay",
        utterances=tuple(
            Utterance(
                start_s=item.line.start,
                end_s=item.line.end,
                speaker=Speaker(name=_label(person_of_line(item.line))),
                text=item.line.text,
            )
            for item in lines
        ),
        origin=origin,
        time_base="session_start",
    )
    files: dict[str, tuple[bytes, str]] = {
        "participants.json": (dump_document(ParticipantsDocument, [seeds[p.id] for p in people]), JSON),
        "transcript/transcript.json": (dump_document(TranscriptDocument, entries), JSON),
        "transcript/speaker_timeline.json": (
            dump_document(SpeakerTimelineDocument, _timeline(record, found, seeds, origin)),
            JSON,
        ),
        "transcript/transcript.txt": (transcript_to_txt(human), "text/plain; charset=utf-8"),
        "transcript/transcript.vtt": (transcript_to_vtt(human), "text/vtt; charset=utf-8"),
        "transcript/transcript.srt": (transcript_to_srt(human), "application/x-subrip; charset=utf-8"),
    }
    chat = _chat(record, found, seeds)
    if chat:
        files["chat/chat.json"] = (ChatDocument.dump_json(chat, indent=2) + b"\n", JSON)
    return RelayFiles(
        files=files,
        participants=[seeds[p.id].model_dump(mode="json") for p in people],
        time_base=time_base,
        origin=origin,
        line_count=len(lines),
    )


def _relative(moment: datetime, origin: datetime | None) -> float | None:
    return seconds_between(origin, moment) if origin is not None else None


def _timeline(
    record: RelayRecord, found: _People, seeds: dict[int, Participant], origin: datetime | None
) -> list[SpeakerTimelineEntry]:
    """A run per started-speaking, closed by the same person's next stopped-speaking."""
    open_runs: dict[int, datetime] = {}
    runs: list[tuple[datetime, datetime | None, int]] = []
    events = sorted(
        (e for e in record.events if e.type in SPEAKING_TYPES), key=lambda e: (e.received_at, e.key)
    )
    for event in events:
        pid, name = event.data.get("participantId"), event.data.get("participantName")
        person = found.find(pid, name)
        if person is None:
            continue
        if event.type == "started-speaking":
            open_runs.setdefault(person.id, event.received_at)
        elif person.id in open_runs:
            runs.append((open_runs.pop(person.id), event.received_at, person.id))
    runs.extend((start, None, person_id) for person_id, start in open_runs.items())
    runs.sort(key=lambda run: (run[0], run[2]))
    if origin is None:
        return []  # the seed requires a relative start; without an origin there is none
    return [
        SpeakerTimelineEntry(
            participant=seeds[person_id],
            start_timestamp=make_timestamp(_relative(start, origin), origin),
            end_timestamp=make_timestamp(_relative(end, origin) if end else None, origin),
        )
        for start, end, person_id in runs
    ]


def _chat(record: RelayRecord, found: _People, seeds: dict[int, Participant]) -> list[ChatMessage]:
    messages = sorted(
        (e for e in record.events if e.type == "chat-message"), key=lambda e: (e.received_at, e.key)
    )
    out = []
    for event in messages:
        username = event.data.get("username")
        content = event.data.get("content")
        person = found.find(None, username)
        out.append(
            ChatMessage(
                id=event.key,
                participant=seeds[person.id] if person else None,
                participant_id=person.participant_id if person else None,
                display_name=username if isinstance(username, str) else None,
                type="text",
                text=content if isinstance(content, str) else None,
                file=None,
                created_at=iso_utc(event.received_at),
                edited=None,
                pinned=None,
            )
        )
    return out


def duration_seconds(record: RelayRecord, ended_at: datetime | None) -> float | None:
    origin, _ = origin_of(record)
    if origin is None or ended_at is None:
        return None
    return round_seconds((ended_at - origin).total_seconds())
