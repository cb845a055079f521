"""Typed exceptions. Each ingest rejection carries the HTTP status the contract gives it,
so the handler maps them to responses in one place."""

from __future__ import annotations


class MeetingVaultError(Exception):
    """Base class of every error this package raises on purpose."""


class IngestRejected(MeetingVaultError):
    """A webhook delivery the ingest endpoint answers with a non-2xx status."""

    status_code: int = 400
    reason: str = "rejected"
    # Seconds the sender is asked to wait (a ``Retry-After`` header), for answers it should retry.
    retry_after_seconds: int | None = None


class PayloadTooLargeError(IngestRejected):
    status_code = 413
    reason = "body_too_large"


class UnsupportedMediaTypeError(IngestRejected):
    status_code = 415
    reason = "not_json"


class SignatureError(IngestRejected):
    """Missing, malformed or non-verifying signature. Nothing is stored."""

    status_code = 401
    reason = "bad_signature"


class KeyUnavailableError(IngestRejected):
    """The signing key could not be fetched: the sender should retry."""

    status_code = 503
    reason = "key_unavailable"


class KeyRefreshPendingError(IngestRejected):
    """A signature failed against a key that may be out of date (RealtimeKit may have rotated it),
    and no fresh key can be had now (the re-fetch is rate limited, or the key URL failed): the
    sender should retry after ``retry_after_seconds``, when a re-fetch may be tried."""

    status_code = 503
    reason = "key_refresh_pending"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class PublishError(IngestRejected):
    """PutEvents did not store the entry: the sender should retry."""

    status_code = 503
    reason = "publish_failed"


class ForeignAppError(IngestRejected):
    """The body belongs to another RealtimeKit app than this stack's (final: nothing is stored)."""

    status_code = 403
    reason = "foreign_app"


class AppCheckUnavailableError(IngestRejected):
    """RealtimeKit could not say whether the meeting is this app's: the sender should retry."""

    status_code = 503
    reason = "app_check_unavailable"


class UnsafeIdError(MeetingVaultError, ValueError):
    """An id that cannot be used as an S3 key segment."""


class ConfigurationError(MeetingVaultError):
    """A required setting is missing or invalid."""


class TransferError(MeetingVaultError):
    """A download into the archive bucket did not complete; nothing was written (no partial object,
    no leftover multipart upload)."""


class DownloadRefused(TransferError):
    """The URL (or a redirect hop) is not allowed: scheme, host allowlist, private address."""


class SourceExpired(TransferError):
    """The source answered 401/403/404/410: the signed URL expired or the file is gone. The caller
    refreshes the URL through the REST API and tries again."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotMediaError(TransferError):
    """The source answered with something that is not the expected kind of file (an HTML or XML
    error page served with 200, a content type outside the accepted list)."""


class IntegrityError(TransferError):
    """The bytes received do not match the expected size (fileSize / Content-Length)."""


class TransferFailed(TransferError):
    """Retries exhausted, time budget spent, or a non-retryable error from the source or S3."""


class RealtimeKitError(MeetingVaultError):
    """A RealtimeKit REST call failed. Carries the HTTP status (None: no answer) and RealtimeKit's
    own error code when its error envelope had one. Other 4xx answers (a bad request) raise this."""

    def __init__(self, message: str, *, status: int | None = None, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RealtimeKitNotFound(RealtimeKitError):
    """404: RealtimeKit no longer has it (e.g. after its 7-day retention) or never had it."""


class RealtimeKitAuthError(RealtimeKitError):
    """401/403: the API token is wrong or lacks the Realtime permission."""


class RealtimeKitRateLimited(RealtimeKitError):
    """429 after the SDK's retries: wait ``retry_after`` seconds (None: RealtimeKit did not say)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        code: int | str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class RealtimeKitUnavailable(RealtimeKitError):
    """5xx, a timeout or a network error after the SDK's retries: try again later."""
