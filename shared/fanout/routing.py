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
# Source queues keep a message 7 days (the default is 4): a consumer broken over a long weekend
# loses nothing. Shorter than the DLQs' 14 days on purpose: a standard queue's message expires by
# its first enqueue time, also in the DLQ, so a dead letter still has a week to be redriven.
QUEUE_RETENTION_DAYS = 7

# Retry schedules (shared.fanout.retry; the arithmetic is in docs/retries.md). A failed record is
# tried again after each delay in turn; maxReceiveCount is one more than the number of delays, so a
# record that fails every time reaches the DLQ after the sum of the delays plus its attempts.
# Archive consumers: 6 retries over 48 minutes (a transient fault gets 5+ retries; an unfetchable
# recording is in the DLQ, its alarm raised, within about an hour).
ARTIFACT_RETRY_DELAYS = (60, 120, 300, 600, 900, 900)
# The sessions consumer writes only to S3 and DynamoDB: 6 retries over 9 minutes.
SESSIONS_RETRY_DELAYS = (10, 20, 30, 60, 120, 300)
# Each SQS event source's MaximumConcurrency (2..1000) bounds how many copies of a consumer a burst
# of messages can start, so a burst of recordings cannot take the account's concurrency from the
# ingest function (which answers RealtimeKit) or from other workloads. Overridable per consumer
# with the ``maxConcurrency`` setting (docs/deploy.md).
DEFAULT_MAX_CONCURRENCY = 5


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
    # Delays (s) before each retry of a failed record; empty: the queue's visibility timeout.
    retry_delays_seconds: tuple[int, ...] = ()
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    # Its handler hands failed records to ``shared.fanout.retry`` (``wiring.retry_failed``), which
    # counts ``RecordRetriesExhausted``: the monitoring alarms on that metric only where this holds
    # (tests/infra/test_production.py checks it against the handlers).
    reports_retries_exhausted: bool = True

    def __post_init__(self) -> None:
        if self.reports_retries_exhausted and not self.retry_delays_seconds:
            raise ValueError(f"{self.name}: a route without retry delays counts no exhausted retries")
        if self.retry_delays_seconds and len(self.retry_delays_seconds) != self.max_receive_count - 1:
            raise ValueError(f"{self.name}: max_receive_count must be one more than the retry delays")
        if not all(0 <= delay <= 12 * 3600 for delay in self.retry_delays_seconds):
            raise ValueError(f"{self.name}: a retry delay must be between 0 and 12 hours (SQS)")

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
    # Every consumer rebuilds the session's derived files (transcript and chat at their parse limits,
    # 10,000 rejoins): measured in tests/unit/test_parse_limits.py and test_rejoin_storm.py.
    memory_mb=512,
    max_receive_count=len(SESSIONS_RETRY_DELAYS) + 1,
    retry_delays_seconds=SESSIONS_RETRY_DELAYS,
    max_concurrency=10,  # every webhook passes here; small and quick
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
    max_receive_count=len(ARTIFACT_RETRY_DELAYS) + 1,
    retry_delays_seconds=ARTIFACT_RETRY_DELAYS,
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
    max_receive_count=len(ARTIFACT_RETRY_DELAYS) + 1,
    retry_delays_seconds=ARTIFACT_RETRY_DELAYS,
)
SUMMARIES = ConsumerRoute(
    name="summaries",
    description="meeting.summary: download the summary",
    handler_module="functions.summaries.handler",
    event_pattern=_valid("meeting.summary"),
    timeout_seconds=60,
    memory_mb=512,  # it rebuilds the session's derived files too (see SESSIONS)
    batch_size=5,
    max_receive_count=len(ARTIFACT_RETRY_DELAYS) + 1,
    retry_delays_seconds=ARTIFACT_RETRY_DELAYS,
)
CHAT = ConsumerRoute(
    name="chat",
    description="meeting.chatSynced: download and normalize the chat export",
    handler_module="functions.chat.handler",
    event_pattern=_valid("meeting.chatSynced"),
    timeout_seconds=120,
    memory_mb=512,
    batch_size=5,
    max_receive_count=len(ARTIFACT_RETRY_DELAYS) + 1,
    retry_delays_seconds=ARTIFACT_RETRY_DELAYS,
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
    max_receive_count=len(SESSIONS_RETRY_DELAYS) + 1,  # like the sessions route: small and quick
    retry_delays_seconds=SESSIONS_RETRY_DELAYS,
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
    max_receive_count=len(ARTIFACT_RETRY_DELAYS) + 1,  # like the artifact routes: S3 reads and writes
    retry_delays_seconds=ARTIFACT_RETRY_DELAYS,
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
    max_receive_count=len(ARTIFACT_RETRY_DELAYS[:-1]) + 1,
    retry_delays_seconds=ARTIFACT_RETRY_DELAYS[:-1],
    max_concurrency=2,  # RealtimeKit's REST API, not us, is the limit
)
RECONCILE_DEFAULT_DELAY_SECONDS = 900
RECONCILE_MAX_DELAY_SECONDS = 900  # SQS DeliveryDelay limit
RECONCILE_DEFAULT_SCHEDULE_MINUTES = 60

INGEST_HANDLER = "functions.ingest.handler.handler"
INGEST_TIMEOUT_SECONDS = 10
INGEST_MEMORY_MB = 512

# Not a bus route either: the session recorder sends a rebuild request for a session whose record
# changed (``shared.session.rebuild``), delayed by the rebuild window so one rebuild covers a burst
# of facts; a per-session "rebuild pending" flag (a conditional write on the session record) makes
# only the first fact of a window send one. meeting.ended and every archived or failed artifact
# ask for an immediate rebuild instead.
REBUILDS = ConsumerRoute(
    name="rebuilds",
    description="rebuild a session's derived files (session.json, participants, transcript, chat)",
    handler_module="functions.rebuilds.handler",
    event_pattern={},  # fed by the session recorder (SQS SendMessage), not by a bus rule
    timeout_seconds=120,
    # A transcript and a chat export both at the parse limits rebuild into every file (page and
    # search rows included) at a 479 MiB peak: tests/unit/test_parse_limits.py keeps it under 3/4.
    memory_mb=1024,
    batch_size=10,
    # Its failed records wait out the visibility timeout (no retry schedule, no metric of its own):
    # its DLQ alarm is the one that fires.
    reports_retries_exhausted=False,
)
REBUILD_WINDOW_DEFAULT_SECONDS = 30  # deployed: at most one rebuild per session per 30 s
REBUILD_WINDOW_LOCAL_SECONDS = 1  # local mode: files show up a second after the webhook
REBUILD_WINDOW_MAX_SECONDS = 900  # SQS DelaySeconds limit
# Reserved concurrency of the ingest function (the ``ingestReservedConcurrency`` setting): at the
# API's default throttle (50 requests/s) and ~0.1-0.3 s per request it needs about 15; 25 leaves
# room for cold starts. It is also a cap: a flood beyond it is throttled (RealtimeKit retries 5xx).
INGEST_DEFAULT_RESERVED_CONCURRENCY = 25
BOT_INGEST_HANDLER = "functions.meeting_bot_ingest.handler.handler"
BOT_WEBHOOK_PATH = "/webhooks/meeting-bot"
