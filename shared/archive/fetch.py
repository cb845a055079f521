"""Getting a RealtimeKit file into the bucket when its download URL may have expired.

RealtimeKit's URLs are signed and die (7 days, or sooner). A webhook may also arrive without one.
``ArtifactFetcher`` uses the URL while it is valid, and otherwise, or when the source refuses it,
asks the REST API for a fresh one (once) before trying again. Refused means 401/403/404/410, or a
body that is not the file (an HTML/XML page, or a Content-Type the file cannot have): a storage
front end can answer a dead link with an error page and a 200, so a fresh link is worth one try."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from shared.archive.small_download import MAX_SMALL_FILE, Downloaded, download_bytes
from shared.archive.transfer import (
    TEXT_TYPES,
    TransferConfig,
    TransferRequest,
    TransferResult,
    transfer_to_s3,
)
from shared.archive.url_policy import UrlPolicy
from shared.core.exceptions import MeetingVaultError, NotMediaError, RealtimeKitNotFound, SourceExpired

# Treat a URL that expires within this margin as expired: a large download outlives it otherwise.
EXPIRY_MARGIN = timedelta(minutes=5)


class ArtifactGone(MeetingVaultError):
    """RealtimeKit no longer has the file (its retention passed, or it never existed). Final."""

    reason = "gone"


class NoDownloadUrl(MeetingVaultError):
    """Neither the webhook nor the REST API gave a URL for the file."""

    reason = "no_url"


@dataclass(frozen=True)
class Link:
    url: str | None
    expiry: datetime | None = None

    def usable(self, now: datetime) -> bool:
        if not self.url:
            return False
        if self.expiry is None:
            return True
        expiry = self.expiry if self.expiry.tzinfo else self.expiry.replace(tzinfo=UTC)
        return expiry - EXPIRY_MARGIN > now


Refresh = Callable[[], Link]
T = TypeVar("T")


class ArtifactFetcher:
    def __init__(
        self,
        *,
        s3_client: Any,
        policy: UrlPolicy,
        config: TransferConfig | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._s3 = s3_client
        self._policy = policy
        self._config = config or TransferConfig()
        self._clock = clock
        self.refreshes = 0
        self._deadline: float | None = None

    def finish_by(self, seconds_left: float, *, margin: float = 30.0) -> None:
        """Give every transfer of this invocation a budget that ends ``margin`` seconds before the
        Lambda would be killed, so a transfer that cannot finish still aborts its multipart upload
        (and the message is retried) instead of dying mid-way."""
        self._deadline = time.monotonic() + max(1.0, seconds_left - margin)

    def _transfer_config(self) -> TransferConfig:
        if self._deadline is None:
            return self._config
        return replace(self._config, time_budget=max(1.0, self._deadline - time.monotonic()))

    def _refreshed(self, refresh: Refresh) -> Link:
        self.refreshes += 1
        try:
            link = refresh()
        except RealtimeKitNotFound as exc:
            raise ArtifactGone(f"RealtimeKit no longer has this file: {exc}") from exc
        if not link.url:
            raise NoDownloadUrl("RealtimeKit's REST API gave no download URL")
        return link

    def _with_fresh_url(self, link: Link, refresh: Refresh, action: Callable[[str], T]) -> T:
        """Run ``action(url)`` with a URL that is there and unexpired; once more with a fresh one
        when the source refuses it (401/403/404/410) or serves something that is not the file (an
        error page: an expired link can look like that). A second failure is raised as it is."""
        if not link.usable(self._clock()):
            link = self._refreshed(refresh)
        assert link.url is not None
        try:
            return action(link.url)
        except (SourceExpired, NotMediaError):
            fresh = self._refreshed(refresh)
            assert fresh.url is not None
            return action(fresh.url)

    def copy(
        self, link: Link, refresh: Refresh, request_for: Callable[[str], TransferRequest]
    ) -> TransferResult:
        """Stream the file to S3 (bounded memory, any size)."""
        return self._with_fresh_url(
            link,
            refresh,
            lambda url: transfer_to_s3(
                request_for(url), s3_client=self._s3, policy=self._policy, config=self._transfer_config()
            ),
        )

    def read(
        self,
        link: Link,
        refresh: Refresh,
        *,
        accept: tuple[str, ...] = TEXT_TYPES,
        max_bytes: int = MAX_SMALL_FILE,
    ) -> Downloaded:
        """Read a small file (transcript, chat, summary) into memory; ``TooLargeToRead`` past
        ``max_bytes``."""
        return self._with_fresh_url(
            link,
            refresh,
            lambda url: download_bytes(
                url, policy=self._policy, config=self._transfer_config(), accept=accept, max_bytes=max_bytes
            ),
        )
