"""Transfer engine: an HTTP GET streamed into the archive bucket, bounded memory, all or nothing.

One call, :func:`transfer_to_s3`, copies a download URL (a recording, a transcript, ...) to an S3 key:

- The source is read in parts of ``part_size`` bytes, chosen from the expected size so any file fits
  in S3's 10,000 parts. Each part is read straight into the ``bytes`` object that is uploaded (no
  copy), and at most ``concurrency + 2`` parts exist at once, so peak memory is about
  ``(concurrency + 2) * part_size`` whatever the file size.
- Parts upload concurrently. With ``range_streams`` on and a source that serves byte ranges, each part
  is also *read* with its own ranged GET, in parallel.
- The SHA-256 of the whole content is computed in stream order. A file that fits in one part is
  written with one PutObject (metadata ``sha256`` + S3's full-object SHA-256 checksum). Larger files
  use a multipart upload with per-part CRC32 checksums (S3 verifies each part); S3 metadata cannot
  change after CreateMultipartUpload, so the full-object SHA-256 is then attached as the object tag
  ``sha256``. It is always returned in :class:`TransferResult` for the session manifest.
- Transient failures are retried with exponential backoff: connection reset or timeout mid-body
  (resumed at the next byte with ``Range`` when the server supports it, else re-read from the start
  while discarding what was already taken), 408/429/5xx answers, S3 throttling and 5xx on a part.
- Nothing is written until the first part has been read and checked (status, content type, HTML/XML
  error page sniff, size). The multipart upload is created only when a second part is needed and is
  aborted on every failure path, so a failed transfer leaves neither a truncated object nor orphan parts.
- Every URL and redirect hop goes through :class:`shared.archive.url_policy.UrlPolicy`; the socket connects to
  the address the policy checked (no second DNS lookup).

Stdlib ``http.client`` for HTTP; boto3 is only imported when no S3 client is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

from botocore.exceptions import BotoCoreError, ClientError

from shared.archive.url_policy import CheckedUrl, UrlPolicy
from shared.core.artifact_types import artifact_tagging
from shared.core.exceptions import (
    IntegrityError,
    NotMediaError,
    SourceExpired,
    TransferError,
    TransferFailed,
)

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
S3_MAX_PARTS = 10_000
S3_MIN_PART_SIZE = 5 * MiB  # every part but the last
S3_MAX_PART_SIZE = 5 * 1024 * MiB

MEDIA_TYPES: tuple[str, ...] = ("video/", "audio/", "application/octet-stream", "binary/octet-stream")
TEXT_TYPES: tuple[str, ...] = (
    "text/csv",
    "text/plain",
    "text/markdown",
    "text/vtt",
    "application/json",
    "application/x-ndjson",
    "application/octet-stream",
    "binary/octet-stream",
)
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_EXPIRED = frozenset({401, 403, 404, 410})
_TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
_TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "ServiceUnavailable", "InternalError", "RequestTimeout"}
)
_MARKUP_PREFIXES = (b"<!doctype", b"<html", b"<?xml", b"<error>", b"<head", b"<body")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
PartChecksum = Literal["CRC32", "SHA256"]


# --------------------------------------------------------------------------------------------- API


@dataclass(frozen=True)
class TransferConfig:
    """Tunables. Defaults: 8 MiB parts, 8 in flight, at most (8 + 2) x 8 MiB = 80 MiB of parts."""

    min_part_size: int = 8 * MiB
    # Leave headroom under S3's 10,000 so a source slightly larger than announced still fits.
    max_parts: int = 9_000
    # Parts uploading (and, with range_streams, downloading) at once; docs/transfer.md says why 5.
    concurrency: int = 5
    # S3's per-part check. CRC32 (zlib, ~2x faster than SHA-256 here) catches transport corruption as
    # well; the full-object SHA-256 is computed by us in stream order whatever this says.
    part_checksum: PartChecksum = "CRC32"
    range_streams: bool = False  # read parts with parallel ranged GETs when the source allows it
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # per socket read: a stalled source is retried, not waited on forever
    max_attempts: int = 5  # consecutive failures without progress, per source stream / per S3 call
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_redirects: int = 5
    time_budget: float | None = None  # seconds; fail (and abort) before e.g. the Lambda timeout
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.min_part_size < S3_MIN_PART_SIZE or self.min_part_size > S3_MAX_PART_SIZE:
            raise ValueError(f"min_part_size must be within S3's {S3_MIN_PART_SIZE}..{S3_MAX_PART_SIZE}")
        if not 1 <= self.max_parts <= S3_MAX_PARTS:
            raise ValueError(f"max_parts must be within 1..{S3_MAX_PARTS}")
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be >= 1")
        if self.part_checksum not in ("CRC32", "SHA256"):
            raise ValueError("part_checksum must be CRC32 or SHA256")

    def part_size_for(self, expected_size: int | None) -> int:
        """Smallest MiB-aligned part size >= min_part_size that fits ``expected_size`` in max_parts."""
        if not expected_size:
            return self.min_part_size
        needed = -(-expected_size // self.max_parts)
        needed = -(-needed // MiB) * MiB
        size = max(self.min_part_size, needed)
        if size > S3_MAX_PART_SIZE:
            raise IntegrityError(f"{expected_size} bytes exceed what one S3 object can hold")
        return size

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1))))


@dataclass(frozen=True)
class TransferRequest:
    url: str
    bucket: str
    key: str
    expected_size: int | None = None  # fileSize from RealtimeKit; checked against what arrives
    content_type: str | None = None  # stored content type; default: the source's, else octet-stream
    metadata: Mapping[str, str] = field(default_factory=dict)
    accept: tuple[str, ...] = MEDIA_TYPES  # accepted Content-Types: exact, or prefixes ending in "/"
    reject_markup: bool = True  # refuse bodies that start like an HTML / XML error page


@dataclass(frozen=True)
class TransferResult:
    key: str
    size: int
    sha256: str  # hex, of the whole content
    etag: str
    content_type: str
    parts: int  # multipart parts; 0 when written with a single PutObject
    source_retries: int = 0
    s3_retries: int = 0
    seconds: float = 0.0


def transfer_to_s3(
    request: TransferRequest,
    *,
    s3_client: Any = None,
    policy: UrlPolicy | None = None,
    config: TransferConfig | None = None,
) -> TransferResult:
    """Copy ``request.url`` to ``s3://request.bucket/request.key``. Raises a :class:`TransferError`
    subclass on failure, after making sure nothing partial is left in the bucket."""
    if s3_client is None:
        import boto3  # only when the caller brings no client

        s3_client = boto3.client("s3")
    if request.expected_size is not None and request.expected_size < 0:
        raise IntegrityError("expected_size must be >= 0")
    return _Transfer(request, s3_client, policy or UrlPolicy.production(), config or TransferConfig()).run()


# ------------------------------------------------------------------------------------------ source


class _Transient(Exception):
    """A failure worth retrying (connection, 5xx, throttling)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Cancelled(Exception):
    """Another part failed; this one stops quietly."""


