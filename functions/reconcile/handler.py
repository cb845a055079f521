"""Reconcile function: a delayed meeting.ended (SQS) reconciles its session; the scheduled event
(EventBridge rate) sweeps recent sessions. Both enqueue missing artifacts on the bus."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
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


def _is_scheduled_run(record: dict[str, Any]) -> bool:
    """A scheduled sweep EventBridge could not deliver, redriven from the schedule's DLQ to this
    queue (``meeting-vault redrive reconcile-schedule``)."""
    try:
        body = json.loads(record.get("body") or "")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("detail-type") == "Scheduled Event"


def _sweep(context: LambdaContext) -> dict[str, Any]:
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
            "stale_rebuilds": report.stale_rebuilds[:20],
        },
    )
    if report.stale_rebuilds:
        metrics.add_metric(
            name="StaleRebuildsRequested", unit=MetricUnit.Count, value=len(report.stale_rebuilds)
        )
    if report.errors:
        metrics.add_metric(name="ReconcileErrors", unit=MetricUnit.Count, value=len(report.errors))
    return {"considered": report.considered, "enqueued": report.enqueued, "errors": len(report.errors)}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" not in event:  # the schedule's event: sweep recent sessions
        return _sweep(context)
    records = event["Records"]
    if any(_is_scheduled_run(record) for record in records):
        _sweep(context)  # redriven scheduled runs: one sweep covers them all
        event = {**event, "Records": [r for r in records if not _is_scheduled_run(r)]}
        if not event["Records"]:
            return {"batchItemFailures": []}
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # failed records: tried again on the route's schedule (shared.fanout.retry)
    return wiring.retry_failed(event, dict(response), "reconcile")
