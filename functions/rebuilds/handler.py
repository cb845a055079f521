"""Rebuilds consumer: a session's rebuild request (sent by the session recorder, delayed by the
rebuild window or immediate) rewrites the session's derived files from its whole record."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.core.observability import logger, metrics
from shared.core.tracing import tracer
from shared.session.rebuild import RebuildRequest

# A batch whose every record failed is reported item by item too (same retries, clearer logs).
processor = BatchProcessor(
    event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False
)


@tracer.capture_method
def record_handler(record: SqsRecordModel) -> None:
    request = RebuildRequest.from_body(str(record.body))
    # Received before: its rebuild failed or timed out, perhaps after writing some of the files.
    again = int(record.attributes.ApproximateReceiveCount) > 1
    result = wiring.session_recorder().rebuild(
        request.meeting_id, request.session_id, recheck=request.recheck or again
    )
    logger.info(
        "session rebuilt" if not result.skipped else "session already current",
        extra={
            "meeting_id": request.meeting_id,
            "session_id": request.session_id,
            "record_version": result.version,
            "put": result.put,
            "unchanged": len(result.unchanged),
            "finished": result.finished,
            "recheck": request.recheck or again,
        },
    )
    if not result.skipped:
        metrics.add_metric(name="SessionRebuilt", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="DerivedFilesPut", unit=MetricUnit.Count, value=len(result.put))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]  # a TypedDict, a dict at runtime
        event=event, record_handler=record_handler, processor=processor, context=context
    )
