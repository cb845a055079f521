"""Counts what the functions write: S3 PUTs (objects and parts) and their bytes, and DynamoDB
writes (items), from a botocore hook on a boto3 session (``bench.load``). A consumer process
(``local.consumer_process``) counts its own when ``MEETING_VAULT_COUNT_WRITES`` is set, and reports
them to its parent when it stops."""

from __future__ import annotations

import threading
from typing import Any

import boto3

COUNT_WRITES_ENV = "MEETING_VAULT_COUNT_WRITES"

DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _size(body: Any) -> int:
    """Bytes of a PUT body: bytes, a memoryview, or a seekable file object. Anything else is an error, not a
    zero: the bytes written per session would be short."""
    if isinstance(body, bytes | bytearray | str):
        return len(body)
    if isinstance(body, memoryview):
        return body.nbytes
    if hasattr(body, "seek") and hasattr(body, "tell"):
        position = body.tell()
        body.seek(0, 2)
        size = int(body.tell())
        body.seek(position)
        return size
    raise TypeError(f"cannot count the bytes of a {type(body).__name__} PUT body")


def _file_kind(key: str) -> str:
    """What a PUT wrote, for counting: raw webhook bodies together, derived files by name."""
    if "/events/" in key:
        return "events/"
    return key.rsplit("/", 1)[-1] if "/" in key else key


class WriteCounter:
    """Counts S3 PUTs (objects and parts), DynamoDB writes (items) and the bytes of S3 PUTs, from
    a ``before-parameter-build`` hook on a boto3 session's event system (every client it creates
    later)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.s3_puts = 0
        self.s3_bytes = 0
        self.dynamodb_writes = 0
        self.by_operation: dict[str, int] = {}
        self.puts_by_file: dict[str, int] = {}  # "events/" for raw bodies, else the file's name

    def install(self, session: boto3.session.Session | None = None) -> WriteCounter:
        if session is None:
            boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
        assert session is not None
        # The API call's own parameters (Body, RequestItems), before botocore serializes them.
        session.events.register("before-parameter-build", self._before_call)
        return self

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service, operation = model.service_model.service_name, model.name
        with self._lock:
            if service == "s3" and operation in ("PutObject", "UploadPart"):
                self.s3_puts += 1
                self.s3_bytes += _size(params.get("Body", b""))
                file = _file_kind(str(params.get("Key", "")))
                self.puts_by_file[file] = self.puts_by_file.get(file, 0) + 1
            elif service == "dynamodb" and operation in DYNAMODB_WRITES:
                items = 1
                if operation == "BatchWriteItem":
                    items = sum(len(v) for v in params.get("RequestItems", {}).values())
                elif operation == "TransactWriteItems":
                    items = len(params.get("TransactItems", []))
                self.dynamodb_writes += items
            else:
                return
            key = f"{service}.{operation}"
            self.by_operation[key] = self.by_operation.get(key, 0) + 1

    def snapshot(self) -> tuple[int, int, int]:
        with self._lock:
            return self.s3_puts, self.s3_bytes, self.dynamodb_writes

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "s3_puts": self.s3_puts,
                "s3_bytes": self.s3_bytes,
                "dynamodb_writes": self.dynamodb_writes,
                "by_operation": dict(self.by_operation),
                "puts_by_file": dict(self.puts_by_file),
            }

    def add(self, counts: dict[str, Any]) -> None:
        """Add what another process counted (its ``to_dict``)."""
        with self._lock:
            self.s3_puts += int(counts.get("s3_puts", 0))
            self.s3_bytes += int(counts.get("s3_bytes", 0))
            self.dynamodb_writes += int(counts.get("dynamodb_writes", 0))
            for mine, theirs in (
                (self.by_operation, counts.get("by_operation", {})),
                (self.puts_by_file, counts.get("puts_by_file", {})),
            ):
                for name, count in theirs.items():
                    mine[name] = mine.get(name, 0) + int(count)
