"""Sessions consumer: every verified webhook body archived under its session's events/ folder,
then folded into the session record, which rewrites session.json and the files derived from it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.core.observability import logger, metrics
from shared.core.tracing import tracer
from shared.fanout.records import WebhookQueueRecord
from shared.session.intake import take_in_event

# A batch whose every record failed is reported item by item too (same retries, clearer logs).
processor = BatchProcessor(
    event_type=EventType.SQS, model=WebhookQueueRecord, raise_on_entire_batch_failure=False
)


@tracer.capture_method
def record_handler(record: WebhookQueueRecord) -> None:
    detail = wiring.detail_of(record)
    stored = take_in_event(detail, store=wiring.archive_store(), recorder=wiring.session_recorder())
    logger.info(
        "event taken in",
        extra={
            "key": stored.key if stored else None,
            "synthesized_by": detail.delivery.signature_header if detail.synthesized else None,
            "meeting_id": detail.meeting_id,
            "session_id": detail.session_id,
            "delivery_id": detail.delivery.delivery_id,
            "event": detail.event,
        },
    )
    metrics.add_metric(name="EventArchived", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # failed records: tried again on the route's schedule (shared.fanout.retry)
    return wiring.retry_failed(event, dict(response), "sessions")
