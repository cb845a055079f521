"""A recorded meeting-bot session for the demo, tests, replay and the bench: the real-time event
bodies a bot posts (seed 000 shapes): participant events of every action, transcript lines and
partials, a few seconds of generated audio (mixed and per participant, 100 ms chunks), and one
webcam frame (a generated PNG)."""

from __future__ import annotations

import base64
import json
import math
import struct
import urllib.error
import urllib.request
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.sources.meeting_bot.auth import sign

SAMPLE_RATE = 16_000


def tone(seconds: float, *, frequency: float, start_sample: int = 0, amplitude: int = 6000) -> bytes:
    """16 kHz mono S16LE sine samples (deterministic)."""
    count = round(seconds * SAMPLE_RATE)
    return b"".join(
        struct.pack(
            "<h", round(amplitude * math.sin(2 * math.pi * frequency * (start_sample + i) / SAMPLE_RATE))
        )
        for i in range(count)
    )


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid, small, single-colour PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class BotPerson:
    id: int
    name: str
    is_host: bool
    frequency: float


@dataclass
class SampleBotMeeting:
    bot_id: str = "bot-4f1d2c9a-0b7e-4e55-9d1a-2b8f6c3e7a10"
    meeting_id: str | None = "design-review"  # bot.metadata.meeting_id; None: the bot id is used
    recording_id: str = "rec-8c2e7f3b-51a4-4d09-a6e1-93f0b2d4c5e6"
    started_at: datetime = field(default_factory=lambda: datetime(2026, 6, 4, 15, 0, 0, tzinfo=UTC))
    audio_seconds: float = 3.0
    chunk_seconds: float = 0.1
    gap: tuple[float, float] = (1.5, 1.8)  # the mixed stream's chunks in this window are missing
    people: tuple[BotPerson, ...] = (
        BotPerson(100, "Maya Patel", True, 440.0),
        BotPerson(101, "Tomás Ortega", False, 554.37),
        BotPerson(102, "Ines Köhler", False, 659.25),
    )

    @property
    def folder_meeting_id(self) -> str:
        return self.meeting_id or self.bot_id

    def _envelope(self, event: str, inner: dict[str, Any], resource: str) -> dict[str, Any]:
        metadata = {"meeting_id": self.meeting_id} if self.meeting_id else {}
        return {
            "event": event,
            "data": {
                "data": inner,
                "realtime_endpoint": {"id": "rte-1", "metadata": {}},
                resource: {"id": f"{resource}-1", "metadata": {}},
                "recording": {"id": self.recording_id, "metadata": {}},
                "bot": {"id": self.bot_id, "metadata": metadata},
            },
        }

    def participant(self, person: BotPerson, *, name: str | None = None) -> dict[str, Any]:
        return {
            "id": person.id,
            "name": name or person.name,
            "is_host": person.is_host,
            "platform": "desktop",
            "extra_data": {"zoom": {"user_guid": f"guid-{person.id}"}},
        }

    def _stamp(self, relative: float) -> dict[str, Any]:
        moment = self.started_at + timedelta(seconds=relative)
        return {"absolute": moment.isoformat().replace("+00:00", "Z"), "relative": relative}

    def participant_event(
        self,
        action: str,
        person: BotPerson,
        relative: float,
        data: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        inner = {
            "participant": self.participant(person, name=name),
            "timestamp": self._stamp(relative),
            "data": data,
        }
        return self._envelope(f"participant_events.{action}", inner, "participant_events")

    def transcript(
        self, person: BotPerson, start: float, text: str, *, partial: bool = False, name: str | None = None
    ) -> dict[str, Any]:
        words = []
        at = start
        for word in text.split():
            words.append(
                {
                    "text": word,
                    "start_timestamp": {"relative": round(at, 3)},
                    "end_timestamp": {"relative": round(at + 0.3, 3)},
                }
            )
            at += 0.35
        inner = {"words": words, "participant": self.participant(person, name=name)}
        return self._envelope(
            "transcript.partial_data" if partial else "transcript.data", inner, "transcript"
        )

    def audio_chunk(self, relative: float, pcm: bytes, person: BotPerson | None = None) -> dict[str, Any]:
        inner: dict[str, Any] = {"buffer": base64.b64encode(pcm).decode(), "timestamp": self._stamp(relative)}
        if person is None:
            return self._envelope("audio_mixed_raw.data", inner, "audio_mixed")
        inner["participant"] = self.participant(person)
        return self._envelope("audio_separate_raw.data", inner, "audio_separate")

    def frame(self, person: BotPerson, relative: float) -> dict[str, Any]:
        inner = {
            "buffer": base64.b64encode(png(64, 36, (40, 120, 200))).decode(),
            "timestamp": self._stamp(relative),
            "type": "webcam",
            "participant": self.participant(person),
        }
        return self._envelope("video_separate_png.data", inner, "video_separate")

    def mixed_chunks(self) -> list[tuple[float, bytes]]:
        """(relative, pcm) of the mixed stream, gap excluded."""
        chunks = []
        samples = round(self.chunk_seconds * SAMPLE_RATE)
        for index in range(round(self.audio_seconds / self.chunk_seconds)):
            relative = round(index * self.chunk_seconds, 3)
            if self.gap[0] <= relative < self.gap[1]:
                continue
            chunks.append((relative, tone(self.chunk_seconds, frequency=300.0, start_sample=index * samples)))
        return chunks

    def bodies(self) -> list[dict[str, Any]]:
        """Every body, in a realistic order."""
        maya, tomas, ines = self.people
        renamed = "Ines Köhler (Berlin)"
        out = [
            self.participant_event("join", maya, 0.5),
            self.participant_event("join", tomas, 0.9),
            self.participant_event("webcam_on", maya, 1.0),
            self.participant_event("join", ines, 1.2),
            self.participant_event("speech_on", maya, 1.3),
            self.transcript(maya, 1.3, "Good afternoon, let's review the design", partial=True),
            self.transcript(maya, 1.3, "Good afternoon, let's review the design."),
            self.participant_event("speech_off", maya, 3.6),
            self.participant_event("screenshare_on", tomas, 3.8),
            self.participant_event("speech_on", tomas, 4.0),
            self.transcript(tomas, 4.0, "Here is the new storage layout."),
            self.participant_event("speech_off", tomas, 5.9),
            self.participant_event(
                "chat_message",
                ines,
                6.2,
                data={"text": "Link to the doc: https://example.com/d/42", "to": "everyone"},
            ),
            self.participant_event("update", ines, 6.5, name=renamed),
            self.transcript(ines, 6.8, "Looks good to me, ship it.", name=renamed),
            self.participant_event("screenshare_off", tomas, 8.0),
            self.participant_event("webcam_off", maya, 8.2),
            self.participant_event("leave", tomas, 9.0),
            self.participant_event("leave", ines, 9.1, name=renamed),
            self.participant_event("leave", maya, 9.5),
            self.frame(maya, 10.2),  # inside the 10-20 s sampling window's first half second: kept
            self.frame(maya, 10.7),  # the same window: not kept
            # An event this version does not know: kept raw, counted, forwarded.
            self._envelope("bot.custom_signal", {"note": "not in seed 000"}, "custom"),
        ]
        for relative, pcm in self.mixed_chunks():
            out.append(self.audio_chunk(relative, pcm))
        samples = round(self.chunk_seconds * SAMPLE_RATE)
        for index in range(10):  # one second of Tomás's own stream, from 4.0 s
            relative = round(4.0 + index * self.chunk_seconds, 3)
            out.append(
                self.audio_chunk(
                    relative,
                    tone(self.chunk_seconds, frequency=tomas.frequency, start_sample=index * samples),
                    tomas,
                )
            )
        return out


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(
    secret: str, body: bytes, *, timestamp: int, message_id: str | None = None
) -> dict[str, str]:
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = 30.0) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)
