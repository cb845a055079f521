"""Writes archive objects to the team's bucket."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import boto3

from shared.core.artifact_types import artifact_tagging


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str


def ascii_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """S3 user metadata travels in HTTP headers: keep it ASCII and bounded."""
    return {k: v.encode("ascii", "replace").decode()[:512] for k, v in metadata.items()}


class ArchiveStore:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        """Put a small object with its SHA-256 checked by S3 and kept in the metadata."""
        digest = hashlib.sha256(data)
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
            Metadata={"sha256": digest.hexdigest(), **ascii_metadata(metadata or {})},
            **artifact_tagging(key),  # artifact-type, for lifecycle rules per type
        )
        return StoredObject(key=key, size=len(data), sha256=digest.hexdigest(), content_type=content_type)

    def get_bytes(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def stored_sha256(self, key: str) -> str | None:
        """The SHA-256 that ``put_bytes`` kept with the object, or None when there is no object."""
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        sha: str | None = head.get("Metadata", {}).get("sha256")
        return sha
