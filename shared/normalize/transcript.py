"""RealtimeKit transcripts: detect the format by content, parse into utterances, render the
normalized files (``transcript.json``, ``speaker_timeline.json``, ``.txt``, ``.vtt``, ``.srt``).

Source formats (reference section 4):

- ``realtimekit_csv``: no header; start time in ms, peer id, user id, custom participant id,
  participant name, text. No end time.
- ``dyte_csv``: legacy Dyte, a header row ``Timestamp, Participant ID, User ID, Custom Participant
  ID, Participant Name, Transcript`` (older docs: without the two middle ids) and ISO 8601 times.
- ``realtimekit_json``: an array of ``{startTime, endTime, sentence, peerData{id, userId,
  displayName, cpi, ...}}`` with times in ms.

Time base: relative times are seconds from the session start. A millisecond value is taken as an
offset from the session start [assumption: the docs do not say], unless it is above 10^11, which
only an epoch time can be (10^11 ms is 1973; no session lasts 3 years): then it is an absolute time.
Absolute source times are measured from ``session_started_at`` when given, else from the first
utterance (``Transcript.time_base`` says which).

RealtimeKit gives utterances, not word timings: each utterance becomes one transcript entry whose
``words`` holds a single element carrying the whole utterance. Nothing is interpolated.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared.core.text import one_line
from shared.normalize.errors import (
    MAX_SOURCE_ENTRIES,
    EmptyArtifactError,
    MalformedArtifactError,
    TooLargeError,
    UnrecognizedFormatError,
    decode_text,
    fingerprint,
    read_csv_rows,
)
from shared.normalize.participants import Roster, Speaker, build_roster, clean_field
from shared.normalize.seed_models import (
    SpeakerTimelineDocument,
    SpeakerTimelineEntry,
    Timestamp,
    TranscriptDocument,
    TranscriptEntry,
    Word,
    as_utc,
    dump_document,
    make_timestamp,
    parse_iso,
    round_seconds,
    seconds_between,
)

TranscriptFormat = Literal["realtimekit_csv", "dyte_csv", "realtimekit_json", "live_relay", "meeting_bot"]
# What relative time 0 is: the start of the session's recording (seed 002: "the time in seconds
# from the start of the recording"), the session start, or (absolute source times, session start
# unknown) the first utterance.
TimeBase = Literal["recording_start", "session_start", "first_utterance"]

EPOCH_MS_THRESHOLD = 10**11
REALTIMEKIT_CSV_COLUMNS = 6

# Dyte header cell (lower case, single spaces) -> field.
_DYTE_HEADER = {
    "timestamp": "time",
    "participant id": "peer_id",
    "user id": "user_id",
    "custom participant id": "custom_participant_id",
    "participant name": "name",
    "transcript": "text",
}
_DYTE_REQUIRED = {"timestamp", "transcript"}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SRT_START = re.compile(r"^\d+[ \t]*\r?\n\d{1,2}:\d{2}:\d{2},\d{3}\s*-->")

# Cue display when the source has no end time (a player needs one; this is presentation, not data).
CUE_MIN_MS = 1_000
CUE_MAX_MS = 5_000
CUE_CHARS_PER_SECOND = 15


@dataclass(frozen=True, slots=True)
class Utterance:
    """One transcribed sentence. ``start_s``/``end_s``: seconds from ``Transcript.origin``."""

    start_s: float
    end_s: float | None
    speaker: Speaker
    text: str


@dataclass(frozen=True)
class Transcript:
    source_format: TranscriptFormat
    utterances: tuple[Utterance, ...]  # by start time; source order among equal starts
    origin: datetime | None  # the absolute moment of relative 0, when known
    time_base: TimeBase

    @property
    def source_extension(self) -> str:
        """For ``transcript/source.{ext}``."""
        return "json" if self.source_format == "realtimekit_json" else "csv"

    @property
    def speakers(self) -> tuple[Speaker, ...]:
        """Distinct speakers in order of first utterance (the order ``build_roster`` expects)."""
        return tuple(dict.fromkeys(u.speaker for u in self.utterances))

    def timestamp(self, relative: float | None) -> Timestamp:
        return make_timestamp(relative, self.origin)


@dataclass(frozen=True, slots=True)
class _Row:
    start: float | datetime  # ms as given, or an absolute time
    end: float | datetime | None
    speaker: Speaker
    text: str


# --- detection and parsing --------------------------------------------------------------------------


def detect_transcript_format(raw: bytes) -> TranscriptFormat:
    """The format of a transcript file, by content (never by URL suffix)."""
    return _detect(decode_text(raw, "transcript"), raw)


def parse_transcript(raw: bytes, *, session_started_at: datetime | None = None) -> Transcript:
    """Parse a transcript file as RealtimeKit served it.

    Raises ``EmptyArtifactError`` (0 bytes, whitespace, header only, no text),
    ``UnrecognizedFormatError`` or ``MalformedArtifactError``."""
    text = decode_text(raw, "transcript")
    source_format = _detect(text, raw)
    if source_format == "realtimekit_json":
        rows = _json_rows(text, raw)
    elif source_format == "dyte_csv":
        rows = _dyte_rows(text)
    else:
        rows = _realtimekit_csv_rows(text)
    return _resolve_times(source_format, rows, session_started_at)


def _detect(text: str, raw: bytes) -> TranscriptFormat:
    head = text.lstrip()
    if head[:1] in ("[", "{"):
        return "realtimekit_json"
    if head.startswith("WEBVTT"):
        raise UnrecognizedFormatError(
            "transcript is WebVTT, which carries no participant ids; fetch it as CSV or JSON "
            "(GET /sessions/{id}/transcript?format=CSV)"
        )
    if _SRT_START.match(head):
        raise UnrecognizedFormatError(
            "transcript is SRT, which carries no participant ids; fetch it as CSV or JSON "
            "(GET /sessions/{id}/transcript?format=CSV)"
        )
    rows = read_csv_rows(text, "transcript")
    first = rows[0][1] if rows else []
    if _dyte_columns(first) is not None:
        return "dyte_csv"
    if len(first) == REALTIMEKIT_CSV_COLUMNS and _time_value(first[0]) is not None:
        return "realtimekit_csv"
    raise UnrecognizedFormatError(
        "transcript is neither RealtimeKit CSV (6 columns, start time first), Dyte CSV (header "
        f"'Timestamp, Participant ID, ...') nor JSON; {fingerprint(raw)}"
    )


def _dyte_columns(row: Sequence[str]) -> list[str] | None:
    """The field of each column if ``row`` is a Dyte header, else None."""
    cells = [" ".join(cell.split()).lower() for cell in row]
    if len(set(cells)) != len(cells) or not set(cells) <= _DYTE_HEADER.keys():
        return None
    if not set(cells) >= _DYTE_REQUIRED:
        return None
    return [_DYTE_HEADER[cell] for cell in cells]


def _time_value(value: Any) -> float | datetime | None:
    """A number (ms) or an ISO 8601 time; None if ``value`` is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        candidate = value.strip()
        if _NUMBER.match(candidate):
            number = float(candidate)
            return number if math.isfinite(number) else None
        return parse_iso(candidate) if candidate[:1].isdigit() else None
    return None


