"""The transfer engine against a local HTTP source (with faults) and moto S3 (in-process).

Every failure test checks what a user would find in the bucket: no object (or the previous one,
untouched) and no multipart upload left behind.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from shared.archive.transfer import (
    TEXT_TYPES,
    MiB,
    TransferConfig,
    TransferRequest,
    TransferResult,
    transfer_to_s3,
)
from shared.archive.url_policy import UrlPolicy
from shared.core.exceptions import (
    DownloadRefused,
    IntegrityError,
    NotMediaError,
    SourceExpired,
    TransferFailed,
)
from tests.support.http_source import HttpSource

BUCKET = "archive"
KEY = "meetings/m1/sessions/s1/recordings/r1/rec.mp4"
PART = 5 * MiB  # S3's (and moto's) minimum for every part but the last
SLEEPS: list[float] = []
CONFIG = TransferConfig(min_part_size=PART, concurrency=3, read_timeout=5, sleep=SLEEPS.append)
POLICY = UrlPolicy.local()


def payload(size: int) -> bytes:
    """Distinct bytes at every offset, so a misplaced part cannot go unnoticed."""
    block = os.urandom(MiB)
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += counter.to_bytes(8, "big") + block[: MiB - 8]
        counter += 1
    return bytes(out[:size])


BIG = payload(3 * PART + 12_345)  # four parts


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def source() -> Iterator[HttpSource]:
    with HttpSource() as server:
        yield server


def run(
    url: str, s3: Any, *, config: TransferConfig = CONFIG, policy: UrlPolicy = POLICY, **fields: Any
) -> TransferResult:
    return transfer_to_s3(
        TransferRequest(url=url, bucket=BUCKET, key=KEY, **fields), s3_client=s3, policy=policy, config=config
    )


def stored(s3: Any, key: str = KEY) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def assert_nothing_written(s3: Any) -> None:
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def assert_no_uploads_left(s3: Any) -> None:
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


class FlakyS3:
    """Wraps a client; the listed calls (1-based) of one operation raise a ClientError."""

    def __init__(self, client: Any, operation: str, code: str, calls: set[int], status: int = 503) -> None:
        self._client, self._operation, self._code, self._calls, self._status = (
            client,
            operation,
            code,
            calls,
            status,
        )
        self._count = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name != self._operation:
            return attr

        def call(**kwargs: Any) -> Any:
            with self._lock:
                self._count += 1
                fail = self._count in self._calls
            if fail:
                error: Any = {  # only the fields the engine reads
                    "Error": {"Code": self._code, "Message": "injected"},
                    "ResponseMetadata": {"HTTPStatusCode": self._status},
                }
                raise ClientError(error, self._operation)
            return attr(**kwargs)

        return call


# ----------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    ("size", "parts"),
    [(0, 0), (1, 0), (PART - 1, 0), (PART, 0), (PART + 1, 2), (3 * PART + 12_345, 4)],
    ids=["empty", "one-byte", "part-minus-1", "exactly-one-part", "one-part-plus-1", "many-parts"],
)
def test_bytes_in_s3_equal_the_source_around_part_boundaries(
    s3: Any, source: HttpSource, size: int, parts: int
) -> None:
    data = BIG[:size]
    url = source.serve("/rec.mp4", data)

    result = run(url, s3, expected_size=size, metadata={"recording-id": "r1"})

    assert stored(s3) == data
    digest = hashlib.sha256(data).hexdigest()
    assert (result.size, result.sha256, result.parts) == (size, digest, parts)
    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentLength"] == size
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"]["recording-id"] == "r1"
    if parts == 0:
        assert head["Metadata"]["sha256"] == digest
    else:
        tags = s3.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"]
        assert {"Key": "sha256", "Value": digest} in tags
        attributes = s3.get_object_attributes(Bucket=BUCKET, Key=KEY, ObjectAttributes=["Checksum"])
        assert "ChecksumCRC32" in attributes["Checksum"]  # S3 checked every part
    assert_no_uploads_left(s3)


def test_sha256_part_checksums_can_be_chosen(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)
    config = TransferConfig(min_part_size=PART, concurrency=3, part_checksum="SHA256", sleep=SLEEPS.append)

    result = run(url, s3, config=config, expected_size=len(BIG))

    assert stored(s3) == BIG
    assert (result.sha256, result.parts) == (hashlib.sha256(BIG).hexdigest(), 4)
    attributes = s3.get_object_attributes(Bucket=BUCKET, Key=KEY, ObjectAttributes=["Checksum"])
    assert "ChecksumSHA256" in attributes["Checksum"]
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"]
    assert {"Key": "sha256", "Value": hashlib.sha256(BIG).hexdigest()} in tags


def test_unknown_size_chunked_source_is_copied(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.webm", BIG, content_length=False, content_type="video/webm")

    result = run(url, s3)

    assert stored(s3) == BIG
    assert (result.size, result.parts, result.content_type) == (len(BIG), 4, "video/webm")


def test_parallel_ranged_reads_assemble_in_order(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)
    config = TransferConfig(min_part_size=PART, concurrency=3, range_streams=True, sleep=SLEEPS.append)

    result = run(url, s3, config=config, expected_size=len(BIG))

    assert stored(s3) == BIG
    assert result.sha256 == hashlib.sha256(BIG).hexdigest()
    ranges = sorted(r.range for r in source.requests if r.range)
    assert ranges == sorted(
        f"bytes={start}-{min(start + PART, len(BIG)) - 1}" for start in range(PART, len(BIG), PART)
    )


def test_caller_content_type_wins(s3: Any, source: HttpSource) -> None:
    url = source.serve("/a", b"abc", content_type="application/octet-stream")

    run(url, s3, content_type="audio/mp4")

    assert s3.head_object(Bucket=BUCKET, Key=KEY)["ContentType"] == "audio/mp4"


def test_text_artifacts_pass_with_text_accept_list(s3: Any, source: HttpSource) -> None:
    body = b"start,end,speaker,text\n0,1,a,hello\n"
    url = source.serve("/transcript.csv", body, content_type="text/csv; charset=utf-8")

    result = run(url, s3, accept=TEXT_TYPES, expected_size=len(body))

    assert stored(s3) == body
    assert result.content_type == "text/csv; charset=utf-8"


def test_redirect_to_allowed_host_is_followed(s3: Any, source: HttpSource) -> None:
    target = source.serve("/real.mp4", BIG[:1000])
    url = source.redirect("/signed", target.replace("127.0.0.1", "localhost"))

    run(url, s3, expected_size=1000)

    assert stored(s3) == BIG[:1000]


# ------------------------------------------------------------------------------ transient faults


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_connection_dropped_mid_body_resumes_with_range(s3: Any, source: HttpSource, reset: bool) -> None:
    cut = PART + 777  # inside the second part
    url = source.serve("/rec.mp4", BIG, drop_after=cut, reset=reset)

    result = run(url, s3, expected_size=len(BIG))

    assert stored(s3) == BIG
    assert result.source_retries == 1
    first, resumed = source.requests
    assert first.range is None
    if reset:  # a TCP reset discards what the client had not read yet: resume point <= cut
        assert resumed.range is not None
        assert resumed.range.startswith("bytes=")
        assert 0 <= int(resumed.range[6:-1]) <= cut
    else:
        assert resumed.range == f"bytes={cut}-"
    assert resumed.if_range is not None  # a changed file would come back whole, not spliced
    assert_no_uploads_left(s3)


def test_connection_dropped_without_range_support_rereads_from_start(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG, drop_after=2 * PART + 5, ranges=False)

    result = run(url, s3, expected_size=len(BIG))

    assert stored(s3) == BIG
    assert result.sha256 == hashlib.sha256(BIG).hexdigest()
    assert [r.range for r in source.requests] == [None, None]


def test_dropped_parallel_range_is_resumed(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG, drop_after=1000, drops=2)
    config = TransferConfig(min_part_size=PART, concurrency=2, range_streams=True, sleep=SLEEPS.append)

    result = run(url, s3, config=config, expected_size=len(BIG))

    assert stored(s3) == BIG
    assert result.source_retries == 2


def test_server_errors_then_success(s3: Any, source: HttpSource) -> None:
    SLEEPS.clear()
    url = source.serve("/rec.mp4", BIG, fail_first=2, fail_status=503)

    result = run(url, s3, expected_size=len(BIG))

    assert stored(s3) == BIG
    assert result.source_retries == 2
    assert [CONFIG.backoff(1), CONFIG.backoff(2)] == SLEEPS  # exponential backoff


def test_s3_throttling_on_a_part_is_retried(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)

    result = run(url, FlakyS3(s3, "upload_part", "SlowDown", {2, 3}), expected_size=len(BIG))

    assert stored(s3) == BIG
    assert result.s3_retries == 2


def test_slow_source_completes(s3: Any, source: HttpSource) -> None:
    data = BIG[: PART + 200_000]
    url = source.serve("/rec.mp4", data, bytes_per_second=40 * MiB)

    result = run(url, s3, expected_size=len(data))

    assert stored(s3) == data
    assert result.source_retries == 0


# ---------------------------------------------------------------------------- clean failures


def test_server_errors_forever_fail_cleanly(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG, fail_first=100)

    with pytest.raises(TransferFailed, match="500"):
        run(url, s3, expected_size=len(BIG))

    assert source.hits("/rec.mp4") == CONFIG.max_attempts
    assert_nothing_written(s3)


def test_connection_dropping_every_time_without_ranges_fails_cleanly(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG, drop_after=2 * PART + 5, drops=100, ranges=False)

    with pytest.raises(TransferFailed, match="giving up"):
        run(url, s3, expected_size=len(BIG))

    assert_nothing_written(s3)


def test_s3_part_failure_aborts_the_upload(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)

    with pytest.raises(TransferFailed, match="AccessDenied"):
        run(url, FlakyS3(s3, "upload_part", "AccessDenied", {3}, status=403), expected_size=len(BIG))

    assert_nothing_written(s3)


def test_s3_complete_failure_aborts_the_upload(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)

    with pytest.raises(TransferFailed):
        run(
            url,
            FlakyS3(s3, "complete_multipart_upload", "InvalidPart", {1}, status=400),
            expected_size=len(BIG),
        )

    assert_nothing_written(s3)


def test_stalled_source_fails_within_time_budget(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG, bytes_per_second=2 * MiB)
    config = TransferConfig(min_part_size=PART, time_budget=1.0, sleep=SLEEPS.append)

    with pytest.raises(TransferFailed, match="time budget"):
        run(url, s3, config=config, expected_size=len(BIG))

    assert_nothing_written(s3)


def test_failed_transfer_leaves_previous_object_untouched(s3: Any, source: HttpSource) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"previous")
    url = source.serve("/rec.mp4", BIG, drop_after=3 * PART, drops=100, ranges=False)

    with pytest.raises(TransferFailed):
        run(url, s3, expected_size=len(BIG))

    assert stored(s3) == b"previous"
    assert_no_uploads_left(s3)


def test_expired_url_raises_source_expired(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG, status=403)

    with pytest.raises(SourceExpired) as info:
        run(url, s3)

    assert info.value.status == 403
    assert source.hits("/rec.mp4") == 1  # not retried: the caller refreshes the URL
    assert_nothing_written(s3)


def test_size_announced_differs_from_expected(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)

    with pytest.raises(IntegrityError, match="expected"):
        run(url, s3, expected_size=len(BIG) + 1)

    assert_nothing_written(s3)


@pytest.mark.parametrize("delta", [-1, 1])
def test_chunked_body_shorter_or_longer_than_expected_is_not_stored(
    s3: Any, source: HttpSource, delta: int
) -> None:
    url = source.serve("/rec.mp4", BIG, content_length=False)

    with pytest.raises(IntegrityError):
        run(url, s3, expected_size=len(BIG) + delta)

    assert_nothing_written(s3)


def test_empty_body_when_bytes_were_expected(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", b"")

    with pytest.raises(IntegrityError):
        run(url, s3, expected_size=1234)

    assert_nothing_written(s3)


# ------------------------------------------------------------------------------------ refusals


def test_disallowed_host_is_refused(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)

    with pytest.raises(DownloadRefused, match="allowlist"):
        run(url, s3, policy=UrlPolicy.local(("localhost",)))

    assert source.hits("/rec.mp4") == 0
    assert_nothing_written(s3)


def test_https_required_in_production(s3: Any, source: HttpSource) -> None:
    url = source.serve("/rec.mp4", BIG)

    with pytest.raises(DownloadRefused, match="https"):
        run(url, s3, policy=UrlPolicy.production(("127.0.0.1",)))

    assert_nothing_written(s3)


@pytest.mark.parametrize("address", ["10.0.0.8", "169.254.169.254", "192.168.10.1"])
def test_private_ip_is_refused(s3: Any, address: str) -> None:
    policy = UrlPolicy.local(("127.0.0.1", address))

    with pytest.raises(DownloadRefused, match="address"):
        run(f"http://{address}/latest/meta-data/", s3, policy=policy)

    assert_nothing_written(s3)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "link-local"),
        ("http://10.0.0.8/internal", "private"),
        ("http://evil.example.com/x", "allowlist"),
        ("file:///etc/passwd", "scheme"),
    ],
)
def test_redirect_outside_policy_is_refused(s3: Any, source: HttpSource, location: str, reason: str) -> None:
    url = source.redirect("/signed", location)
    policy = UrlPolicy.local(("127.0.0.1", "169.254.169.254", "10.0.0.8"))

    with pytest.raises(DownloadRefused, match=reason):
        run(url, s3, policy=policy)

    assert_nothing_written(s3)


def test_too_many_redirects(s3: Any, source: HttpSource) -> None:
    url = source.redirect("/loop", "/loop")

    with pytest.raises(TransferFailed, match="redirects"):
        run(url, s3)

    assert source.hits("/loop") == CONFIG.max_redirects + 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html; charset=utf-8"),
        (b"\n  <!doctype html><html><body>Oops</body></html>" + b"x" * PART, "video/mp4"),
        (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', "application/octet-stream"),
        (b"<Error><Code>NoSuchKey</Code></Error>", None),
        (b'{"error": "expired"}', "application/json"),
    ],
    ids=["html-type", "html-body-video-type", "xml-error-octet", "s3-error-no-type", "json"],
)
def test_error_page_with_200_is_not_archived(
    s3: Any, source: HttpSource, body: bytes, content_type: str | None
) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"previous")
    url = source.serve("/rec.mp4", body, content_type=content_type)

    with pytest.raises(NotMediaError):
        run(url, s3)

    assert stored(s3) == b"previous"
    assert_no_uploads_left(s3)
