"""Recordings consumer: on recording.statusUpdate UPLOADED, archive the composite recording and
the audio-only file, once per recording id, and record them in the session."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import runtime
from shared.artifact_fetch import ArtifactGone
from shared.events import RecordingStatusUpdate, parse_event
from shared.observability import logger, metrics
from shared.queue_records import WebhookQueueRecord
from shared.recordings import archive_recording_event
from shared.tracing import tracer

# A batch whose every record failed is reported item by item too (same retries, clearer logs).
processor = BatchProcessor(
    event_type=EventType.SQS, model=WebhookQueueRecord, raise_on_entire_batch_failure=False
)


@tracer.capture_method
def record_handler(record: WebhookQueueRecord) -> None:
    detail = record.body.detail
    event = parse_event(detail.payload)
    if not isinstance(event, RecordingStatusUpdate):
        raise TypeError(f"recordings queue got {detail.event}")
    ids = {
        "meeting_id": detail.meeting_id,
        "session_id": detail.session_id,
        "recording_id": event.recording.the_id,
        "delivery_id": detail.delivery.delivery_id,
    }
    try:
        records = archive_recording_event(
            event,
            once=runtime.archive_recording_once(),
            archiver=runtime.recording_archiver(),
            record=runtime.session_recorder().record_artifact,
        )
    except ArtifactGone as exc:
        logger.error("recording is gone from RealtimeKit", extra={**ids, "error": str(exc)})
        metrics.add_metric(name="ArtifactFailed", unit=MetricUnit.Count, value=1)
        raise
    for artifact in records:
        logger.info(
            "recording archived",
            extra={**ids, "key": artifact.key, "bytes": artifact.bytes, "state": artifact.state},
        )
        metrics.add_metric(name="ArtifactArchived", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="BytesArchived", unit=MetricUnit.Bytes, value=artifact.bytes or 0)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime.archive_recording_once().register(context)
    runtime.artifact_fetcher().finish_by(context.get_remaining_time_in_millis() / 1000)
    return process_partial_response(  # type: ignore[return-value]  # a TypedDict, a dict at runtime
        event=event, record_handler=record_handler, processor=processor, context=context
    )
