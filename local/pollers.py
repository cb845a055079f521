"""Plays Lambda's SQS event source mapping in-process: long-polls a queue, calls the consumer
handler with an SQS event, deletes what succeeded and lets failed records come back (partial
batch responses), so the queue's redrive policy moves poison messages to the DLQ."""

from __future__ import annotations

import logging
import threading
from typing import Any

from local.lambda_runtime import Handler, invoke
from shared.fanout.routing import ConsumerRoute

log = logging.getLogger("meeting_vault.local")


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class QueuePoller:
    def __init__(
        self,
        *,
        route: ConsumerRoute,
        handler: Handler,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        retry_delay_seconds: int = 1,
    ) -> None:
        self.route = route
        self._handler = handler
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._retry_delay = retry_delay_seconds
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{route.name}", daemon=True)
        self.processed = 0
        self.failed = 0

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to finish its current batch and stop; :meth:`join` waits for it."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:
                log.exception("poller %s failed a batch", self.route.name)
                self._stop.wait(1)

    def poll_once(self, *, wait_seconds: int = 0) -> int:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self.route.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        # Received messages count as in flight on the queue until deleted, so an idle
        # check that reads queue depths and this flag never misses work in between.
        self._busy.set()
        try:
            failed_ids = self._invoke(messages)
            done = [m for m in messages if m["MessageId"] not in failed_ids]
            if done:
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
            for m in messages:
                if m["MessageId"] in failed_ids:
                    # Lambda would wait out the visibility timeout; locally retry sooner.
                    self._sqs.change_message_visibility(
                        QueueUrl=self._queue_url,
                        ReceiptHandle=m["ReceiptHandle"],
                        VisibilityTimeout=self._retry_delay,
                    )
            self.processed += len(done)
            self.failed += len(failed_ids)
            return len(messages)
        finally:
            self._busy.clear()

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        event = sqs_event(messages, self._queue_arn, self._region)
        try:
            result = invoke(
                self._handler,
                event,
                function_name=self.route.name,
                timeout_seconds=self.route.timeout_seconds,
            )
        except Exception:
            log.exception("consumer %s raised; the whole batch will be retried", self.route.name)
            return {m["MessageId"] for m in messages}
        failures = (result or {}).get("batchItemFailures", [])
        return {f["itemIdentifier"] for f in failures}
