"""Normalization of RealtimeKit session artifacts into open formats. Pure: bytes in, bytes out.

- ``transcript``: detect (CSV / legacy Dyte CSV / JSON) and parse a transcript; render
  ``transcript.json``, ``speaker_timeline.json``, ``transcript.txt|.vtt|.srt``.
- ``chat``: detect (CSV / JSON) and parse a chat export; render ``chat.json``.
- ``participants``: fold join/leave webhooks and transcript speakers into people; render
  ``participants.json`` and ``participant_events.json``.
- ``seed_models``: strict pydantic models of the seed 002 shapes every JSON output follows.
- ``errors``: ``EmptyArtifactError``, ``UnrecognizedFormatError``, ``MalformedArtifactError``.

Formats and mapping decisions: ``docs/formats.md``.
"""

from shared.normalize.chat import (
    Chat,
    ChatMessage,
    chat_document,
    chat_to_json,
    detect_chat_format,
    parse_chat,
)
from shared.normalize.errors import (
    EmptyArtifactError,
    MalformedArtifactError,
    NormalizeError,
    UnrecognizedFormatError,
)
from shared.normalize.participants import (
    Person,
    PresenceEvent,
    Roster,
    Speaker,
    UnknownParticipantError,
    build_roster,
    participant_events_document,
    participant_events_to_json,
    participants_document,
    participants_to_json,
)
from shared.normalize.transcript import (
    Transcript,
    Utterance,
    cue_times_ms,
    detect_transcript_format,
    parse_transcript,
    speaker_timeline_document,
    speaker_timeline_to_json,
    transcript_document,
    transcript_to_json,
    transcript_to_srt,
    transcript_to_txt,
    transcript_to_vtt,
)

__all__ = [
    "Chat",
    "ChatMessage",
    "EmptyArtifactError",
    "MalformedArtifactError",
    "NormalizeError",
    "Person",
    "PresenceEvent",
    "Roster",
    "Speaker",
    "Transcript",
    "UnknownParticipantError",
    "UnrecognizedFormatError",
    "Utterance",
    "build_roster",
    "chat_document",
    "chat_to_json",
    "cue_times_ms",
    "detect_chat_format",
    "detect_transcript_format",
    "parse_chat",
    "parse_transcript",
    "participant_events_document",
    "participant_events_to_json",
    "participants_document",
    "participants_to_json",
    "speaker_timeline_document",
    "speaker_timeline_to_json",
    "transcript_document",
    "transcript_to_json",
    "transcript_to_srt",
    "transcript_to_txt",
    "transcript_to_vtt",
]
