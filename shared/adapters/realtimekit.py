"""RealtimeKit REST client for the calls the pipeline needs, built on the official ``cloudflare`` SDK.

The SDK gives us paths, auth, timeouts and retries (429, 408, 409 and 5xx; it honours ``Retry-After``
up to 60 s, otherwise exponential backoff from 0.5 s). This module adds what the pipeline needs on
top: small result models with snake_case fields whatever casing RealtimeKit used (its REST API mixes
``sessionId`` / ``transcript_download_url`` / ``summaryDownloadUrl`` in one API), and typed
exceptions from ``shared.core.exceptions``.

Only this module imports the SDK (about a second of import time); the webhook ingest path never
imports it.

Why the raw response is read as well as the SDK model: the SDK builds its models leniently (unless
strict validation is on), and a key that arrives in another casing than its alias (``session_id``
where the model expects ``sessionId``) is silently dropped. We call ``parse()`` (so a strict client,
as the tests use, still checks every answer against the SDK's models) and take the values from the
JSON document itself.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

import cloudflare
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from shared.core.config import _Settings
from shared.core.exceptions import (
    ConfigurationError,
    RealtimeKitAuthError,
    RealtimeKitError,
    RealtimeKitNotFound,
    RealtimeKitRateLimited,
    RealtimeKitUnavailable,
)

if TYPE_CHECKING:
    import httpx
    from cloudflare._response import APIResponse

_T = TypeVar("_T")
DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
# The SDK's own default is 2; kept low because every caller is a queue consumer that is retried anyway.
DEFAULT_MAX_RETRIES = 2
TranscriptFormat = Literal["SRT", "VTT", "JSON", "CSV"]
RecordingStatus = Literal["INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED", "PAUSED"]
WEBHOOK_EVENTS: tuple[str, ...] = (
    "meeting.started",
    "meeting.ended",
    "meeting.participantJoined",
    "meeting.participantLeft",
    "meeting.chatSynced",
    "recording.statusUpdate",
    "livestreaming.statusUpdate",
    "meeting.transcript",
    "meeting.summary",
)


# -- lenient field parsing -------------------------------------------------------------------------
_DATETIME = TypeAdapter(datetime)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_key(key: str) -> str:
    """``summaryDownloadUrl`` -> ``summary_download_url``; snake_case keys are unchanged."""
    return _CAMEL_BOUNDARY.sub("_", key).lower()


def _snake_keys(document: object) -> dict[str, Any]:
    """Top-level keys in snake_case. Where both spellings are present, the snake_case one wins."""
    if not isinstance(document, Mapping):
        return {}
    result: dict[str, Any] = {}
    for key, value in document.items():
        name = snake_key(str(key))
        if name not in result or name == key:
            result[name] = value
    return result


def _lenient_datetime(value: object) -> datetime | None:
    """ISO 8601 or Dyte's ``2022-12-13 07:08:39.051621Z``; naive times are UTC; unparseable -> None."""
    if value in (None, ""):
        return None
    try:
        parsed = _DATETIME.validate_python(value)
    except ValidationError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lenient_int(value: object) -> int | None:
    """``fileSize`` arrives as ``"2044680"``, ``2044680`` or ``2044680.0``."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
LenientInt = Annotated[int | None, BeforeValidator(_lenient_int)]


# -- results ---------------------------------------------------------------------------------------
class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RecordingInfo(_Result):
    id: str
    status: str
    download_url: str | None = None
    audio_download_url: str | None = None
    download_url_expiry: LenientDatetime = None
    file_size: LenientInt = None
    output_file_name: str | None = None
    session_id: str | None = None
    meeting_id: str | None = None  # only in list answers (nested ``meeting``), not in GET /recordings/{id}
    invoked_time: LenientDatetime = None
    started_time: LenientDatetime = None
    stopped_time: LenientDatetime = None
    recording_duration: LenientInt = None


class SessionInfo(_Result):
    id: str
    meeting_id: str | None = None  # RealtimeKit's ``associated_id``
    meeting_title: str | None = None  # ``meeting_display_name``
    status: str | None = None  # LIVE or ENDED
    type: str | None = None
    created_at: LenientDatetime = None
    started_at: LenientDatetime = None
    ended_at: LenientDatetime = None
    max_concurrent_participants: LenientInt = None
    minutes_consumed: float | None = None


class SessionParticipant(_Result):
    """One entry of ``GET /sessions/{id}/participants`` (API reference, "Fetch participants list
    of a session"). ``id`` is the peer id."""

    id: str | None = None
    user_id: str | None = None
    custom_participant_id: str | None = None
    display_name: str | None = None
    preset_name: str | None = None
    joined_at: LenientDatetime = None
    left_at: LenientDatetime = None
    duration: float | None = None  # minutes
    created_at: LenientDatetime = None
    updated_at: LenientDatetime = None


class ArtifactLink(_Result):
    """A short-lived download URL for a transcript, summary or chat export."""

    url: str
    expiry: LenientDatetime = None
    session_id: str | None = None


class WebhookInfo(_Result):
    id: str
    name: str | None = None
    url: str | None = None
    events: tuple[str, ...] = ()
    enabled: bool | None = None
    created_at: LenientDatetime = None
    updated_at: LenientDatetime = None


def _convert(what: str, build: Callable[[object], _T], data: object) -> _T:
    try:
        return build(data)
    except ValidationError as exc:
        raise RealtimeKitError(f"RealtimeKit {what}: unexpected answer: {exc}") from exc


def _recording(data: object) -> RecordingInfo:
    fields = _snake_keys(data)
    fields.setdefault("id", fields.get("recording_id"))
    meeting = fields.get("meeting")
    if fields.get("meeting_id") is None and isinstance(meeting, Mapping):
        fields["meeting_id"] = meeting.get("id")
    if fields.get("session_id") is None:
        fields["session_id"] = fields.get("room_uuid")  # the webhook's name for the session id
    return RecordingInfo.model_validate(fields)


def _session(data: object) -> SessionInfo:
    fields = _snake_keys(data)
    fields.setdefault("meeting_id", fields.get("associated_id"))
    fields.setdefault("meeting_title", fields.get("meeting_display_name"))
    return SessionInfo.model_validate(fields)


def _time_range(start_time: datetime | None, end_time: datetime | None) -> dict[str, str]:
    """The list calls' ``start_time`` / ``end_time`` filters, ISO 8601 UTC as documented."""
    return {
        name: moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        for name, moment in (("start_time", start_time), ("end_time", end_time))
        if moment is not None
    }


def _session_details(data: object) -> object:
    """``GET /sessions/{id}`` answers ``data: {session: {...}}`` (API reference, "Fetch details of
    a session"); the SDK's model and older answers put the session in ``data`` itself. Both work."""
    if isinstance(data, Mapping) and isinstance(data.get("session"), Mapping):
        return data["session"]
    return data


def _participant(data: object) -> SessionParticipant:
    fields = _snake_keys(data)
    fields["id"] = fields.get("id") or fields.get("peer_id")
    return SessionParticipant.model_validate(fields)


def _link(data: object, kind: str) -> ArtifactLink:
    fields = _snake_keys(data)
    url = fields.get(f"{kind}_download_url")
    if not url:
        raise RealtimeKitError(f"RealtimeKit answered without a {kind} download URL: {sorted(fields)}")
    return ArtifactLink(
        url=url, expiry=fields.get(f"{kind}_download_url_expiry"), session_id=fields.get("session_id")
    )


def _transcript_link(data: object) -> ArtifactLink:
    return _link(data, "transcript")


def _summary_link(data: object) -> ArtifactLink:
    return _link(data, "summary")


def _chat_link(data: object) -> ArtifactLink:
    return _link(data, "chat")


def _webhook(data: object) -> WebhookInfo:
    fields = _snake_keys(data)
    fields["events"] = tuple(fields.get("events") or ())
    return WebhookInfo.model_validate(fields)


# -- errors ----------------------------------------------------------------------------------------
def _error_detail(body: object) -> tuple[str, int | str | None]:
    """RealtimeKit's ``{"success": false, "error": {"code", "message"}}`` or Cloudflare's ``errors``."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return str(error.get("message") or "no message"), error.get("code")
        if isinstance(error, str):
            return error, None
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            return "; ".join(str(e.get("message")) for e in errors if isinstance(e, Mapping)), errors[0].get(
                "code"
            )
        if body.get("message"):
            return str(body["message"]), None
    return ("no error body" if body is None else str(body)[:200]), None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _status_error(what: str, exc: cloudflare.APIStatusError) -> RealtimeKitError:
    status = exc.status_code
    message, code = _error_detail(exc.body)
    text = f"RealtimeKit {what}: HTTP {status}: {message}" + (f" (code {code})" if code is not None else "")
    if status == 404:
        return RealtimeKitNotFound(text, status=status, code=code)
    if status in (401, 403):
        return RealtimeKitAuthError(text, status=status, code=code)
    if status == 429:
        retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
        return RealtimeKitRateLimited(text, status=status, code=code, retry_after=retry_after)
    if status >= 500 or status == 408:
        return RealtimeKitUnavailable(text, status=status, code=code)
    return RealtimeKitError(text, status=status, code=code)


# -- the client ------------------------------------------------------------------------------------
class RealtimeKitClient:
    """The RealtimeKit REST calls of one App. Takes a ready ``cloudflare.Cloudflare`` client."""

    def __init__(self, sdk: cloudflare.Cloudflare, *, account_id: str, app_id: str) -> None:
        if not account_id or not app_id:
            raise ConfigurationError("RealtimeKit account id and app id are required")
        self._sdk = sdk
        self._kit = sdk.realtime_kit
        self.account_id = account_id
        self.app_id = app_id

    @classmethod
    def connect(
        cls,
        *,
        api_token: str,
        account_id: str,
        app_id: str,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_seconds: float = 15.0,
        http_client: httpx.Client | None = None,
    ) -> RealtimeKitClient:
        return cls(
            build_sdk_client(
                api_token,
                base_url=base_url,
                max_retries=max_retries,
                timeout_seconds=timeout_seconds,
                http_client=http_client,
            ),
            account_id=account_id,
            app_id=app_id,
        )

    def _call(
        self,
        what: str,
        request: Callable[[], APIResponse[Any]],
        *,
        empty_ok: bool = False,
        sdk_model: bool = True,
    ) -> dict[str, Any]:
        """Run one SDK call (``with_raw_response``) and return the success envelope.

        ``empty_ok``: a 2xx without a body is a success (``{}``), for calls documented as
        answering ``void``. ``sdk_model=False`` skips the SDK's model where it disagrees with the
        API reference (the model of ``GET /sessions/{id}`` is flat; the reference nests
        ``data.session``)."""
        try:
            response = request()
            if empty_ok and 200 <= response.status_code < 300 and not response.http_response.content.strip():
                return {}
            if sdk_model:
                response.parse()  # the SDK's model; raises under strict response validation
        except cloudflare.APIStatusError as exc:
            raise _status_error(what, exc) from exc
        except cloudflare.APIConnectionError as exc:  # includes APITimeoutError
            raise RealtimeKitUnavailable(f"RealtimeKit {what}: {exc.message}") from exc
        except cloudflare.APIError as exc:  # APIResponseValidationError
            raise RealtimeKitError(f"RealtimeKit {what}: unexpected answer: {exc.message}") from exc
        try:
            document = response.json()
        except ValueError as exc:  # a 2xx that is not JSON (e.g. a proxy's HTML page)
            raise RealtimeKitUnavailable(f"RealtimeKit {what}: answer is not JSON") from exc
        if not isinstance(document, dict) or document.get("success") is False:
            message, code = _error_detail(document)
            raise RealtimeKitError(f"RealtimeKit {what}: unsuccessful answer: {message}", code=code)
        return document

    # -- recordings ------------------------------------------------------------------------------
    def get_recording(self, recording_id: str) -> RecordingInfo:
        """Fresh download URLs for one recording (``GET /recordings/{id}``)."""
        raw = self._kit.recordings.with_raw_response
        document = self._call(
            f"get recording {recording_id}",
            lambda: raw.get_one_recording(recording_id, account_id=self.account_id, app_id=self.app_id),
        )
        return _convert("recording", _recording, document.get("data"))

    def iter_recordings(
        self,
        meeting_id: str | None = None,
        *,
        status: Sequence[RecordingStatus] | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        per_page: int = 100,
    ) -> Iterator[RecordingInfo]:
        """Every recording of the App (or of one meeting), page by page; ``start_time`` /
        ``end_time`` are the API's documented time-range filters."""
        raw = self._kit.recordings.with_raw_response
        options: dict[str, Any] = {"per_page": per_page, **_time_range(start_time, end_time)}
        if meeting_id:
            options["meeting_id"] = meeting_id
        if status:
            options["status"] = list(status)
        for items in self._pages(
            "list recordings",
            lambda page: raw.get_recordings(self.app_id, account_id=self.account_id, page_no=page, **options),
            lambda document: document.get("data"),
            per_page,
        ):
            yield from (_convert("recording", _recording, item) for item in items)

    def list_recordings(
        self,
        meeting_id: str | None = None,
        *,
        status: Sequence[RecordingStatus] | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        per_page: int = 100,
    ) -> list[RecordingInfo]:
        return list(
            self.iter_recordings(
                meeting_id, status=status, start_time=start_time, end_time=end_time, per_page=per_page
            )
        )

    # -- sessions --------------------------------------------------------------------------------
    def get_session(self, session_id: str) -> SessionInfo:
        raw = self._kit.sessions.with_raw_response
        document = self._call(
            f"get session {session_id}",
            lambda: raw.get_session_details(session_id, account_id=self.account_id, app_id=self.app_id),
            sdk_model=False,
        )
        return _convert("session", _session, _session_details(document.get("data")))

    def iter_sessions(
        self,
        meeting_id: str | None = None,
        *,
        status: Literal["LIVE", "ENDED"] | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        per_page: int = 100,
    ) -> Iterator[SessionInfo]:
        """Sessions of the App (or of one meeting), page by page; ``start_time`` / ``end_time``
        are the API's documented time-range filters."""
        raw = self._kit.sessions.with_raw_response
        options: dict[str, Any] = {"per_page": per_page, **_time_range(start_time, end_time)}
        if meeting_id:
            options["associated_id"] = meeting_id
        if status:
            options["status"] = status
        for items in self._pages(
            "list sessions",
            lambda page: raw.get_sessions(self.app_id, account_id=self.account_id, page_no=page, **options),
            lambda document: (document.get("data") or {}).get("sessions"),
            per_page,
        ):
            yield from (_convert("session", _session, item) for item in items)

    def list_sessions(
        self,
        meeting_id: str | None = None,
        *,
        status: Literal["LIVE", "ENDED"] | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        per_page: int = 100,
    ) -> list[SessionInfo]:
        return list(
            self.iter_sessions(
                meeting_id, status=status, start_time=start_time, end_time=end_time, per_page=per_page
            )
        )

    def list_participants(self, session_id: str, *, per_page: int = 100) -> list[SessionParticipant]:
        """Everyone who joined the session (``GET /sessions/{id}/participants``), page by page."""
        raw = self._kit.sessions.with_raw_response
        participants: list[SessionParticipant] = []
        for items in self._pages(
            f"list participants of session {session_id}",
            lambda page: raw.get_session_participants(
                session_id, account_id=self.account_id, app_id=self.app_id, page_no=page, per_page=per_page
            ),
            lambda document: (document.get("data") or {}).get("participants"),
            per_page,
        ):
            participants.extend(_convert("participant", _participant, item) for item in items)
        return participants

    def get_transcript(self, session_id: str, format: TranscriptFormat | None = None) -> ArtifactLink:
        raw = self._kit.sessions.with_raw_response
        document = self._call(
            f"get transcript of session {session_id}",
            lambda: raw.get_session_transcripts(
                session_id, account_id=self.account_id, app_id=self.app_id, format=format or cloudflare.omit
            ),
        )
        return _convert("transcript", _transcript_link, document.get("data"))

    def get_summary(self, session_id: str) -> ArtifactLink:
        raw = self._kit.sessions.with_raw_response
        document = self._call(
            f"get summary of session {session_id}",
            lambda: raw.get_session_summary(session_id, account_id=self.account_id, app_id=self.app_id),
        )
        return _convert("summary", _summary_link, document.get("data"))

    def get_chat(self, session_id: str) -> ArtifactLink:
        raw = self._kit.sessions.with_raw_response
        document = self._call(
            f"get chat of session {session_id}",
            lambda: raw.get_session_chat(session_id, account_id=self.account_id, app_id=self.app_id),
        )
        return _convert("chat", _chat_link, document.get("data"))

    def generate_summary(self, session_id: str) -> str | None:
        """Ask RealtimeKit to summarize the session's transcript. Asynchronous: the summary arrives
        later via ``meeting.summary``. Returns RealtimeKit's status when it gave one (values
        undocumented), else None: the reference documents the answer as ``void``."""
        raw = self._kit.sessions.with_raw_response
        document = self._call(
            f"generate summary of session {session_id}",
            lambda: raw.generate_summary_of_transcripts(
                session_id, account_id=self.account_id, app_id=self.app_id
            ),
            empty_ok=True,  # documented as ``void``: any 2xx, with or without a body, is "requested"
        )
        status = _snake_keys(document.get("data")).get("status")
        return None if status is None else str(status)

    # -- webhooks --------------------------------------------------------------------------------
    def list_webhooks(self) -> list[WebhookInfo]:
        raw = self._kit.webhooks.with_raw_response
        document = self._call(
            "list webhooks", lambda: raw.get_webhooks(self.app_id, account_id=self.account_id)
        )
        return [_convert("webhook", _webhook, item) for item in document.get("data") or []]

    def create_webhook(
        self, name: str, url: str, events: Sequence[str], *, enabled: bool = True
    ) -> WebhookInfo:
        raw = self._kit.webhooks.with_raw_response
        document = self._call(
            f"create webhook {name!r}",
            lambda: raw.create_webhook(
                self.app_id,
                account_id=self.account_id,
                name=name,
                url=url,
                events=cast(Any, list(events)),
                enabled=enabled,
            ),
        )
        return _convert("webhook", _webhook, document.get("data"))

    def update_webhook(
        self,
        webhook_id: str,
        *,
        name: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
    ) -> WebhookInfo:
        """Change the given fields only (``PATCH /webhooks/{id}``)."""
        changes: dict[str, Any] = {"name": name, "url": url, "enabled": enabled}
        changes = {key: value for key, value in changes.items() if value is not None}
        if events is not None:
            changes["events"] = list(events)
        raw = self._kit.webhooks.with_raw_response
        document = self._call(
            f"update webhook {webhook_id}",
            lambda: raw.edit_webhook(webhook_id, account_id=self.account_id, app_id=self.app_id, **changes),
        )
        return _convert("webhook", _webhook, document.get("data"))

    # -- paging ----------------------------------------------------------------------------------
    def _pages(
        self,
        what: str,
        fetch: Callable[[int], APIResponse[Any]],
        items_of: Callable[[dict[str, Any]], object],
        per_page: int,
    ) -> Iterator[list[Any]]:
        """Pages are numbered from 1; stop on a short page or when ``paging.total_count`` is reached."""
        seen, page = 0, 1
        while True:
            document = self._call(f"{what} (page {page})", lambda: fetch(page))  # noqa: B023 - called at once
            items = items_of(document)
            items = items if isinstance(items, list) else []
            yield items
            seen += len(items)
            total = _lenient_int(_snake_keys(document.get("paging")).get("total_count"))
            if len(items) < per_page or (total is not None and seen >= total):
                return
            page += 1


def build_sdk_client(
    api_token: str,
    *,
    base_url: str | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    timeout_seconds: float = 15.0,
    http_client: httpx.Client | None = None,
) -> cloudflare.Cloudflare:
    """A ``cloudflare.Cloudflare`` that authenticates with the token only.

    The SDK reads ``CLOUDFLARE_EMAIL`` / ``CLOUDFLARE_API_KEY`` from the environment when they are not
    passed, and prefers them over the token; we clear them so a stray variable cannot change the
    credentials. ``base_url`` is always passed so ``CLOUDFLARE_BASE_URL`` cannot redirect us either."""
    sdk = cloudflare.Cloudflare(
        api_token=api_token,
        base_url=base_url or DEFAULT_API_BASE_URL,
        max_retries=max_retries,
        timeout=timeout_seconds,
        http_client=http_client,  # e.g. the CLI's, whose request hook paces calls to the rate limit
    )
    sdk.api_email = None
    sdk.api_key = None
    sdk.user_service_key = None
    return sdk


# -- configuration ---------------------------------------------------------------------------------
class RealtimeKitSettings(_Settings):
    account_id: str = Field(alias="REALTIMEKIT_ACCOUNT_ID", min_length=1)
    app_id: str = Field(alias="REALTIMEKIT_APP_ID", min_length=1)
    api_token_secret_arn: str = Field(alias="REALTIMEKIT_API_TOKEN_SECRET_ARN", min_length=1)
    # Local mode points this at the stand-in's api_base_url.
    api_base_url: str | None = Field(default=None, alias="REALTIMEKIT_API_BASE_URL")
    token_cache_seconds: int = Field(default=300, alias="REALTIMEKIT_TOKEN_CACHE_SECONDS", ge=0)
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, alias="REALTIMEKIT_MAX_RETRIES", ge=0, le=5)
    timeout_seconds: float = Field(default=15.0, alias="REALTIMEKIT_TIMEOUT_SECONDS", gt=0, le=120)


