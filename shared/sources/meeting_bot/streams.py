"""When to assemble an audio stream: after it has been quiet for ``quiet_seconds``.

One timer per stream, not one per chunk: the first chunk pointer of a quiet stream marks a timer
pending (a conditional write in the sessions table) and sends ONE delayed message to the audio
queue; later chunks only move the stream's ``last`` time. When the message comes back, the stream
is assembled if it has been quiet long enough, else the message is sent again for the remaining
time (SQS delays are at most 15 minutes, so longer quiet periods take several hops). A chunk
that arrives after an assembly starts a new timer, so late audio causes a new assembly.

Why not a delayed message per chunk: 10 chunks a second would mean 36,000 delayed messages and
as many chunk listings per bot-hour. Why not a schedule: it would scan every stream every few
minutes and assemble late by up to its period."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shared.session.model import ArtifactRecord, ArtifactState
from shared.sources.meeting_bot.audio import Assembled, plan, write_wav
from shared.sources.meeting_bot.keys import chunk_prefix, wav_key
from shared.sources.meeting_bot.media_store import MediaStore

MAX_SQS_DELAY_SECONDS = 900
TIMER_KIND = "assemble-audio"


@dataclass(frozen=True)
class StreamRef:
    meeting_id: str
    session_id: str
    stream: str

    @property
    def pk(self) -> str:
        return f"audio#{self.meeting_id}/{self.session_id}/{self.stream}"

    def message(self) -> str:
        return json.dumps(
            {
                "kind": TIMER_KIND,
                "meetingId": self.meeting_id,
                "sessionId": self.session_id,
                "stream": self.stream,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> StreamRef:
        return cls(str(body["meetingId"]), str(body["sessionId"]), str(body["stream"]))


class StreamTimers:
    def __init__(
        self,
        *,
        table_name: str,
        dynamodb: Any,
        sqs: Any,
        queue_url: str,
        quiet_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._ddb = dynamodb
        self._sqs = sqs
        self._queue_url = queue_url
        self._quiet = quiet_seconds
        self._clock = clock

    def _key(self, ref: StreamRef) -> dict[str, Any]:
        return {"pk": {"S": ref.pk}, "sk": {"S": "timer"}}

    def _send(self, ref: StreamRef, delay: float) -> None:
        seconds = int(min(MAX_SQS_DELAY_SECONDS, max(1, delay + 0.999)))
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=ref.message(), DelaySeconds=seconds)

    def chunks_arrived(self, ref: StreamRef, count: int = 1) -> bool:
        """Note new chunks; True when this call started the stream's timer."""
        now = self._clock()
        updated = self._ddb.update_item(
            TableName=self._table,
            Key=self._key(ref),
            UpdateExpression="SET #last = :now ADD chunks :n",
            ExpressionAttributeNames={"#last": "last"},
            ExpressionAttributeValues={":now": {"N": repr(now)}, ":n": {"N": str(count)}},
            ReturnValues="ALL_NEW",
        )
        if updated.get("Attributes", {}).get("pending", {}).get("BOOL"):
            return False  # the usual case while a stream is live: one write per chunk
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=self._key(ref),
                UpdateExpression="SET pending = :yes",
                ConditionExpression="attribute_not_exists(pending) OR pending = :no",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":no": {"BOOL": False}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # a timer is already pending
            raise
        self._send(ref, self._quiet)
        return True

    def timer_fired(self, ref: StreamRef) -> bool:
        """True when the stream has been quiet long enough and should be assembled now (the timer
        is cleared); otherwise the timer is re-sent for the remaining time."""
        item = self._ddb.get_item(TableName=self._table, Key=self._key(ref), ConsistentRead=True).get("Item")
        if item is None:
            return False
        last = float(item["last"]["N"])
        remaining = last + self._quiet - self._clock()
        if remaining > 0:
            self._send(ref, remaining)
            return False
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=self._key(ref),
                UpdateExpression="SET pending = :no",
                ConditionExpression="#last = :seen",
                ExpressionAttributeNames={"#last": "last"},
                ExpressionAttributeValues={":no": {"BOOL": False}, ":seen": item["last"]},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                self._send(ref, self._quiet)  # a chunk arrived meanwhile
                return False
            raise
        return True


def assemble_stream(
    media: MediaStore, ref: StreamRef, *, prefetch: int = 16
) -> tuple[ArtifactRecord, Assembled]:
    """List the stream's chunks, write ``audio_mixed.wav`` / ``audio/{id}.wav`` (multipart, one
    part in memory) and return its artifact record (no time stamp: the manifest stays the same
    for the same chunks)."""
    layout = plan(media.list_chunks(chunk_prefix(ref.meeting_id, ref.session_id, ref.stream)))
    key = wav_key(ref.meeting_id, ref.session_id, ref.stream)
    with media.writer(key, content_type="audio/wav") as writer:
        assembled = write_wav(layout, media.read, writer, prefetch=prefetch)
    record = ArtifactRecord(
        name=f"audio/{ref.stream}",
        kind="audio",
        state=ArtifactState.ARCHIVED,
        key=key,
        bytes=assembled.bytes,
        sha256=assembled.sha256,
        content_type="audio/wav",
        source=f"{assembled.chunks} chunks, {assembled.duration_seconds:.3f} s",
    )
    return record, assembled


class BotAudioConsumer:
    """Chunk pointers start timers; timers assemble quiet streams and record the WAV."""

    def __init__(
        self,
        *,
        timers: StreamTimers,
        media: MediaStore,
        record: Callable[[str, str, ArtifactRecord], None],
    ) -> None:
        self._timers = timers
        self._media = media
        self._record = record

    def handle(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if body.get("kind") == TIMER_KIND:
            ref = StreamRef.from_message(body)
            if not self._timers.timer_fired(ref):
                return None
            record, assembled = assemble_stream(self._media, ref)
            self._record(ref.meeting_id, ref.session_id, record)
            return {
                "assembled": record.key,
                "chunks": assembled.chunks,
                "bytes": assembled.bytes,
                "meeting_id": ref.meeting_id,
                "session_id": ref.session_id,
            }
        detail = body.get("detail") or {}
        pointer = detail.get("payload") or {}
        meeting_id, session_id, stream = (
            detail.get("meetingId"),
            detail.get("sessionId"),
            pointer.get("stream"),
        )
        if not (meeting_id and session_id and isinstance(stream, str)):
            raise ValueError("an audio pointer without meeting, session or stream")
        self._timers.chunks_arrived(StreamRef(meeting_id, session_id, stream))
        return None