def _required_time(value: Any, what: str) -> float | datetime:
    parsed = _time_value(value)
    if parsed is None:
        raise MalformedArtifactError(
            f"transcript {what}: a {type(value).__name__} of {len(str(value))} characters is not a "
            "time (ms or ISO 8601)"
        )
    return parsed


def _realtimekit_csv_rows(text: str) -> list[_Row]:
    rows: list[_Row] = []
    for line, cells in read_csv_rows(text, "transcript"):
        where = f"line {line}"
        if len(cells) != REALTIMEKIT_CSV_COLUMNS:
            raise MalformedArtifactError(
                f"transcript {where}: {len(cells)} columns, RealtimeKit CSV has {REALTIMEKIT_CSV_COLUMNS}"
            )
        start, peer_id, user_id, custom_id, name, words = cells
        speaker = Speaker(
            peer_id=clean_field(peer_id),
            user_id=clean_field(user_id),
            custom_participant_id=clean_field(custom_id),
            name=clean_field(name),
        )
        rows.append(_Row(_required_time(start, where), None, speaker, words))
    return rows


def _dyte_rows(text: str) -> list[_Row]:
    records = read_csv_rows(text, "transcript")
    columns = _dyte_columns(records[0][1]) or []
    rows: list[_Row] = []
    for line, cells in records[1:]:
        where = f"line {line}"
        if len(cells) != len(columns):
            raise MalformedArtifactError(
                f"transcript {where}: {len(cells)} columns, the header has {len(columns)}"
            )
        fields = dict(zip(columns, cells, strict=True))
        speaker = Speaker(
            peer_id=clean_field(fields.get("peer_id")),
            user_id=clean_field(fields.get("user_id")),
            custom_participant_id=clean_field(fields.get("custom_participant_id")),
            name=clean_field(fields.get("name")),
        )
        rows.append(_Row(_required_time(fields["time"], where), None, speaker, fields["text"]))
    return rows


