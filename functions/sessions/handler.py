"""Sessions consumer: every verified webhook body archived under its session's events/ folder,
then folded into the session record, which rewrites session.json and the files derived from it.

A batch's records are taken in side by side (each is a few requests to S3 and DynamoDB, all waiting
on the network): one after another, a batch of ten took ten times the round trips of one. The
order of a batch's records does not matter (a fact is one item, a change one atomic counter), and
each record still succeeds or fails on its own (Powertools' partial batch response). The erased
sessions' tombstones are read for the whole batch at once, before any record is taken in."""

from __future__ import annotations

import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.core.observability import logger, metrics
from shared.core.tracing import tracer
from shared.fanout.records import WebhookQueueRecord
from shared.session.intake import take_in_event

# A batch whose every record failed is reported item by item too (same retries, clearer logs).
processor = AsyncBatchProcessor(
    event_type=EventType.SQS, model=WebhookQueueRecord, raise_on_entire_batch_failure=False
)
# One thread per record of a full batch (the route's batch size is 10): the work is I/O.
_POOL = ThreadPoolExecutor(max_workers=10, thread_name_prefix="sessions-record")


def sessions_named(event: dict[str, Any]) -> set[tuple[str, str]]:
    """The (meeting id, session id) pairs a batch's bus details name, read without validating them
    (that is the processor's job): only to look up their tombstones together."""
    named = set()
    for record in event.get("Records", []):
        try:
            detail = json.loads(record["body"])["detail"]
            meeting_id, session_id = detail["meetingId"], detail["sessionId"]
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(meeting_id, str) and isinstance(session_id, str) and meeting_id and session_id:
            named.add((meeting_id, session_id))
    return named


@tracer.capture_method
def take_in(record: WebhookQueueRecord, is_erased: Any) -> None:
    detail = wiring.detail_of(record)
    stored = take_in_event(
        detail, store=wiring.archive_store(), recorder=wiring.session_recorder(), is_erased=is_erased
    )
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


async def record_handler(record: WebhookQueueRecord, is_erased: Any = None) -> None:
    # In a thread of the pool, with this invocation's context (its logger keys, its function name).
    context = contextvars.copy_context()
    await asyncio.get_running_loop().run_in_executor(_POOL, context.run, take_in, record, is_erased)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    is_erased = wiring.session_recorder().erased_check(sessions_named(event))
    response = async_process_partial_response(
        event=event,
        record_handler=partial(record_handler, is_erased=is_erased),
        processor=processor,
        context=context,
    )
    # failed records: tried again on the route's schedule (shared.fanout.retry)
    return wiring.retry_failed(event, dict(response), "sessions")
