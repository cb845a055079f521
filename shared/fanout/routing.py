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
    # Every consumer rebuilds the session's derived files (transcript and chat at their parse limits,
    # 10,000 rejoins): measured in tests/unit/test_parse_limits.py and test_rejoin_storm.py.
    memory_mb=512,
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
    memory_mb=512,  # it rebuilds the session's derived files too (see SESSIONS)
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

ROUTES: tuple[ConsumerRoute, ...] = (SESSIONS, RECORDINGS, TRANSCRIPTS, SUMMARIES, CHAT)
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
    memory_mb=512,
    batch_size=10,
)
REBUILD_WINDOW_DEFAULT_SECONDS = 30  # deployed: at most one rebuild per session per 30 s
REBUILD_WINDOW_LOCAL_SECONDS = 1  # local mode: files show up a second after the webhook
REBUILD_WINDOW_MAX_SECONDS = 900  # SQS DelaySeconds limit
