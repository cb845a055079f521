"""The fan-out: which bus events reach which consumer queue. One definition, read by the CDK
stack and by local mode, so both route exactly alike.

Timeouts and batch sizes live here too because the queue's visibility timeout must be at least
six times its consumer's timeout (AWS guidance for SQS event sources)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.ingest.envelope import EVENT_SOURCE

VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_RETENTION_DAYS = 14


@dataclass(frozen=True)
class ConsumerRoute:
    name: str
    description: str
    handler_module: str  # importable module whose ``handler`` is the Lambda entry point
    event_pattern: dict[str, Any]
    timeout_seconds: int
    memory_mb: int
    batch_size: int = 10
    max_receive_count: int = 3

    @property
    def visibility_timeout_seconds(self) -> int:
        return self.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR

    @property
    def lambda_handler(self) -> str:
        return f"{self.handler_module}.handler"


def _valid(detail_type: str, **payload: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {"valid": [True]}
    if payload:
        detail["payload"] = payload
    return {"source": [EVENT_SOURCE], "detail-type": [detail_type], "detail": detail}


# ``delivery.signatureHeader`` of the events reconciliation synthesizes (``shared.reconcile.sweep``).
RECONCILE_SIGNATURE_HEADER = "reconcile"

SESSIONS = ConsumerRoute(
    name="sessions",
    description="every webhook, including unknown and unparsed ones: raw archive and session record",
    handler_module="functions.sessions.handler",
    event_pattern={"source": [EVENT_SOURCE]},
    timeout_seconds=30,
    memory_mb=256,
)
RECORDINGS = ConsumerRoute(
    name="recordings",
    description="recording.statusUpdate with status UPLOADED: download the recording files; and "
    "legacy updates without a meeting id: find their session through the REST API",
    handler_module="functions.recordings.handler",
    event_pattern={
        "source": [EVENT_SOURCE],
        "detail-type": ["recording.statusUpdate"],
        "detail": {
            "valid": [True],
            "$or": [{"payload": {"recording": {"status": ["UPLOADED"]}}}, {"meetingId": [None]}],
        },
    },
    timeout_seconds=900,
    memory_mb=1024,
    batch_size=1,
)
TRANSCRIPTS = ConsumerRoute(
    name="transcripts",
    description="meeting.transcript: download and normalize the transcript, then summarize the session",
    handler_module="functions.transcripts.handler",
    event_pattern=_valid("meeting.transcript"),
    # bedrock summary mode summarizes here: one Converse call per transcript chunk plus the combine
    # calls, up to a minute or two each (docs/summaries.md).
    timeout_seconds=600,
    memory_mb=512,
    batch_size=1,  # one transcript (and its summary) per invocation: one session per 10-minute budget
)
SUMMARIES = ConsumerRoute(
    name="summaries",
    description="meeting.summary: download the summary",
    handler_module="functions.summaries.handler",
    event_pattern=_valid("meeting.summary"),
    timeout_seconds=60,
    memory_mb=256,
    batch_size=5,
)
CHAT = ConsumerRoute(
    name="chat",
    description="meeting.chatSynced: download and normalize the chat export",
    handler_module="functions.chat.handler",
    event_pattern=_valid("meeting.chatSynced"),
    timeout_seconds=120,
    memory_mb=512,
    batch_size=5,
)

# The meeting-bot source (shared.sources.meeting_bot): its own bus source, two consumers.
BOT_SOURCE = "meeting-bot"
# Audio chunk pointers come from their own source: the bot events consumer never sees them.
BOT_MEDIA_SOURCE = "meeting-bot.media"
BOT_AUDIO_POINTER = "audio_chunk.stored"
BOT_EVENTS = ConsumerRoute(
    name="botevents",
    description="meeting-bot events (not audio pointers): raw archive, session record, normalized files",
    handler_module="functions.meeting_bot_events.handler",
    event_pattern={"source": [BOT_SOURCE]},
    timeout_seconds=60,
    memory_mb=512,
    batch_size=10,
)
BOT_AUDIO = ConsumerRoute(
    name="botaudio",
    description="meeting-bot audio chunk pointers, and the quiet-period timers the consumer sends "
    "itself (delayed messages): assemble each stream into a WAV file",
    handler_module="functions.meeting_bot_audio.handler",
    event_pattern={"source": [BOT_MEDIA_SOURCE], "detail-type": [BOT_AUDIO_POINTER]},
    # A 2-hour stream is 72,000 chunk GETs (16 in parallel) and a 230 MB multipart upload.
    timeout_seconds=900,
    memory_mb=1024,
    batch_size=10,
)

ROUTES: tuple[ConsumerRoute, ...] = (
    SESSIONS,
    RECORDINGS,
    TRANSCRIPTS,
    SUMMARIES,
    CHAT,
    BOT_EVENTS,
    BOT_AUDIO,
)
ROUTES_BY_NAME = {route.name: route for route in ROUTES}

# Not a webhook consumer: meeting.ended reaches its queue with a delivery delay (SQS allows at most
# 15 minutes), then it asks RealtimeKit's REST API what the session should have and enqueues what
# the archive lacks (``shared.reconcile.sweep``). A schedule invokes the same function as a backstop.
RECONCILE = ConsumerRoute(
    name="reconcile",
    description="meeting.ended, delayed: ask RealtimeKit what the session should have, enqueue what is missing",
    handler_module="functions.reconcile.handler",
    event_pattern=_valid("meeting.ended"),
    timeout_seconds=300,
    memory_mb=512,
    batch_size=5,
)
RECONCILE_DEFAULT_DELAY_SECONDS = 900
RECONCILE_MAX_DELAY_SECONDS = 900  # SQS DeliveryDelay limit
RECONCILE_DEFAULT_SCHEDULE_MINUTES = 60

INGEST_HANDLER = "functions.ingest.handler.handler"
INGEST_TIMEOUT_SECONDS = 10
INGEST_MEMORY_MB = 512
BOT_INGEST_HANDLER = "functions.meeting_bot_ingest.handler.handler"
BOT_WEBHOOK_PATH = "/webhooks/meeting-bot"
