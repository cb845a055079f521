"""Binds a verified webhook to this stack's RealtimeKit app(s).

RealtimeKit signs every webhook of every customer with one platform-wide key, so a valid signature
says only that RealtimeKit sent the body, not that it is about *our* app. The body names its app
(``meeting.organizedBy.id``, ``organizedBy.id``, ``organizationId``; reference section 1 infers that
this is the app id, marked [I]). The rule:

- the id is one of ours -> ``configured``, accepted;
- it differs -> ask RealtimeKit once per meeting (``GET .../{app_id}/meetings/{meeting_id}`` for each
  configured app): not ours -> 403 (``ForeignAppError``, nothing published); ours -> ``confirmed``,
  accepted, and a loud log line plus a metric, once per meeting (that would mean the inference is
  wrong); RealtimeKit unreachable -> 503 (``AppCheckUnavailableError``: the sender retries);
- no id in the body -> ``unverified``: accepted; the consumers ask RealtimeKit whether the session or
  recording is ours before they download or request anything.

With nobody to ask (local mode without ``--api-base-url``): a differing id is refused outright, and a
body without an id is taken as the local app's (``local``), with one warning.

The REST call is a plain ``urllib`` request, not the ``cloudflare`` SDK, whose import would double the
endpoint's cold start; it happens only for a body whose app id differs, once per meeting."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from shared.archive.keys import is_safe_id
from shared.core.exceptions import AppCheckUnavailableError, ConfigurationError, ForeignAppError
from shared.ingest.published import PublishedDetail

CONFIGURED = "configured"
CONFIRMED = "confirmed"
UNVERIFIED = "unverified"
LOCAL = "local"
CACHE_SIZE = 10_000


class Notes(Protocol):
    def warning(self, message: str, **fields: Any) -> None: ...

    def count(self, name: str, value: float = 1) -> None: ...


class MeetingLookup(Protocol):
    def owns(self, meeting_id: str) -> bool:
        """True when the meeting exists under one of our apps; raises ``AppCheckUnavailableError``."""
        ...


HttpGet = Callable[[str, dict[str, str], float], tuple[int, bytes]]


def urllib_get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """(status, body) of one GET; raises ``OSError`` when there is no answer."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (https URL from settings)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        return int(error.code), error.read(64 * 1024) if error.fp else b""


class SecretToken:
    """The Cloudflare API token from Secrets Manager (a plain SecretString, as the consumers read it),
    fetched on first use and kept ``max_age_seconds``."""

    def __init__(
        self,
        secret_id: str,
        *,
        client: Any = None,
        max_age_seconds: float = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._client = client
        self._max_age = max_age_seconds
        self._clock = clock
        self._value: str | None = None
        self._fetched_at = float("-inf")

    def __call__(self) -> str:
        if self._value is None or self._clock() - self._fetched_at >= self._max_age:
            if self._client is None:
                import boto3

                self._client = boto3.client("secretsmanager")
            value = str(self._client.get_secret_value(SecretId=self._secret_id).get("SecretString") or "")
            if not value.strip():
                raise ConfigurationError("the RealtimeKit API token secret is empty")
            self._value, self._fetched_at = value.strip(), self._clock()
        return self._value


class RestMeetingLookup:
    """``GET {base}/accounts/{account}/realtime/kit/{app}/meetings/{meeting}`` for each app id."""

    def __init__(
        self,
        *,
        base_url: str,
        account_id: str,
        app_ids: tuple[str, ...],
        token: Callable[[], str],
        timeout_seconds: float = 3.0,
        get: HttpGet = urllib_get,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._account = account_id
        self._app_ids = app_ids
        self._token = token
        self._timeout = timeout_seconds
        self._get = get

    def owns(self, meeting_id: str) -> bool:
        try:
            headers = {"authorization": f"Bearer {self._token()}", "accept": "application/json"}
        except Exception as exc:  # Secrets Manager down, no permission, empty secret
            raise AppCheckUnavailableError(f"cannot read the RealtimeKit API token: {exc}") from exc
        for app_id in self._app_ids:
            url = (
                f"{self._base}/accounts/{quote(self._account, safe='')}/realtime/kit/"
                f"{quote(app_id, safe='')}/meetings/{quote(meeting_id, safe='')}"
            )
            try:
                status, body = self._get(url, headers, self._timeout)
            except OSError as exc:
                raise AppCheckUnavailableError(
                    f"RealtimeKit did not answer the meeting lookup: {exc}"
                ) from exc
            if status == 200:
                try:
                    document = json.loads(body)
                except ValueError as exc:
                    raise AppCheckUnavailableError("RealtimeKit's meeting lookup answer is not JSON") from exc
                if isinstance(document, dict) and document.get("success") is not False:
                    return True
                continue
            if status in (400, 404, 422):  # not a meeting of this app
                continue
            raise AppCheckUnavailableError(f"RealtimeKit answered the meeting lookup with HTTP {status}")
        return False


class AppBinding:
    def __init__(self, app_ids: tuple[str, ...], lookup: MeetingLookup | None, notes: Notes) -> None:
        self.app_ids = app_ids
        self._lookup = lookup
        self._notes = notes
        self._answers: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()
        self._warned_local = False

    def bind(self, detail: PublishedDetail) -> str:
        """The tenancy label for an accepted body, or raise ``ForeignAppError`` (403) /
        ``AppCheckUnavailableError`` (503)."""
        named = detail.app_ids
        if not named:
            if self._lookup is not None:
                return UNVERIFIED
            if not self._warned_local:
                self._warned_local = True
                self._notes.warning(
                    "webhook names no app id: taken as the local app's (local mode, nobody to ask)",
                    app_ids=list(self.app_ids),
                )
            return LOCAL
        differing = [app for app in named if app not in self.app_ids]
        if not differing:
            return CONFIGURED
        other = differing[0][:100]
        if self._lookup is None:
            raise ForeignAppError(f"the body names app {other!r}, not this stack's app")
        meeting_id = detail.meeting_id
        if not meeting_id or not is_safe_id(meeting_id):
            raise ForeignAppError(f"the body names app {other!r} and no meeting to check it against")
        with self._lock:
            known = self._answers.get(meeting_id)
        if known is None:
            known = self._lookup.owns(meeting_id)
            with self._lock:
                self._answers[meeting_id] = known
                while len(self._answers) > CACHE_SIZE:
                    self._answers.popitem(last=False)
            if known:
                self._notes.warning(
                    "APP ID MISMATCH: RealtimeKit confirms this meeting is ours, but the body names another "
                    "app id; the inference that organizedBy.id is the app id may be wrong",
                    meeting_id=meeting_id,
                    body_app_id=other,
                    configured_app_ids=list(self.app_ids),
                )
                self._notes.count("WebhookAppIdDiffersConfirmed")
        if not known:
            raise ForeignAppError(
                f"meeting {meeting_id!r} is not a meeting of this stack's app (the body names app {other!r})"
            )
        return CONFIRMED
