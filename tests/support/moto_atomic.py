"""In-process moto with DynamoDB's atomicity: for tests whose threads write the same items.

DynamoDB applies each single-item write atomically; moto does not (it reads the item, applies the
expression and stores the result, unlocked), so two threads can both pass one conditional write, lose
an ``ADD``, or fail a query with "dictionary changed size during iteration". Serializing moto's item
operations makes such tests judge our conditions and version checks, not moto's thread safety.
(Local mode's moto server does the same: ``local/moto_speedups.py``.)"""

from __future__ import annotations

import threading
from typing import Any

import pytest

OPERATIONS = ("put_item", "update_item", "delete_item", "get_item", "query", "scan", "batch_write_item")


def serialize_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    # Reads too: moto iterates the table's dicts while another thread writes to them.
    for name in OPERATIONS:
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)
