"""The live transcription WebSocket's messages (seed 004), parsed. Pure.

Every message is a JSON string ``{"type": ..., "data": {...}}``: ``ping``, ``start``, ``ts`` (one
transcript line: ``transcript``, ``start``, ``end``, ``speaker``, ``speaker_name`` which may be null
at first), ``chat-message``, ``participant-tracked``, ``started-speaking``, ``stopped-speaking``,
``stop`` and ``error``. The vendor's newer page adds ``connected``, sent on connect with every line
so far: its lines are read like ``ts`` lines and deduplicated against them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

KNOWN_TYPES = frozenset(
    {
        "ping",
        "start",
        "ts",
        "chat-message",
        "participant-tracked",
        "started-speaking",
        "stopped-speaking",
        "stop",
        "error",
        "connected",
    }
)
# Messages after which the bot sends nothing more: the chain of legs ends.
TERMINAL_TYPES = frozenset({"stop", "error"})
MAX_MESSAGE_BYTES = 256 * 1024  # EventBridge's entry limit: a larger message is counted, not relayed


class MessageError(ValueError):
    """A message that is not the documented ``{type, data}`` JSON object."""


@dataclass(frozen=True, slots=True)
class LiveLine:
    """One ``ts`` line. ``start``/``end``: seconds from the bot's recording start."""

    text: str
    start: float
    end: float | None
    speaker: int | str | None
    speaker_name: str | None

    @property
    def key(self) -> str:
        """Content identity (speaker, start, end, text): the same line seen by two overlapping legs,
        or again in a ``connected`` replay, has the same key."""
        parts = json.dumps([self.speaker, self.start, self.end, self.text], ensure_ascii=False)
        return hashlib.sha256(parts.encode("utf-8")).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "speaker_name": self.speaker_name,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }

    @classmethod
    def from_data(cls, data: Any) -> LiveLine:
        if not isinstance(data, dict):
            raise MessageError("a transcript line's data is not an object")
        text = data.get("transcript", data.get("text"))
        if not isinstance(text, str):
            raise MessageError("a transcript line has no text")
        start = _seconds(data.get("start"), "start")
        if start is None:
            raise MessageError("a transcript line has no start time")
        speaker = data.get("speaker")
        if not (speaker is None or isinstance(speaker, int | str)) or isinstance(speaker, bool):
            raise MessageError("a transcript line's speaker is neither a number nor a string")
        name = data.get("speaker_name")
        return cls(
            text=text,
            start=start,
            end=_seconds(data.get("end"), "end"),
            speaker=speaker,
            speaker_name=name.strip() or None if isinstance(name, str) else None,
        )


def _seconds(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MessageError(f"a transcript line's {what} is not a number of seconds")
    return round(float(value), 6)


@dataclass(frozen=True, slots=True)
class LiveMessage:
    type: str
    data: Any
    raw_bytes: int

    @property
    def known(self) -> bool:
        return self.type in KNOWN_TYPES

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES

    def lines(self) -> list[LiveLine]:
        """The transcript lines this message carries: one for ``ts``, every line for ``connected``."""
        if self.type == "ts":
            return [LiveLine.from_data(self.data)]
        if self.type == "connected":
            return [LiveLine.from_data(item) for item in connected_lines(self.data)]
        return []

    def person(self) -> tuple[str | None, str | None]:
        """(participantId, participantName) of the participant and speaking events."""
        data = self.data if isinstance(self.data, dict) else {}
        pid, name = data.get("participantId"), data.get("participantName")
        return (pid if isinstance(pid, str) else None, name if isinstance(name, str) else None)


def connected_lines(data: Any) -> list[Any]:
    """The lines a ``connected`` message replays. Its exact shape is not documented: accept a list, or
    an object holding one under ``transcripts``, ``transcript`` or ``lines``."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("transcripts", "transcript", "lines"):
            if isinstance(data.get(key), list):
                return list(data[key])
    return []


def parse_message(text: str | bytes) -> LiveMessage:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise MessageError(f"not JSON ({type(error).__name__})") from None
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise MessageError("not an object with a string 'type'")
    return LiveMessage(type=document["type"], data=document.get("data"), raw_bytes=len(raw))
