"""Publishes accepted webhooks to the EventBridge bus."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.core.exceptions import PublishError
from shared.ingest.envelope import EVENT_SOURCE, WebhookDetail


class EventPublisher:
    def __init__(self, bus_name: str, client: Any = None, *, source: str = EVENT_SOURCE) -> None:
        self._bus_name = bus_name
        self._client = client
        self._source = source  # "meeting-bot" for the bot endpoint

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("events")
        return self._client

    def publish(self, detail: WebhookDetail) -> str:
        """One PutEvents entry; returns the event id, or raises ``PublishError`` unless stored."""
        entry = {
            "EventBusName": self._bus_name,
            "Source": self._source,
            "DetailType": detail.detail_type,
            "Detail": detail.to_json(),
        }
        try:
            response = self.client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as exc:
            raise PublishError(f"PutEvents failed: {exc}") from exc
        entries = response.get("Entries") or [{}]
        if response.get("FailedEntryCount", 0) or "EventId" not in entries[0]:
            code = entries[0].get("ErrorCode", "unknown")
            raise PublishError(
                f"PutEvents did not store the event: {code} {entries[0].get('ErrorMessage', '')}"
            )
        return str(entries[0]["EventId"])
