"""Builders of the events Lambda hands our functions."""

from __future__ import annotations

import base64
import json
from typing import Any

from local.apigw import proxy_event
from local.pollers import sqs_event
from local.signing import WebhookSigner


def signed_headers(signer: WebhookSigner, body: bytes, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "rtk-signature": signer.sign(body),
        "rtk-uuid": "delivery-1",
        **extra,
    }


def api_event(body: bytes, headers: dict[str, str], *, path: str = "/webhooks/realtimekit") -> dict[str, Any]:
    """API Gateway REST proxy event, body base64-encoded as with binaryMediaTypes */*."""
    return proxy_event("POST", path, headers, body, "203.0.113.9")


def api_event_plain(body: str, headers: dict[str, str]) -> dict[str, Any]:
    event = api_event(body.encode(), headers)
    event["body"], event["isBase64Encoded"] = body, False
    return event


def response_json(response: dict[str, Any]) -> Any:
    raw = response["body"]
    return json.loads(base64.b64decode(raw) if response.get("isBase64Encoded") else raw)


def drain_as_sqs_event(sqs: Any, queue_url: str, *, max_messages: int = 10) -> dict[str, Any]:
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", [])
    return sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:queue", "us-east-1")


def bus_record(detail: Any, *, message_id: str = "m-1") -> dict[str, Any]:
    """One SQS record as EventBridge delivers a bus event to a consumer queue."""
    event = {
        "version": "0",
        "id": f"event-{message_id}",
        "detail-type": detail.detail_type,
        "source": "realtimekit",
        "account": "123456789012",
        "time": "2026-06-03T10:31:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(detail.to_json()),
    }
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": json.dumps(event),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "ApproximateFirstReceiveTimestamp": "1780480260000",
            "SenderId": "AIDAEVENTBRIDGE",
            "SentTimestamp": "1780480260000",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:queue",
        "awsRegion": "us-east-1",
    }
