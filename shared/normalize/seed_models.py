"""Pydantic models of the JSON shapes in ``seeds/002`` ("Participant", "Participant Event",
"Speaker Timeline", "Transcript"), used to build every normalized file and to validate it.

The models are strict (``extra="forbid"``, no type coercion, every key required) so an output
that drifts from the seed fails loudly. They differ from the seed in one documented way: a
timestamp's ``absolute`` or ``relative`` is ``null`` when the source does not have it (the session
start is unknown, or RealtimeKit gave no end time). See ``docs/formats.md``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, field_validator, model_validator

PLATFORM = "realtimekit"

ParticipantAction = Literal[
    "join",
    "leave",
    "update",
    "speech_on",
    "speech_off",
    "webcam_on",
    "webcam_off",
    "screenshare_on",
    "screenshare_off",
    "chat_message",
]


M = TypeVar("M", bound=BaseModel)

# A finite number of seconds: NaN and infinities are not JSON.
Seconds = Annotated[float, Field(allow_inf_nan=False)]


class SeedModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Participant(SeedModel):
    """Seed "Participant". ``id`` is unique within one session only."""

    id: int = Field(ge=0)
    name: str | None
    is_host: bool | None
    platform: str | None
    extra_data: dict[str, JsonValue] | None
    email: str | None


class Timestamp(SeedModel):
    """``absolute``: ISO 8601 UTC (``...Z``); ``relative``: seconds from the session start."""

    absolute: str | None
    relative: Seconds | None

    @field_validator("absolute")
    @classmethod
    def _iso_utc(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.endswith("Z"):
            raise ValueError(f"absolute time {value!r} is not UTC with a 'Z' suffix")
        datetime.fromisoformat(value)  # raises ValueError when it is not ISO 8601
        return value


def _require_relative(stamp: Timestamp, label: str) -> None:
    if stamp.relative is None:
        raise ValueError(f"{label}.relative is required")


class Word(SeedModel):
    """One element of a transcript entry's ``words``. For RealtimeKit: a whole utterance."""

    text: str
    start_timestamp: Timestamp
    end_timestamp: Timestamp

    @model_validator(mode="after")
    def _start_known(self) -> Word:
        _require_relative(self.start_timestamp, "start_timestamp")
        return self


class TranscriptEntry(SeedModel):
    participant: Participant
    words: list[Word] = Field(min_length=1)


class SpeakerTimelineEntry(SeedModel):
    participant: Participant
    start_timestamp: Timestamp
    end_timestamp: Timestamp

    @model_validator(mode="after")
    def _start_known(self) -> SpeakerTimelineEntry:
        _require_relative(self.start_timestamp, "start_timestamp")
        return self


class ChatMessageData(SeedModel):
    text: str
    # Seed: "everyone" | "only_bot". A private message carries its recipient's id instead (a
    # documented deviation: the seed's bot-centred values have no place for a person).
    to: str = Field(min_length=1)


class ParticipantEvent(SeedModel):
    id: str = Field(min_length=1)
    action: ParticipantAction
    participant: Participant
    timestamp: Timestamp
    data: ChatMessageData | None


ParticipantsDocument: TypeAdapter[list[Participant]] = TypeAdapter(list[Participant])
ParticipantEventsDocument: TypeAdapter[list[ParticipantEvent]] = TypeAdapter(list[ParticipantEvent])
SpeakerTimelineDocument: TypeAdapter[list[SpeakerTimelineEntry]] = TypeAdapter(list[SpeakerTimelineEntry])
TranscriptDocument: TypeAdapter[list[TranscriptEntry]] = TypeAdapter(list[TranscriptEntry])


# --- time helpers shared by the normalizers -------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """``2026-06-03T10:00:09.730066Z``: the seed's absolute form, always with microseconds."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime | None:
    """Lenient ISO 8601 (``T`` or space, ``Z`` or offset, naive = UTC); None if it is not one."""
    candidate = text.strip()
    if not candidate:
        return None
    try:
        return as_utc(datetime.fromisoformat(candidate))
    except ValueError:
        return None


def round_seconds(value: float) -> float:
    """Seconds rounded to the microsecond, so float noise never reaches the files."""
    return round(value, 6) + 0.0  # + 0.0 turns -0.0 into 0.0


def seconds_between(start: datetime, end: datetime) -> float:
    return round_seconds((as_utc(end) - as_utc(start)).total_seconds())


def make_timestamp(relative: float | None, origin: datetime | None) -> Timestamp:
    """A seed timestamp from seconds after ``origin`` (the session start); parts unknown stay null."""
    if relative is None:
        return Timestamp(absolute=None, relative=None)
    absolute = iso_utc(origin + timedelta(seconds=relative)) if origin is not None else None
    return Timestamp(absolute=absolute, relative=round_seconds(relative))


def to_json_bytes(document: Any) -> bytes:
    """UTF-8 JSON, 2-space indent, trailing newline: byte-identical for equal input."""
    text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def dump_document(adapter: TypeAdapter[list[M]], documents: list[M]) -> bytes:
    """A list of models as ``to_json_bytes`` would write it (same bytes), serialized by pydantic's
    fast encoder: keys in model order, UTF-8 not escaped, 2-space indent, trailing newline."""
    return adapter.dump_json(documents, indent=2) + b"\n"
