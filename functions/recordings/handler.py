"""Recordings consumer: on recording.statusUpdate UPLOADED, archive the composite recording and
the audio-only file, once per recording id, and record them in the session."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.core.observability import logger, metrics
from shared.core.tracing import tracer
from shared.fanout.records import WebhookQueueRecord

# A batch whose every record failed is reported item by item too (same retries, clearer logs).
processor = BatchProcessor(
    event_type=EventType.SQS, model=WebhookQueueRecord, raise_on_entire_batch_failure=False
)


@tracer.capture_method
def record_handler(record: WebhookQueueRecord) -> None:
    wiring.archive_recording(wiring.detail_of(record))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.archive_recording_once().register(context)
    wiring.artifact_fetcher().finish_by(context.get_remaining_time_in_millis() / 1000)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # failed records: tried again on the route's schedule (shared.fanout.retry)
    return wiring.retry_failed(event, dict(response), "recordings")