_NETWORK_ERRORS = (OSError, http.client.HTTPException)


@dataclass
class _Source:
    """What the first answer said about the file."""

    url: str  # after redirects
    status: int
    total: int | None  # full size of the file, as the server announced it
    expected: int | None  # total, else the caller's expected size: sizes parts and caps reads
    content_type: str | None
    ranges: bool
    validator: str | None  # strong ETag or Last-Modified, to detect a file changing under us


class _Attempts:
    """Consecutive-failure counter with backoff; progress resets it."""

    def __init__(self, config: TransferConfig, what: str, deadline: float | None) -> None:
        self._config = config
        self._what = what
        self._deadline = deadline
        self.failures = 0
        self.total_retries = 0

    def check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise TransferFailed(f"{self._what}: time budget exhausted")

    def failed(self, exc: Exception) -> None:
        self.failures += 1
        if self.failures >= self._config.max_attempts:
            raise TransferFailed(f"{self._what}: giving up after {self.failures} attempts: {exc}") from exc
        delay = self._config.backoff(self.failures)
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self._config.backoff_max))
        logger.warning("%s: retry %d in %.2fs after %s", self._what, self.failures, delay, exc)
        self.total_retries += 1
        self.check_deadline()
        self._config.sleep(delay)

    def progressed(self) -> None:
        self.failures = 0


