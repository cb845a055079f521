"""meeting-bot events consumer: raw bodies under events/, facts in the session record, then the
session's files rebuilt once per session per batch (a transcript line every 2 s would otherwise
rebuild them for every line)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.core.observability import logger, metrics
from shared.core.tracing import tracer
from shared.fanout.records import WebhookQueueRecord
from shared.wiring.meeting_bot import bot_recorder

processor = BatchProcessor(
    event_type=EventType.SQS, model=WebhookQueueRecord, raise_on_entire_batch_failure=False
)
_touched: set[tuple[str, str]] = set()


@tracer.capture_method
def record_handler(record: WebhookQueueRecord) -> None:
    detail = record.body.detail
    session = bot_recorder().take_in(detail)
    if session is not None:
        _touched.add(session)
    metrics.add_metric(name="BotEventArchived", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _touched.clear()
    result = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # Raising here fails the whole batch: every record comes back, and taking a fact in twice
    # changes nothing, so the files are rebuilt on the retry.
    for meeting_id, session_id in sorted(_touched):
        bot_recorder().publish(meeting_id, session_id)
        logger.info("bot session files rebuilt", extra={"meeting_id": meeting_id, "session_id": session_id})
    # failed records: tried again on the route's schedule (shared.fanout.retry)
    return wiring.retry_failed(event, dict(result), "botevents")
