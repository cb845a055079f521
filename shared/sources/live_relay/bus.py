"""Relayed messages on the bus: ``source: meeting-vault.live``, ``detail-type``: the message type."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.core.exceptions import PublishError

LIVE_SOURCE = "meeting-vault.live"
# PutEvents' entry limit is 256 KB; detail-type, source and bus name count too.
MAX_ENTRY_BYTES = 256 * 1024


def entry_size(entry: dict[str, Any]) -> int:
    return sum(len(str(entry[k]).encode("utf-8")) for k in ("Source", "DetailType", "Detail"))


class LivePublisher:
    def __init__(self, bus_name: str, client: Any = None) -> None:
        self._bus_name = bus_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("events")
        return self._client

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "EventBusName": self._bus_name,
            "Source": LIVE_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
        }
        if entry_size(entry) > MAX_ENTRY_BYTES:
            raise PublishError(f"a {detail_type} message is over EventBridge's 256 KB entry limit")
        try:
            response = self.client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as error:
            raise PublishError(f"PutEvents failed: {type(error).__name__}") from error
        if response.get("FailedEntryCount", 0):
            code = (response.get("Entries") or [{}])[0].get("ErrorCode", "unknown")
            raise PublishError(f"PutEvents did not store the {detail_type} message: {code}")