def _json_rows(text: str, raw: bytes) -> list[_Row]:
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise UnrecognizedFormatError(
            f"transcript looks like JSON but does not parse ({error}); {fingerprint(raw)}"
        ) from None
    items = document
    if isinstance(document, dict):
        items = next((document[k] for k in ("data", "transcript") if isinstance(document.get(k), list)), None)
    if not isinstance(items, list):
        raise UnrecognizedFormatError(
            f"JSON transcript is not an array of sentences (nor an object with a 'data' array); "
            f"{fingerprint(raw)}"
        )
    if len(items) > MAX_SOURCE_ENTRIES:
        raise TooLargeError(f"transcript has {len(items)} entries, more than the {MAX_SOURCE_ENTRIES} parsed")
    if items and not (isinstance(items[0], dict) and ("startTime" in items[0] or "sentence" in items[0])):
        raise UnrecognizedFormatError(
            f"JSON transcript entries have no 'startTime'/'sentence'; {fingerprint(raw)}"
        )
    rows: list[_Row] = []
    for index, item in enumerate(items):
        where = f"entry {index}"
        if not isinstance(item, dict):
            raise MalformedArtifactError(f"transcript {where}: not an object")
        sentence = item.get("sentence", item.get("text"))
        if sentence is None:
            sentence = ""
        if not isinstance(sentence, str):
            raise MalformedArtifactError(
                f"transcript {where}: the sentence is a JSON {type(sentence).__name__}, not text"
            )
        end_value = item.get("endTime")
        end = None if end_value in (None, "") else _required_time(end_value, f"{where} endTime")
        peer = item.get("peerData")
        peer = peer if isinstance(peer, dict) else {}
        speaker = Speaker(
            peer_id=clean_field(peer.get("id")) or clean_field(peer.get("peerId")),
            user_id=clean_field(peer.get("userId")),
            custom_participant_id=clean_field(peer.get("cpi"))
            or clean_field(peer.get("customParticipantId")),
            name=clean_field(peer.get("displayName")) or clean_field(peer.get("name")),
        )
        start = _required_time(item.get("startTime"), f"{where} startTime")
        rows.append(_Row(start, end, speaker, sentence))
    return rows


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _epoch_or_offset(value: float | datetime) -> float | datetime:
    if isinstance(value, float) and value >= EPOCH_MS_THRESHOLD:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return value


