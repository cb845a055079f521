"""DynamoDB may leave part of a BatchWriteItem unprocessed (throttling): the listing items and an
erasure's deletes are sent again after a pause, and nothing is left behind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

import shared.session.store as store_module
from shared.session.listing import summarize
from shared.session.model import SeenEvent
from shared.session.store import SessionStore
from tests.integration.conftest import MotoStack


class Throttled:
    """A DynamoDB client whose BatchWriteItems process only the first request of each of their first
    ``times`` calls, and report the rest unprocessed, as DynamoDB does under throttling."""

    def __init__(self, client: Any, times: int) -> None:
        self._client, self._times = client, times
        self.batch_calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.batch_calls += 1
        ((table, requests),) = RequestItems.items()
        if self.batch_calls > self._times or len(requests) == 1:
            return dict(self._client.batch_write_item(RequestItems=RequestItems))
        self._client.batch_write_item(RequestItems={table: requests[:1]})
        return {"UnprocessedItems": {table: requests[1:]}}


def _items(table: str, pk: str) -> list[str]:
    answer = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return sorted(item["sk"]["S"] for item in answer["Items"])


def test_unprocessed_listing_items_and_deletes_are_sent_again(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(store_module.time, "sleep", pauses.append)
    table = moto_stack.names.sessions_table
    client = Throttled(boto3.client("dynamodb"), times=2)
    store = SessionStore(table, client)
    for i in range(30):  # more than one BatchWriteItem of deletes at erasure
        store.add_event("m-1", "s-1", SeenEvent(digest=f"d{i:02d}", event="meeting.started", payload={}))
    manifest = {
        "meeting": {"id": "m-1", "title": "Batch"},
        "session": {"id": "s-1", "startedAt": "2026-06-03T09:00:00.000Z", "state": "ENDED"},
        "artifacts": [],
    }
    summary = summarize(manifest, now=datetime(2026, 6, 3, 10, 1, tzinfo=UTC))
    pk = store_module._pk("m-1", "s-1")

    store.put_summary(summary, batch=True)
    assert len(summary.partitions()) > 1
    listed = [sk for sk in _items(table, pk) if sk in summary.partitions()]
    assert sorted(listed) == sorted(summary.partitions())  # every listing item, none lost
    assert pauses  # the unprocessed ones were sent again after a pause, not at once

    client.batch_calls, client._times = 0, 1
    store.erase("m-1", "s-1", erased_at=datetime(2026, 6, 3, 11, tzinfo=UTC))
    assert _items(table, pk) == ["erased"]  # the tombstone alone is left
