"""meeting-bot audio consumer. Two kinds of message on one queue:
- chunk pointers (from the bus): note the stream's activity, start its quiet-period timer;
- timers (delayed messages this function sent): assemble the stream if it stayed quiet."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.core.observability import logger, metrics
from shared.core.tracing import tracer
from shared.wiring.meeting_bot import audio_consumer

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    outcome = audio_consumer().handle(json.loads(record.body))
    if outcome:
        logger.info("bot audio", extra=outcome)
        if outcome.get("assembled"):
            metrics.add_metric(name="BotAudioAssembled", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # failed records: tried again on the route's schedule (shared.fanout.retry)
    return wiring.retry_failed(event, dict(response), "botaudio")
