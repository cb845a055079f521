"""The bot's real-time event bodies (seed 000), read leniently: every body is
``{"event": name, "data": {"data": {...}, "recording": {"id"}, "bot": {"id", "metadata"}, ...}}``.

Meeting id: ``bot.metadata.meeting_id`` when the user set one, else ``bot.id``. Session id:
``recording.id``. Both must pass the archive's safe-id rule, else the body is kept under
``unattributed/``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.archive.keys import is_safe_id

SOURCE = "meeting-bot"
MEDIA_SOURCE = "meeting-bot.media"  # audio chunk pointers (bus source of their own)
PARTICIPANT_EVENT_PREFIX = "participant_events."
# = shared.normalize.seed_models.ParticipantAction, written out: that module imports pydantic, which
# the bot endpoint's ack path does not load.
PARTICIPANT_ACTIONS = (
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
)
TRANSCRIPT = "transcript.data"
PARTIAL_TRANSCRIPT = "transcript.partial_data"
AUDIO_MIXED = "audio_mixed_raw.data"
AUDIO_SEPARATE = "audio_separate_raw.data"
VIDEO_FRAME = "video_separate_png.data"
MEDIA_EVENTS = (AUDIO_MIXED, AUDIO_SEPARATE, VIDEO_FRAME)
# Bus detail types of the pointers the ack path publishes instead of raw media.
AUDIO_CHUNK_STORED = "audio_chunk.stored"
FRAME_STORED = "video_frame.stored"
MIXED_STREAM = "mixed"


class BadMediaError(ValueError):
    """A media body without a decodable buffer or a relative time."""


def parse_iso(text: str) -> datetime | None:
    """ISO 8601 (``Z`` or an offset; naive = UTC), or None. Here rather than from
    ``shared.normalize``, whose import the ack path's cold start should not pay."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


@dataclass(frozen=True)
class BotEvent:
    """What the pipeline needs from one body; ``payload`` is the whole parsed body."""

    event: str
    payload: dict[str, Any]

    @property
    def envelope(self) -> dict[str, Any]:
        return _dict(self.payload.get("data"))

    @property
    def inner(self) -> dict[str, Any]:
        return _dict(self.envelope.get("data"))

    @property
    def bot_id(self) -> str | None:
        value = _dict(self.envelope.get("bot")).get("id")
        return value if isinstance(value, str) and value else None

    @property
    def meeting_id(self) -> str | None:
        bot = _dict(self.envelope.get("bot"))
        chosen = _dict(bot.get("metadata")).get("meeting_id")
        if not (isinstance(chosen, str) and chosen):
            chosen = bot.get("id")
        return chosen if isinstance(chosen, str) and is_safe_id(chosen) else None

    @property
    def session_id(self) -> str | None:
        value = _dict(self.envelope.get("recording")).get("id")
        return value if isinstance(value, str) and is_safe_id(value) else None

    @property
    def participant(self) -> dict[str, Any] | None:
        value = self.inner.get("participant")
        return value if isinstance(value, dict) else None

    @property
    def participant_id(self) -> int | None:
        value = (self.participant or {}).get("id")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def relative(self) -> float | None:
        """Seconds from the recording start: the timestamp, or the first word's start."""
        stamp = _number(_dict(self.inner.get("timestamp")).get("relative"))
        if stamp is not None:
            return stamp
        words = self.inner.get("words")
        if isinstance(words, list) and words:
            return _number(_dict(_dict(words[0]).get("start_timestamp")).get("relative"))
        return None

    @property
    def absolute(self) -> datetime | None:
        text = _dict(self.inner.get("timestamp")).get("absolute")
        return parse_iso(text) if isinstance(text, str) else None

    @property
    def action(self) -> str | None:
        if self.event.startswith(PARTICIPANT_EVENT_PREFIX):
            return self.event.removeprefix(PARTICIPANT_EVENT_PREFIX)
        return None

    @property
    def is_media(self) -> bool:
        return self.event in MEDIA_EVENTS

    @property
    def stream(self) -> str | None:
        """Audio stream name: ``mixed``, or the participant id for separate audio."""
        if self.event == AUDIO_MIXED:
            return MIXED_STREAM
        if self.event == AUDIO_SEPARATE and self.participant_id is not None:
            return str(self.participant_id)
        return None

    def media_bytes(self) -> bytes:
        buffer = self.inner.get("buffer")
        if not isinstance(buffer, str):
            raise BadMediaError(f"{self.event}: no base64 'buffer'")
        try:
            return base64.b64decode(buffer, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadMediaError(f"{self.event}: 'buffer' is not base64") from exc


def read_event(payload: Any) -> BotEvent | None:
    """The event of a parsed body, or None when the body has no ``event`` name."""
    if isinstance(payload, dict) and isinstance(payload.get("event"), str) and payload["event"]:
        return BotEvent(event=payload["event"], payload=payload)
    return None
