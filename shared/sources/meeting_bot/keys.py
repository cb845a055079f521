"""Object keys of a bot session's media. Deterministic: a duplicate delivery overwrites its own
object. Relative times become zero-padded integers so that keys sort in time order.

```
meetings/{meetingId}/sessions/{recordingId}/
  media/audio/{stream}/{relative µs:013d}.pcm   one audio chunk as received (16 kHz mono S16LE)
  audio_mixed.wav                               the mixed stream, assembled
  audio/{participantId}.wav                     one participant's stream, assembled
  frames/{participantId}/{relative ms:010d}.png sampled video frames
```"""

from __future__ import annotations

import re

from shared.archive.keys import session_prefix
from shared.sources.meeting_bot.payloads import MIXED_STREAM

_STREAM = re.compile(r"^(mixed|\d{1,18})$")
CHUNK_SUFFIX = ".pcm"


def _stream(stream: str) -> str:
    if not _STREAM.match(stream):
        raise ValueError(f"not an audio stream name: {stream!r}")
    return stream


def relative_us(relative: float) -> int:
    return max(0, round(relative * 1_000_000))


def chunk_prefix(meeting_id: str, session_id: str, stream: str) -> str:
    return f"{session_prefix(meeting_id, session_id)}media/audio/{_stream(stream)}/"


def chunk_key(meeting_id: str, session_id: str, stream: str, relative: float) -> str:
    return f"{chunk_prefix(meeting_id, session_id, stream)}{relative_us(relative):013d}{CHUNK_SUFFIX}"


def chunk_relative_us(key: str) -> int:
    """The relative time (µs) a chunk key carries."""
    name = key.rsplit("/", 1)[-1]
    if not name.endswith(CHUNK_SUFFIX) or not name[: -len(CHUNK_SUFFIX)].isdigit():
        raise ValueError(f"not a chunk key: {key!r}")
    return int(name[: -len(CHUNK_SUFFIX)])


def wav_path(stream: str) -> str:
    """Relative to the session folder."""
    return "audio_mixed.wav" if _stream(stream) == MIXED_STREAM else f"audio/{stream}.wav"


def wav_key(meeting_id: str, session_id: str, stream: str) -> str:
    return session_prefix(meeting_id, session_id) + wav_path(stream)


def frame_path(participant_id: int, relative: float) -> str:
    return f"frames/{int(participant_id)}/{max(0, round(relative * 1000)):010d}.png"


def frame_key(meeting_id: str, session_id: str, participant_id: int, relative: float) -> str:
    return session_prefix(meeting_id, session_id) + frame_path(participant_id, relative)