@cache
def realtimekit_settings() -> RealtimeKitSettings:
    return RealtimeKitSettings.from_env()


class ApiTokenSource:
    """The API token: a plain SecretString in Secrets Manager, cached for ``max_age_seconds``."""

    def __init__(self, secret_id: str, *, secrets_client: Any = None, max_age_seconds: int = 300) -> None:
        self._secret_id = secret_id
        self._secrets_client = secrets_client
        self._max_age = max_age_seconds
        self._provider: SecretsProvider | None = None

    def get(self, *, force_fetch: bool = False) -> str:
        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=self._secrets_client)
        try:
            value = self._provider.get(self._secret_id, max_age=self._max_age, force_fetch=force_fetch)
        except GetParameterError as exc:  # Powertools wraps every botocore error in it
            raise ConfigurationError(f"cannot read the RealtimeKit API token secret: {exc}") from exc
        token = value.decode() if isinstance(value, bytes) else str(value)
        token = token.strip()
        if not token:
            raise ConfigurationError("the RealtimeKit API token secret is empty")
        return token


@cache
def _default_token_source(secret_id: str, max_age_seconds: int) -> ApiTokenSource:
    return ApiTokenSource(secret_id, max_age_seconds=max_age_seconds)


@lru_cache(maxsize=4)
def _cached_client(settings: RealtimeKitSettings, api_token: str) -> RealtimeKitClient:
    # Keyed on the token too: a rotated secret gives a new client once the cached value expires.
    return RealtimeKitClient.connect(
        api_token=api_token,
        account_id=settings.account_id,
        app_id=settings.app_id,
        base_url=settings.api_base_url,
        max_retries=settings.max_retries,
        timeout_seconds=settings.timeout_seconds,
    )


def realtimekit_client_from_env(
    secrets_client: Any = None, *, environ: Mapping[str, str] | None = None
) -> RealtimeKitClient:
    """The client for this Lambda's settings. With no ``secrets_client``, the token is cached across
    invocations; a given client (tests, local mode) gets a fresh read."""
    settings = realtimekit_settings() if environ is None else RealtimeKitSettings.from_env(environ)
    if secrets_client is None:
        source = _default_token_source(settings.api_token_secret_arn, settings.token_cache_seconds)
    else:
        source = ApiTokenSource(
            settings.api_token_secret_arn,
            secrets_client=secrets_client,
            max_age_seconds=settings.token_cache_seconds,
        )
    return _cached_client(settings, source.get())


def clear_realtimekit_cache() -> None:
    """For tests and local mode, which change the environment between runs."""
    realtimekit_settings.cache_clear()
    _default_token_source.cache_clear()
    _cached_client.cache_clear()
