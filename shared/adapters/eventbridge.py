"""Publishes accepted webhooks to the EventBridge bus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.core.exceptions import PublishError
from shared.ingest.fields import EVENT_SOURCE

# PutEvents refuses an entry over 256 KB, measured as ``entry_size`` measures it.
MAX_ENTRY_BYTES = 256 * 1024


class BusDetail(Protocol):
    @property
    def detail_type(self) -> str: ...

    def to_json(self) -> str: ...


def entry_size(entry: Mapping[str, Any]) -> int:
    """The size EventBridge counts against its 256 KB limit for one PutEvents entry (AWS's own
    calculation, "Calculating Amazon EventBridge PutEvents event entry size"): 14 bytes for
    ``Time`` when given, plus the UTF-8 bytes of ``Source``, ``DetailType``, ``Detail`` and every
    ``Resources`` ARN. The bus name does not count."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if value is not None:
            size += len(str(value).encode("utf-8"))
    for resource in entry.get("Resources") or ():
        size += len(str(resource).encode("utf-8"))
    return size


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

    def entry(self, detail: BusDetail) -> dict[str, Any]:
        return {
            "EventBusName": self._bus_name,
            "Source": self._source,
            "DetailType": detail.detail_type,
            "Detail": detail.to_json(),
        }

    def publish(self, detail: BusDetail) -> str:
        """One PutEvents entry; returns the event id, or raises ``PublishError`` unless stored."""
        return self.put(self.entry(detail))

    def put(self, entry: dict[str, Any]) -> str:
        size = entry_size(entry)
        if size > MAX_ENTRY_BYTES:
            raise PublishError(f"the bus entry is {size} bytes; PutEvents takes at most {MAX_ENTRY_BYTES}")
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