class _Http:
    """GETs through the URL policy: manual redirects, each hop checked, sockets pinned to checked IPs."""

    def __init__(self, policy: UrlPolicy, config: TransferConfig) -> None:
        self._policy = policy
        self._config = config
        self._ssl = config.ssl_context or ssl.create_default_context()

    def _connect(self, checked: CheckedUrl) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if checked.scheme == "https":
            conn = http.client.HTTPSConnection(
                checked.host, checked.port, timeout=self._config.connect_timeout, context=self._ssl
            )
        else:
            conn = http.client.HTTPConnection(
                checked.host, checked.port, timeout=self._config.connect_timeout
            )
        addresses, read_timeout = checked.addresses, self._config.read_timeout

        # http.client keeps the host name for the Host header, SNI and certificate check; only the
        # TCP connection goes to the address the policy approved (no second DNS answer to trust).
        def create_connection(
            _address: Any, timeout: Any = None, source_address: Any = None
        ) -> socket.socket:
            last: OSError | None = None
            for ip in addresses:
                try:
                    sock = socket.create_connection((ip, checked.port), timeout, source_address)
                except OSError as exc:
                    last = exc
                    continue
                sock.settimeout(read_timeout)
                return sock
            raise last or OSError("no address to connect to")

        conn._create_connection = create_connection  # type: ignore[attr-defined]
        return conn

    def get(self, url: str, headers: Mapping[str, str]) -> tuple[str, http.client.HTTPResponse]:
        """Follow redirects (policy-checked) and return (final url, response). Raises _Transient for
        network errors and retryable statuses, SourceExpired / TransferFailed for final ones."""
        for _hop in range(self._config.max_redirects + 1):
            checked = self._policy.check(url)
            conn = self._connect(checked)
            try:
                conn.request("GET", checked.target, headers={"Accept-Encoding": "identity", **headers})
                response = conn.getresponse()
            except _NETWORK_ERRORS as exc:
                conn.close()
                raise _Transient(f"GET {checked.host}: {exc!r}") from exc
            status = response.status
            if status in _REDIRECTS:
                location = response.getheader("Location")
                conn.close()
                if not location:
                    raise TransferFailed(f"redirect {status} without Location from {checked.host}")
                url = urljoin(url, location)
                continue
            if status in (200, 206):
                return url, response
            conn.close()
            if status in _EXPIRED:
                raise SourceExpired(f"source answered {status}: URL expired or file gone", status)
            if status in _TRANSIENT_HTTP:
                raise _Transient(f"source answered {status}", _retry_after(response.getheader("Retry-After")))
            raise TransferFailed(f"source answered {status}")
        raise TransferFailed(f"more than {self._config.max_redirects} redirects")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), total


