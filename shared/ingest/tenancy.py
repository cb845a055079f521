"""Binds a verified webhook to this stack's RealtimeKit app(s).

RealtimeKit signs every webhook of every customer with one platform-wide key, so a valid signature
says only that RealtimeKit sent the body, not that it is about *our* app. The body names its app
(``meeting.organizedBy.id``, ``organizedBy.id``, ``organizationId``; reference section 1 infers that
this is the app id, marked [I]). The rule:

- the id is one of ours -> ``configured``, accepted;
- it differs -> ask RealtimeKit once per meeting (``GET .../{app_id}/meetings/{meeting_id}`` for each
  configured app) or, for a legacy recording update that names no meeting, once per recording
  (``GET .../{app_id}/recordings/{recording_id}``): not ours -> 403 (``ForeignAppError``, nothing
  published); ours -> ``confirmed``, accepted, and a loud log line plus a metric, once per meeting
  or recording (that would mean the inference is wrong); RealtimeKit unreachable -> 503
  (``AppCheckUnavailableError``: the sender retries);
- it differs and the body names nothing RealtimeKit could be asked about -> ``unverified``, as a
  body without an id: accepted with a warning, and the consumers ask before they fetch anything.
  Refusing it on the id alone would lose it for good if the inference were wrong;
- no id in the body -> ``unverified``: accepted; the consumers ask RealtimeKit whether the session or
  recording is ours before they download or request anything.

With nobody to ask (local mode without ``--api-base-url``): a differing id is refused outright, and a
body without an id is taken as the local app's (``local``), with one warning.

The REST call is a plain ``urllib`` request, not the ``cloudflare`` SDK, whose import would double the
endpoint's cold start; it happens only for a body whose app id differs, once per meeting (or
recording)."""

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
RECORDING_EVENT = "recording.statusUpdate"


class Notes(Protocol):
    def warning(self, message: str, **fields: Any) -> None: ...

    def count(self, name: str, value: float = 1) -> None: ...


class MeetingLookup(Protocol):
    def owns(self, meeting_id: str) -> bool:
        """True when the meeting exists under one of our apps; raises ``AppCheckUnavailableError``."""
        ...

    def owns_recording(self, recording_id: str) -> bool:
        """True when the recording exists under one of our apps; raises ``AppCheckUnavailableError``."""
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
    """``GET {base}/accounts/{account}/realtime/kit/{app}/meetings/{meeting}`` (or
    ``.../recordings/{recording}``) for each app id."""

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
        return self._exists("meetings", meeting_id)

    def owns_recording(self, recording_id: str) -> bool:
        return self._exists("recordings", recording_id)

    def _exists(self, collection: str, item_id: str) -> bool:
        what = collection.removesuffix("s")
        try:
            headers = {"authorization": f"Bearer {self._token()}", "accept": "application/json"}
        except Exception as exc:  # Secrets Manager down, no permission, empty secret
            raise AppCheckUnavailableError(f"cannot read the RealtimeKit API token: {exc}") from exc
        for app_id in self._app_ids:
            url = (
                f"{self._base}/accounts/{quote(self._account, safe='')}/realtime/kit/"
                f"{quote(app_id, safe='')}/{collection}/{quote(item_id, safe='')}"
            )
            try:
                status, body = self._get(url, headers, self._timeout)
            except OSError as exc:
                raise AppCheckUnavailableError(
                    f"RealtimeKit did not answer the {what} lookup: {exc}"
                ) from exc
            if status == 200:
                try:
                    document = json.loads(body)
                except ValueError as exc:
                    raise AppCheckUnavailableError(f"RealtimeKit's {what} lookup answer is not JSON") from exc
                if isinstance(document, dict) and document.get("success") is not False:
                    return True
                continue
            if status in (400, 404, 422):  # not one of this app's
                continue
            raise AppCheckUnavailableError(f"RealtimeKit answered the {what} lookup with HTTP {status}")
        return False


class AppBinding:
    def __init__(self, app_ids: tuple[str, ...], lookup: MeetingLookup | None, notes: Notes) -> None:
        self.app_ids = app_ids
        self._lookup = lookup
        self._notes = notes
        self._answers: OrderedDict[tuple[str, str], bool] = OrderedDict()
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
        subject = _checkable(detail)
        if subject is None:
            # Nothing to ask about: refusing on the id alone would lose the body for good if the
            # inference were wrong. Taken as a body without an id: the consumers ask first.
            self._notes.warning(
                "webhook names another app id and no meeting or recording to check it against: "
                "accepted unverified",
                body_app_id=other,
                event=detail.event,
                configured_app_ids=list(self.app_ids),
            )
            self._notes.count("WebhookAppIdDiffersUnchecked")
            return UNVERIFIED
        kind, subject_id = subject
        with self._lock:
            known = self._answers.get(subject)
        if known is None:
            known = (
                self._lookup.owns(subject_id)
                if kind == "meeting"
                else self._lookup.owns_recording(subject_id)
            )
            with self._lock:
                self._answers[subject] = known
                while len(self._answers) > CACHE_SIZE:
                    self._answers.popitem(last=False)
            if known:
                self._notes.warning(
                    f"APP ID MISMATCH: RealtimeKit confirms this {kind} is ours, but the body names another "
                    "app id; the inference that organizedBy.id is the app id may be wrong",
                    **{f"{kind}_id": subject_id},
                    body_app_id=other,
                    configured_app_ids=list(self.app_ids),
                )
                self._notes.count("WebhookAppIdDiffersConfirmed")
        if not known:
            raise ForeignAppError(
                f"{kind} {subject_id!r} is not a {kind} of this stack's app (the body names app {other!r})"
            )
        return CONFIRMED


def _checkable(detail: PublishedDetail) -> tuple[str, str] | None:
    """What RealtimeKit can be asked about: the meeting, else (a legacy recording update naming no
    meeting) the recording. Safe ids only: they go into a URL path."""
    if is_safe_id(detail.meeting_id):
        return "meeting", detail.meeting_id
    payload = detail.document.get("payload")
    recording = payload.get("recording") if isinstance(payload, dict) else None
    if detail.event == RECORDING_EVENT and isinstance(recording, dict):
        recording_id = recording.get("id") or recording.get("recordingId")
        if is_safe_id(recording_id):
            return "recording", recording_id
    return None