def _resolve_times(
    source_format: TranscriptFormat, rows: list[_Row], session_started_at: datetime | None
) -> Transcript:
    kept = [row for row in rows if row.text.strip()]
    if not kept:
        what = "no rows" if not rows else f"{len(rows)} rows, none with text"
        raise EmptyArtifactError(f"transcript ({source_format}) has no utterances: {what}")
    starts = [_epoch_or_offset(row.start) for row in kept]
    ends = [None if row.end is None else _epoch_or_offset(row.end) for row in kept]
    absolute = [isinstance(v, datetime) for v in starts + [e for e in ends if e is not None]]
    if any(absolute) and not all(absolute):
        raise MalformedArtifactError(
            f"transcript ({source_format}) mixes offsets in ms and absolute times (epoch or ISO 8601)"
        )
    origin = as_utc(session_started_at) if session_started_at is not None else None
    time_base: TimeBase = "session_start"
    if all(absolute) and origin is None:
        origin = min(s for s in starts if isinstance(s, datetime))
        time_base = "first_utterance"

    def seconds(value: float | datetime) -> float:
        if isinstance(value, datetime):
            # origin is set above whenever the times are absolute
            return seconds_between(origin or value, value)
        return round_seconds(value / 1000)

    utterances = [
        Utterance(seconds(start), None if end is None else seconds(end), row.speaker, row.text.strip())
        for row, start, end in zip(kept, starts, ends, strict=True)
    ]
    # Sorted is stable: equal starts keep the source order.
    utterances.sort(key=lambda u: u.start_s)
    return Transcript(source_format, tuple(utterances), origin, time_base)


def rebase_transcript(transcript: Transcript, origin: datetime, time_base: TimeBase) -> Transcript:
    """The same utterances with relative times measured from ``origin`` (e.g. the recording
    start). Absolute times do not change. A transcript whose own origin is unknown (offsets only,
    session start unknown) cannot be placed against another clock and is returned as it is."""
    if transcript.origin is None:
        return transcript
    shift = seconds_between(origin, transcript.origin)
    utterances = tuple(
        Utterance(
            round_seconds(u.start_s + shift),
            None if u.end_s is None else round_seconds(u.end_s + shift),
            u.speaker,
            u.text,
        )
        for u in transcript.utterances
    )
    return Transcript(transcript.source_format, utterances, as_utc(origin), time_base)


# --- normalized JSON ----------------------------------------------------------------------------


def _roster_for(transcript: Transcript, roster: Roster | None) -> Roster:
    return roster if roster is not None else build_roster(speakers=transcript.speakers)


def transcript_document(transcript: Transcript, roster: Roster | None = None) -> list[TranscriptEntry]:
    """Seed "Transcript": one entry per utterance, ``words`` = [the whole utterance].

    ``roster`` (from ``build_roster(events, transcript.speakers)``) makes participant ids match
    ``participants.json``; without it the roster is built from the transcript alone."""
    people = _roster_for(transcript, roster)
    return [
        TranscriptEntry(
            participant=people.participant_for(u.speaker),
            words=[
                Word(
                    text=u.text,
                    start_timestamp=transcript.timestamp(u.start_s),
                    end_timestamp=transcript.timestamp(u.end_s),
                )
            ],
        )
        for u in transcript.utterances
    ]


def transcript_to_json(transcript: Transcript, roster: Roster | None = None) -> bytes:
    """``transcript/transcript.json``."""
    return dump_document(TranscriptDocument, transcript_document(transcript, roster))


def speaker_timeline_document(
    transcript: Transcript, roster: Roster | None = None
) -> list[SpeakerTimelineEntry]:
    """Seed "Speaker Timeline": one entry per run of consecutive utterances by the same person.

    The end is the latest end in the run, or null when the source has no end times (CSV)."""
    people = _roster_for(transcript, roster)
    runs: list[list[Utterance]] = []
    run_person: list[int] = []
    for u in transcript.utterances:
        person_id = people.person_for(u.speaker).id
        if run_person and run_person[-1] == person_id:
            runs[-1].append(u)
        else:
            runs.append([u])
            run_person.append(person_id)
    entries = []
    for run in runs:
        ends = [u.end_s for u in run]
        end = max(e for e in ends if e is not None) if None not in ends else None
        entries.append(
            SpeakerTimelineEntry(
                participant=people.participant_for(run[0].speaker),
                start_timestamp=transcript.timestamp(run[0].start_s),
                end_timestamp=transcript.timestamp(end),
            )
        )
    return entries


