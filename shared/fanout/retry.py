"""When a failed queue record is tried again: per route, a schedule of delays (docs/retries.md).

Lambda's SQS event source leaves a record the handler reports as failed (``batchItemFailures``)
invisible until the queue's visibility timeout runs out, and that timeout must cover the function's
timeout (six times it, AWS's guidance): 90 minutes for the recordings consumer, so a handful of
retries would take hours. Instead each failed record is made visible again after the route's next
delay (``ChangeMessageVisibility``), and its last failure at once, so the queue's redrive policy
moves it to the dead-letter queue on the next receive. A function that dies (timeout, out of
memory) runs no code: its records wait out the visibility timeout, as before.

Every failed record counts ``RecordFailed``; one that has used its last attempt also counts
``RecordRetriesExhausted`` (on its way to the DLQ). Both have the function's ``service`` dimension:
the per-consumer failure metrics the alarms watch (partial batch failures are no Lambda errors)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.core.observability import logger, metrics


def next_delay(receive_count: int, delays: Sequence[int]) -> int:
    """Seconds until the record's next attempt after its ``receive_count``-th failed; 0 once the
    schedule is used up (the next receive moves it to the DLQ)."""
    index = receive_count - 1
    return int(delays[index]) if 0 <= index < len(delays) else 0


def queue_url_of(queue_arn: str) -> str:
    """``arn:aws:sqs:region:account:name`` -> the queue URL SQS accepts for it."""
    _, partition, _, region, account, name = queue_arn.split(":", 5)
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


def defer_failed_records(
    event: Mapping[str, Any], response: Mapping[str, Any], *, sqs_client: Any, delays: Sequence[int]
) -> int:
    """Schedule each failed record of ``event`` (per ``response``) by ``delays``; returns how many
    failed. A record whose visibility cannot be changed keeps the queue's timeout (logged)."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    if not failed:
        return 0
    exhausted = 0
    for record in event.get("Records", []):
        if record.get("messageId") not in failed:
            continue
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        delay = next_delay(receives, delays)
        if receives > len(delays):
            exhausted += 1
        try:
            sqs_client.change_message_visibility(
                QueueUrl=queue_url_of(record["eventSourceARN"]),
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=delay,
            )
        except Exception as error:  # noqa: BLE001 - the queue's own timeout still retries it
            logger.warning(
                "could not schedule the retry; the queue's visibility timeout applies",
                extra={"message_id": record.get("messageId"), "error": str(error)},
            )
    metrics.add_metric(name="RecordFailed", unit=MetricUnit.Count, value=len(failed))
    if exhausted:
        metrics.add_metric(name="RecordRetriesExhausted", unit=MetricUnit.Count, value=exhausted)
    return len(failed)
