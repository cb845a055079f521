"""Reconcile function: a delayed meeting.ended (SQS) reconciles its session; the scheduled event
(EventBridge rate) sweeps recent sessions. Both enqueue missing artifacts on the bus."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.core.observability import logger, metrics
from shared.core.tracing import tracer
from shared.fanout.records import WebhookQueueRecord
from shared.ingest.events import MeetingEnded, parse_event
from shared.reconcile.sweep import ReconcileResult
from shared.wiring.reconcile import reconciler

# A batch whose every record failed is reported item by item too (same retries, clearer logs).
processor = BatchProcessor(
    event_type=EventType.SQS, model=WebhookQueueRecord, raise_on_entire_batch_failure=False
)


def _report(result: ReconcileResult, *, delivery_id: str | None = None) -> None:
    logger.info(
        "session reconciled",
        extra={
            "meeting_id": result.meeting_id,
            "session_id": result.session_id,
            "delivery_id": delivery_id,
            "outcome": result.outcome,
            "enqueued": result.enqueued_names,
        },
    )
    metrics.add_metric(name="SessionsReconciled", unit=MetricUnit.Count, value=1)
    for missing in result.enqueued:
        metrics.add_metric(name=f"ReconcileEnqueued_{missing.kind}", unit=MetricUnit.Count, value=1)


@tracer.capture_method
def record_handler(record: WebhookQueueRecord) -> None:
    detail = record.body.detail
    ended = parse_event(detail.payload)
    if not isinstance(ended, MeetingEnded):
        raise TypeError(f"reconcile queue got {detail.event}")
    assert ended.meeting_id is not None
    assert ended.session_id is not None  # the model validated both
    result = reconciler().session(
        ended.meeting_id,
        ended.session_id,
        ended_at=ended.meeting.ended_at,
        started_at=ended.meeting.started_at,
    )
    _report(result, delivery_id=detail.delivery.delivery_id)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" not in event:  # the schedule's event: sweep recent sessions
        report = reconciler().sweep(time_left=lambda: context.get_remaining_time_in_millis() / 1000)
        for result in report.results:
            _report(result)
        logger.info(
            "sweep finished",
            extra={
                "considered": report.considered,
                "enqueued": report.enqueued,
                "errors": report.errors[:20],
                "stopped_early": report.stopped_early,
            },
        )
        if report.errors:
            metrics.add_metric(name="ReconcileErrors", unit=MetricUnit.Count, value=len(report.errors))
        return {"considered": report.considered, "enqueued": report.enqueued, "errors": len(report.errors)}
    return process_partial_response(  # type: ignore[return-value]  # a TypedDict, a dict at runtime
        event=event, record_handler=record_handler, processor=processor, context=context
    )
