"""S3 side of the bot's media: chunk and frame objects written on the ack path, chunks listed
and read back, and the assembled WAV written as a multipart upload (one part in memory)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import boto3

from shared.sources.meeting_bot.audio import Chunk
from shared.sources.meeting_bot.keys import CHUNK_SUFFIX, chunk_relative_us

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
PART_BYTES = 8 * 1024 * 1024


class MediaStore:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("s3")
        return self._client

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        """A durable write with an S3-checked SHA-256 (the 202 waits for it)."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
            Metadata=metadata,
        )

    def list_chunks(self, prefix: str) -> list[Chunk]:
        chunks = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith(CHUNK_SUFFIX):
                    chunks.append(Chunk(key=key, start_us=chunk_relative_us(key), size=int(item["Size"])))
        return chunks

    def read(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def writer(self, key: str, *, content_type: str) -> MultipartWriter:
        return MultipartWriter(self.client, self.bucket, key, content_type=content_type)


class MultipartWriter:
    """Buffers up to one part; small files end as one PutObject. ``close`` completes, ``abort``
    leaves nothing behind (use as a context manager)."""

    def __init__(
        self, client: Any, bucket: str, key: str, *, content_type: str, part_bytes: int = PART_BYTES
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError("parts must be at least 5 MiB")
        self._client, self._bucket, self._key = client, bucket, key
        self._content_type = content_type
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= self._part_bytes:
            self._upload(bytes(self._buffer[: self._part_bytes]))
            del self._buffer[: self._part_bytes]

    def _upload(self, part: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type
            )["UploadId"]
        number = len(self._parts) + 1
        response = self._client.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=part
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def close(self) -> None:
        if self._upload_id is None:
            self._client.put_object(
                Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer), ContentType=self._content_type
            )
            self._buffer.clear()
            return
        if self._buffer:
            self._upload(bytes(self._buffer))
            self._buffer.clear()
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        self._buffer.clear()

    def __enter__(self) -> MultipartWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
