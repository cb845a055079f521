"""Summaries consumer. Until its archiver lands it logs each event it receives and succeeds."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger, metrics
from shared.queue_records import WebhookQueueRecord
from shared.tracing import tracer

# A batch whose every record failed is reported item by item too (same retries, clearer logs).
processor = BatchProcessor(
    event_type=EventType.SQS, model=WebhookQueueRecord, raise_on_entire_batch_failure=False
)


def record_handler(record: WebhookQueueRecord) -> None:
    detail = record.body.detail
    logger.info(
        "event received",
        extra={"event": detail.event, "meeting_id": detail.meeting_id, "session_id": detail.session_id},
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]  # a TypedDict, a dict at runtime
        event=event, record_handler=record_handler, processor=processor, context=context
    )