def _validator(response: http.client.HTTPResponse) -> str | None:
    etag = response.getheader("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.getheader("Last-Modified")


def _check_content_type(content_type: str | None, accept: tuple[str, ...]) -> None:
    if not content_type:
        return
    mime = content_type.split(";", 1)[0].strip().lower()
    for pattern in accept:
        pattern = pattern.lower()
        if mime == pattern or (pattern.endswith("/") and mime.startswith(pattern)):
            return
    raise NotMediaError(f"source sent Content-Type {mime!r}, expected one of {', '.join(accept)}")


def _check_not_markup(head: bytes | bytearray) -> None:
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(_MARKUP_PREFIXES):
        raise NotMediaError(f"source sent an HTML/XML page, not a file: {bytes(head[:80])!r}")


class _RangeReader:
    """Reads bytes [start, end) of the source into caller buffers, reconnecting on failure: with a
    Range request when the server supports ranges, else by re-reading from 0 and discarding."""

    def __init__(
        self,
        http_: _Http,
        source: _Source,
        attempts: _Attempts,
        start: int,
        end: int | None,
        response: http.client.HTTPResponse | None = None,
    ) -> None:
        self._http = http_
        self._source = source
        self._attempts = attempts
        self.position = start
        self._end = end  # exclusive; None: until the server ends the body
        self._response = response

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def read(self, count: int) -> bytes:
        """Up to ``count`` bytes (capped at the end of the range); fewer only at the end of the file.

        One ``response.read(n)`` fills a new ``bytes`` object straight from the socket, so the part
        that is hashed and uploaded is never copied. If the connection fails in the middle of a
        read, what that read got is dropped and fetched again after reconnecting (a clean early
        close still returns what arrived, so the resume point is exact).
        """
        want = count if self._end is None else min(count, self._end - self.position)
        pieces: list[bytes] = []
        got = 0
        while got < want:
            self._attempts.check_deadline()
            try:
                if self._response is None:
                    self._reopen()
                assert self._response is not None
                data = self._response.read(want - got)
            except (_Transient, *_NETWORK_ERRORS) as exc:
                self.close()
                self._attempts.failed(exc)
                continue
            if not data:
                if self._premature_end():
                    self.close()
                    self._attempts.failed(_Transient(f"body ended early at byte {self.position}"))
                    continue
                self.close()
                break
            pieces.append(data)
            got += len(data)
            self.position += len(data)
            self._attempts.progressed()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _premature_end(self) -> bool:
        known_end = self._end if self._end is not None else self._source.total
        return known_end is not None and self.position < known_end

    def _reopen(self) -> None:
        source = self._source
        headers: dict[str, str] = {}
        if source.ranges:
            last = "" if self._end is None else str(self._end - 1)
            headers["Range"] = f"bytes={self.position}-{last}"
            if source.validator:
                headers["If-Range"] = source.validator
        _url, response = self._http.get(source.url, headers)
        if response.status == 206:
            parsed = _parse_content_range(response.getheader("Content-Range"))
            if (
                parsed is None
                or parsed[0] != self.position
                or (source.total is not None and parsed[2] not in (None, source.total))
            ):
                response.close()
                raise TransferFailed(f"source answered a range we did not ask for: {parsed}")
            self._response = response
            return
        # 200: no range support, or If-Range said the file changed. Same file? Skip what we have.
        if source.validator and _validator(response) not in (None, source.validator):
            response.close()
            raise TransferFailed("source file changed during the transfer")
        length = response.getheader("Content-Length")
        if source.total is not None and length is not None and int(length) != source.total:
            response.close()
            raise TransferFailed("source file changed size during the transfer")
        _discard(response, self.position)
        self._response = response


def _discard(response: http.client.HTTPResponse, count: int) -> None:
    scratch = memoryview(bytearray(min(count, MiB) or 1))
    while count > 0:
        n = response.readinto(scratch[: min(count, len(scratch))])
        if n == 0:
            raise _Transient("body ended while skipping already-transferred bytes")
        count -= n


# ---------------------------------------------------------------------------------------------- S3


def _s3_transient(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _TRANSIENT_S3_CODES or status in (500, 502, 503, 504)
    return isinstance(exc, BotoCoreError)  # connection errors, read timeouts, ...


def _part_checksum(algorithm: PartChecksum, data: bytes) -> str:
    """Base64 checksum as S3 expects it in ``Checksum<algorithm>``; both release the GIL."""
    if algorithm == "CRC32":
        return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _header_safe(metadata: Mapping[str, str]) -> dict[str, str]:
    """S3 user metadata travels in HTTP headers: keep it ASCII and bounded."""
    return {k: v.encode("ascii", "replace").decode()[:512] for k, v in metadata.items()}


class _S3Calls:
    """S3 calls with retries on throttling / 5xx / connection errors (on top of botocore's own)."""

    def __init__(self, client: Any, config: TransferConfig, deadline: float | None) -> None:
        self.client = client
        self._config = config
        self._deadline = deadline
        self._lock = threading.Lock()
        self.retries = 0

    def call(self, operation: str, **kwargs: Any) -> Any:
        attempts = _Attempts(self._config, f"S3 {operation}", self._deadline)
        while True:
            try:
                return getattr(self.client, operation)(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                if not _s3_transient(exc):
                    raise TransferFailed(f"S3 {operation} failed: {exc}") from exc
                with self._lock:
                    self.retries += 1
                attempts.failed(exc)


# ------------------------------------------------------------------------------------------ engine


class _InOrderHasher:
    """SHA-256 over parts hashed by the part workers: each part waits for its turn, so the digest is
    the stream-order one while the reader goes on reading (and, in ranged mode, parts arrive out
    of order)."""

    def __init__(self, digest: Any, next_part: int, cancelled: threading.Event) -> None:
        self._digest = digest
        self._next = next_part
        self._cancelled = cancelled
        self._turn = threading.Condition()

    def feed(self, part_number: int, data: bytes) -> None:
        with self._turn:
            while self._next != part_number:
                if self._cancelled.is_set():
                    raise _Cancelled
                self._turn.wait(0.1)
            self._digest.update(data)
            self._next += 1
            self._turn.notify_all()


class _Transfer:
    def __init__(self, request: TransferRequest, s3_client: Any, policy: UrlPolicy, config: TransferConfig):
        self.request = request
        self.config = config
        self.started = time.monotonic()
        self.deadline = None if config.time_budget is None else self.started + config.time_budget
        self.http = _Http(policy, config)
        self.s3 = _S3Calls(s3_client, config, self.deadline)
        self.digest = hashlib.sha256()
        self.source_attempts = _Attempts(config, f"GET {request.key}", self.deadline)
        self.upload_id: str | None = None
        self._stats_lock = threading.Lock()
        self.cancelled = threading.Event()  # set by the main thread: stop every part
        self.part_failed = threading.Event()  # set by a part worker: the main thread stops reading

    # -- top level

    def run(self) -> TransferResult:
        request = self.request
        source, response = self._open_source()
        total = source.expected
        part_size = self.config.part_size_for(total)
        reader = _RangeReader(self.http, source, self.source_attempts, 0, None, response)
        try:
            # Read at most one byte past the announced size: enough to notice a longer body.
            first = reader.read(part_size if total is None else min(part_size, total + 1))
            n = len(first)
            if request.reject_markup:
                _check_not_markup(first[:512])
            if total is not None and n > total:
                raise IntegrityError(f"source sent more than the expected {total} bytes; nothing written")
            if n < part_size or total == part_size:
                reader.close()
                self._check_size(n, reader.position)
                return self._put_single(source, first)
            holder = [first]  # the multipart path drops part 1 once uploaded; no reference stays here
            del first
            return self._multipart(source, reader, holder, part_size)
        finally:
            reader.close()

    def _open_source(self) -> tuple[_Source, http.client.HTTPResponse]:
        request = self.request
        while True:
            self.source_attempts.check_deadline()
            try:
                url, response = self.http.get(request.url, {})
                break
            except _Transient as exc:
                self.source_attempts.failed(exc)
        content_type = response.getheader("Content-Type")
        try:
            _check_content_type(content_type, request.accept)
            length_header = response.getheader("Content-Length")
            length = int(length_header) if length_header is not None else None
            if response.status == 206:  # a server that only answers ranges: take the total from it
                parsed = _parse_content_range(response.getheader("Content-Range"))
                if parsed is None or parsed[0] != 0:
                    raise TransferFailed("source answered 206 to a plain GET")
                length = parsed[2]
            if request.expected_size is not None and length is not None and length != request.expected_size:
                raise IntegrityError(
                    f"source announces {length} bytes, expected {request.expected_size}; nothing written"
                )
        except TransferError:
            response.close()
            raise
        ranges = (response.getheader("Accept-Ranges") or "").lower() == "bytes" or response.status == 206
        expected = length if length is not None else request.expected_size
        source = _Source(url, response.status, length, expected, content_type, ranges, _validator(response))
        return source, response

    def _check_size(self, size: int, position: int) -> None:
        expected = self.request.expected_size
        if expected is not None and size != expected:
            raise IntegrityError(f"received {size} bytes, expected {expected}; nothing written")
        if position != size:  # defensive: the reader and the part loop must agree
            raise IntegrityError(f"read {position} bytes but counted {size}")

    def _content_type(self, source: _Source) -> str:
        return self.request.content_type or source.content_type or DEFAULT_CONTENT_TYPE

    def _result(self, size: int, etag: str, content_type: str, parts: int) -> TransferResult:
        return TransferResult(
            key=self.request.key,
            size=size,
            sha256=self.digest.hexdigest(),
            etag=etag,
            content_type=content_type,
            parts=parts,
            source_retries=self.source_attempts.total_retries,
            s3_retries=self.s3.retries,
            seconds=time.monotonic() - self.started,
        )

    # -- one request

    def _put_single(self, source: _Source, body: bytes) -> TransferResult:
        self.digest.update(body)
        content_type = self._content_type(source)
        request = self.request
        response = self.s3.call(
            "put_object",
            Bucket=request.bucket,
            Key=request.key,
            Body=body,
            ContentType=content_type,
            ChecksumSHA256=base64.b64encode(self.digest.digest()).decode(),
            Metadata={**_header_safe(request.metadata), "sha256": self.digest.hexdigest()},
            **artifact_tagging(request.key),  # artifact-type, for lifecycle rules per type
        )
        return self._result(len(body), response["ETag"], content_type, 0)

    # -- multipart

    def _multipart(
        self, source: _Source, reader: _RangeReader, first_part: list[bytes], part_size: int
    ) -> TransferResult:
        request, config = self.request, self.config
        total = source.expected
        content_type = self._content_type(source)
        created = self.s3.call(
            "create_multipart_upload",
            Bucket=request.bucket,
            Key=request.key,
            ContentType=content_type,
            Metadata=_header_safe(request.metadata),
            ChecksumAlgorithm=config.part_checksum,
            **artifact_tagging(request.key),
        )
        self.upload_id = created["UploadId"]
        completed = False
        # Memory bound: a part exists only while it holds a permit, taken before it is read and
        # given back once its upload is over: `concurrency` uploading, one read ahead and queued,
        # one being read (in ranged mode the workers read, so fewer are ever alive).
        ranged = config.range_streams and source.ranges and source.total is not None
        permits = threading.Semaphore(config.concurrency + 2)
        permits.acquire()  # the first part's, already read
        futures: list[Future[dict[str, Any]]] = []
        pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="transfer-part")
        hasher = _InOrderHasher(self.digest, 1, self.cancelled)
        try:
            futures.append(pool.submit(self._hash_and_upload_part, 1, first_part, hasher, permits))
            if ranged:
                assert source.total is not None
                reader.close()
                size = self._submit_ranged_parts(
                    source, source.total, part_size, hasher, permits, pool, futures
                )
                position = size
            else:
                size = self._submit_streamed_parts(reader, total, part_size, hasher, permits, pool, futures)
                position = reader.position
            parts = [future.result() for future in futures]
            self._check_size(size, position)
            response = self.s3.call(
                "complete_multipart_upload",
                Bucket=request.bucket,
                Key=request.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
            completed = True
        except BaseException:
            self.cancelled.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if not completed:
                self._abort()
        self._finish_multipart(size)
        return self._result(size, response["ETag"], content_type, len(futures))

    def _submit_streamed_parts(
        self,
        reader: _RangeReader,
        total: int | None,
        part_size: int,
        hasher: _InOrderHasher,
        permits: threading.Semaphore,
        pool: ThreadPoolExecutor,
        futures: list[Future[dict[str, Any]]],
    ) -> int:
        size = part_size
        while total is None or size <= total:
            self._take_permit(permits, futures)
            part = reader.read(part_size if total is None else min(part_size, total - size + 1))
            n = len(part)
            if n == 0:
                permits.release()
                break
            size += n
            if total is not None and size > total:
                permits.release()
                raise IntegrityError(f"source sent more than the announced {total} bytes")
            futures.append(pool.submit(self._hash_and_upload_part, len(futures) + 1, [part], hasher, permits))
            del part
            if n < part_size:
                break
        return size

    def _submit_ranged_parts(
        self,
        source: _Source,
        total: int,
        part_size: int,
        hasher: _InOrderHasher,
        permits: threading.Semaphore,
        pool: ThreadPoolExecutor,
        futures: list[Future[dict[str, Any]]],
    ) -> int:
        for start in range(part_size, total, part_size):
            self._take_permit(permits, futures)
            end = min(start + part_size, total)
            part_number = len(futures) + 1
            futures.append(
                pool.submit(self._fetch_and_upload_part, part_number, source, start, end, hasher, permits)
            )
        return total

    def _take_permit(self, permits: threading.Semaphore, futures: list[Future[dict[str, Any]]]) -> None:
        """Wait until another part may exist; stop early if a part already failed."""
        while True:
            if self.part_failed.is_set():
                for future in futures:
                    if future.done() and future.exception() is not None:
                        future.result()  # re-raises the part's error
            if permits.acquire(timeout=0.1):
                return
            self.source_attempts.check_deadline()

    def _fetch_and_upload_part(
        self,
        part_number: int,
        source: _Source,
        start: int,
        end: int,
        hasher: _InOrderHasher,
        permits: threading.Semaphore,
    ) -> dict[str, Any]:
        attempts = _Attempts(self.config, f"GET {self.request.key} part {part_number}", self.deadline)
        reader = _RangeReader(self.http, source, attempts, start, end)
        try:
            if self.cancelled.is_set():
                raise _Cancelled
            part = reader.read(end - start)
            if len(part) != end - start:
                raise IntegrityError(f"part {part_number}: got {len(part)} bytes, expected {end - start}")
            hasher.feed(part_number, part)
            holder = [part]
            del part
        except BaseException:
            permits.release()
            self.part_failed.set()
            raise
        finally:
            reader.close()
            with self._stats_lock:
                self.source_attempts.total_retries += attempts.total_retries
        return self._upload_part(part_number, holder, permits)

    def _hash_and_upload_part(
        self, part_number: int, holder: list[bytes], hasher: _InOrderHasher, permits: threading.Semaphore
    ) -> dict[str, Any]:
        """Streamed parts: the SHA-256 runs here, in stream order, not on the reader's thread."""
        try:
            if self.cancelled.is_set():
                raise _Cancelled
            hasher.feed(part_number, holder[0])
        except BaseException:
            holder.clear()
            permits.release()
            self.part_failed.set()
            raise
        return self._upload_part(part_number, holder, permits)

    def _upload_part(
        self, part_number: int, holder: list[bytes], permits: threading.Semaphore
    ) -> dict[str, Any]:
        """Upload the part in ``holder`` (emptied, so no reference outlives the upload), then give
        its permit back. The part is sent as is: botocore and moto want ``bytes``, which it is."""
        try:
            body = holder.pop()
            if self.cancelled.is_set():
                raise _Cancelled
            if part_number > S3_MAX_PARTS:
                raise TransferFailed(f"more than {S3_MAX_PARTS} parts: the source is larger than announced")
            member = f"Checksum{self.config.part_checksum}"
            checksum = _part_checksum(self.config.part_checksum, body)
            response = self.s3.call(
                "upload_part",
                Bucket=self.request.bucket,
                Key=self.request.key,
                UploadId=self.upload_id,
                PartNumber=part_number,
                Body=body,
                **{member: checksum},
            )
            return {
                "PartNumber": part_number,
                "ETag": response["ETag"],
                member: response.get(member, checksum),
            }
        except BaseException:
            self.part_failed.set()
            raise
        finally:
            body = b""
            permits.release()

    def _finish_multipart(self, size: int) -> None:
        """Check what S3 assembled, then attach the full-object SHA-256 (metadata is fixed at create)."""
        request = self.request
        head = self.s3.call("head_object", Bucket=request.bucket, Key=request.key)
        if head["ContentLength"] != size:
            self.s3.call("delete_object", Bucket=request.bucket, Key=request.key)
            raise IntegrityError(f"S3 holds {head['ContentLength']} bytes, we sent {size}; object deleted")
        self.s3.call(
            "put_object_tagging",
            Bucket=request.bucket,
            Key=request.key,
            # Replaces the tag set: the artifact type given at create goes in again.
            Tagging={
                "TagSet": [
                    {"Key": "sha256", "Value": self.digest.hexdigest()},
                    *(
                        {"Key": key, "Value": value}
                        for key, value in (
                            pair.split("=", 1) for pair in artifact_tagging(request.key).values()
                        )
                    ),
                ]
            },
        )

    def _abort(self) -> None:
        if self.upload_id is None:
            return
        try:
            self.s3.call(
                "abort_multipart_upload",
                Bucket=self.request.bucket,
                Key=self.request.key,
                UploadId=self.upload_id,
            )
        except TransferError:
            # The original error matters more; a bucket lifecycle rule cleans up what is left.
            logger.exception("could not abort multipart upload %s of %s", self.upload_id, self.request.key)