def speaker_timeline_to_json(transcript: Transcript, roster: Roster | None = None) -> bytes:
    """``transcript/speaker_timeline.json``."""
    return dump_document(SpeakerTimelineDocument, speaker_timeline_document(transcript, roster))


# --- human and player formats ------------------------------------------------------------------


def _clock(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    whole = int(abs(seconds))
    return f"{sign}{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


UNKNOWN_SPEAKER = "Unknown speaker"


def _speaker_names(transcript: Transcript, roster: Roster | None) -> list[str]:
    """The name each utterance's speaker is shown with. With the session's roster: the person's
    name, as ``transcript.json`` gives it (``Unknown speaker`` when the roster has none), so every
    file names a person alike. Without one: the utterance's own label."""
    if roster is None:
        return [one_line(u.speaker.label) for u in transcript.utterances]
    return [one_line(roster.person_for(u.speaker).name or UNKNOWN_SPEAKER) for u in transcript.utterances]


def transcript_to_txt(transcript: Transcript, roster: Roster | None = None) -> bytes:
    """``transcript/transcript.txt``: ``[HH:MM:SS] Name: text``, one utterance per line. A start
    before the time base (speech before the recording began) is shown at 00:00:00, like the cues.
    ``roster``: name speakers as ``transcript.json`` does (see ``_speaker_names``)."""
    lines = [
        f"[{_clock(max(0.0, u.start_s))}] {name}: {one_line(u.text)}"
        for u, name in zip(transcript.utterances, _speaker_names(transcript, roster), strict=True)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def cue_times_ms(transcript: Transcript) -> list[tuple[int, int]]:
    """(start, end) in ms for each utterance, for players.

    Start is clamped at 0. End is the source's end when it is after the start; otherwise a
    reading time (15 characters a second, 1 to 5 s), cut short by the next utterance's start."""
    starts = [max(0, round(u.start_s * 1000)) for u in transcript.utterances]
    # next_start[i]: the first later start strictly after starts[i] (starts are sorted).
    next_start: list[int | None] = [None] * len(starts)
    for index in range(len(starts) - 2, -1, -1):
        later = starts[index + 1]
        next_start[index] = later if later > starts[index] else next_start[index + 1]
    times = []
    for index, u in enumerate(transcript.utterances):
        start = starts[index]
        if u.end_s is not None and round(u.end_s * 1000) > start:
            times.append((start, round(u.end_s * 1000)))
            continue
        reading = len(u.text) * 1000 // CUE_CHARS_PER_SECOND
        end = start + min(max(reading, CUE_MIN_MS), CUE_MAX_MS)
        following = next_start[index]
        if following is not None:
            end = min(end, following)
        times.append((start, end))
    return times


def _cue_clock(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cues(transcript: Transcript, roster: Roster | None) -> list[tuple[int, int, str]]:
    """(start ms, end ms, ``Name: text``) per utterance."""
    return [
        (start, end, f"{name}: {one_line(u.text)}")
        for u, name, (start, end) in zip(
            transcript.utterances, _speaker_names(transcript, roster), cue_times_ms(transcript), strict=True
        )
    ]


def transcript_to_vtt(transcript: Transcript, roster: Roster | None = None) -> bytes:
    """``transcript/transcript.vtt`` (WebVTT): one cue per utterance, text ``Name: text``."""
    parts = ["WEBVTT\n"]
    for number, (start, end, text) in enumerate(_cues(transcript, roster), start=1):
        parts.append(f"{number}\n{_cue_clock(start, '.')} --> {_cue_clock(end, '.')}\n{_escape_vtt(text)}\n")
    return "\n".join(parts).encode("utf-8")


def transcript_to_srt(transcript: Transcript, roster: Roster | None = None) -> bytes:
    """``transcript/transcript.srt`` (SubRip): one cue per utterance, text ``Name: text``."""
    parts = []
    for number, (start, end, text) in enumerate(_cues(transcript, roster), start=1):
        parts.append(f"{number}\n{_cue_clock(start, ',')} --> {_cue_clock(end, ',')}\n{text}\n")
    return "\n".join(parts).encode("utf-8")
