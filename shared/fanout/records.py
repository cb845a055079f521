"""Parser models of what consumers receive: an SQS record whose body is the bus event."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import Json

from shared.ingest.envelope import WebhookDetail


class WebhookBusEvent(EventBridgeModel):
    detail: WebhookDetail
    # EventBridge always sends it; moto's SQS target delivery leaves it out. We never read it.
    account: str | None = None  # type: ignore[assignment]


class WebhookQueueRecord(SqsRecordModel):
    body: Json[WebhookBusEvent]
