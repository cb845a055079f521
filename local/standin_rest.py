"""In-memory RealtimeKit REST API for the local stand-in (``local.standin.RealtimeKitStandin``).

Answers the calls the pipeline makes under ``/client/v4/accounts/{account}/realtime/kit/{app}`` with
RealtimeKit's envelope (``{"success": true, "data": ...}``, errors as ``{"success": false,
"error": {"code", "message"}}``) and the exact key casing the reference documents and the official
SDK's models parse (``sessionId`` + ``transcript_download_url``, ``summaryDownloadUrl``, ...).

Download URLs point at files hosted on the stand-in (``standin.host_file``); a file marked
unavailable makes the REST call answer 404, like RealtimeKit after its 7-day retention.

Dev tooling only; never imported by ``shared/`` or a Lambda.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote

from local.sample_meeting import SampleMeeting
from local.standin import API_PREFIX, RealtimeKitStandin, StandinRequest

Answer = tuple[int, Any]
# RealtimeKit's documented limit for all its APIs: 250 requests per 10 seconds.
DEFAULT_RATE_LIMIT_REQUESTS = 250
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 10.0


def iso(moment: datetime) -> str:
    """``2026-06-03T10:00:00.000Z``, the way RealtimeKit writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StandinRecording:
    id: str
    meeting_id: str
    session_id: str
    file_name: str  # name of the hosted file (``standin.host_file``)
    output_file_name: str
    audio_file_name: str | None = None  # hosted audio-only file, if any
    status: str = "UPLOADED"
    file_size: int | None = None  # defaults to the hosted file's size
    invoked_time: datetime = field(default_factory=_now)
    started_time: datetime | None = None
    stopped_time: datetime | None = None
    recording_duration: int | None = None


@dataclass
class StandinParticipant:
    """One entry of ``GET /sessions/{id}/participants`` (``id`` is the peer id)."""

    id: str
    display_name: str
    user_id: str | None = None
    custom_participant_id: str | None = None
    preset_name: str | None = "group_call_participant"
    joined_at: datetime = field(default_factory=_now)
    left_at: datetime | None = None


@dataclass
class StandinSession:
    id: str
    meeting_id: str
    title: str = "Weekly sync"
    status: str = "ENDED"
    started_at: datetime = field(default_factory=_now)
    ended_at: datetime | None = None
    max_concurrent_participants: int = 2
    minutes_consumed: float = 0.0
    # format ("CSV", "JSON", "SRT", "VTT") -> hosted file name; the first one is the default format
    transcript_files: dict[str, str] = field(default_factory=dict)
    summary_file: str | None = None
    chat_file: str | None = None
    participants: list[StandinParticipant] = field(default_factory=list)


@dataclass
class StandinWebhook:
    id: str
    name: str
    url: str
    events: list[str]
    enabled: bool = True
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass
class RateLimit:
    """A sliding window: more than ``max_requests`` in ``window_seconds`` answers 429 + Retry-After."""

    max_requests: int = DEFAULT_RATE_LIMIT_REQUESTS
    window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS
    _times: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self, now: float | None = None) -> float | None:
        """None when the request may proceed, else the seconds until a slot frees up."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._times and self._times[0] <= now - self.window_seconds:
                self._times.popleft()
            if len(self._times) < self.max_requests:
                self._times.append(now)
                return None
            oldest = self._times[0] if self._times else now
            return max(0.0, oldest + self.window_seconds - now)


@dataclass
class StandinRestState:
    api_token: str
    account_id: str = "local-account"
    app_id: str = "local-app"
    organization_id: str = "c94c437b-592a-4a39-b9e2-47ef1451e43b"
    recordings: dict[str, StandinRecording] = field(default_factory=dict)
    sessions: dict[str, StandinSession] = field(default_factory=dict)
    # Meetings of this app besides those its sessions and recordings name (GET /meetings/{id}).
    meetings: set[str] = field(default_factory=set)
    webhooks: dict[str, StandinWebhook] = field(default_factory=dict)
    summary_requests: list[str] = field(default_factory=list)  # session ids, one per POST
    # How POST /sessions/{id}/summary answers: the reference documents ``void`` ("empty": no body),
    # "{}" an empty object, "sdk" the SDK model's ``{"data": {"session_id", "status"}}``.
    summary_answer: Literal["empty", "{}", "sdk"] = "empty"
    # GET /sessions/{id}: "documented" = ``data: {session: {...}}`` (API reference, "Fetch details
    # of a session"); "flat" = the session in ``data`` itself, as the SDK's model has it.
    session_details_shape: Literal["documented", "flat"] = "documented"
    rate_limit: RateLimit | None = None
    url_lifetime: timedelta = timedelta(days=7)
    # Called after a POST /sessions/{id}/summary is recorded (e.g. to send a signed meeting.summary).
    on_summary_requested: Callable[[str], None] | None = None
    # Answers forced on the next requests, in order: (status, message). For 5xx/403 tests and demos.
    injected_errors: deque[tuple[int, str]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inject_error(self, status: int, message: str = "Injected error", *, times: int = 1) -> None:
        with self.lock:
            self.injected_errors.extend([(status, message)] * times)


# -- response headers ------------------------------------------------------------------------------
# A RestRoute answers (status, document) only, but a 429 needs a Retry-After header. The route leaves
# the headers here (handler threads serve one request at a time) and a handler subclass sends them.
_pending_headers = threading.local()


def _set_response_headers(headers: dict[str, str] | None) -> None:
    _pending_headers.value = headers


def _enable_response_headers(standin: RealtimeKitStandin) -> None:
    server = standin._server
    base: Any = server.RequestHandlerClass
    if getattr(base, "standin_rest_headers", False):
        return

    class _HandlerWithHeaders(base):
        standin_rest_headers = True

        def end_headers(self) -> None:
            headers = getattr(_pending_headers, "value", None)
            _pending_headers.value = None
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            super().end_headers()

    server.RequestHandlerClass = _HandlerWithHeaders


# -- routes ----------------------------------------------------------------------------------------
def _ok(data: Any, **extra: Any) -> Answer:
    return 200, {"success": True, "data": data, **extra}


def _error(status: int, message: str) -> Answer:
    return status, {"success": False, "error": {"code": status, "message": message}}


def _in_time_range(moment: datetime, query: dict[str, str]) -> bool:
    """The list calls' ``start_time`` / ``end_time`` filters (ISO 8601): a session by its start, a
    recording by its invoked time. [Assumption: the reference says only "the time range for which
    you want to retrieve the meetings".]"""
    for name, inside in (
        ("start_time", lambda bound: moment >= bound),
        ("end_time", lambda bound: moment <= bound),
    ):
        text = query.get(name)
        if text:
            bound = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if not inside(bound if bound.tzinfo else bound.replace(tzinfo=UTC)):
                return False
    return True


class _RestApi:
    def __init__(self, standin: RealtimeKitStandin, state: StandinRestState) -> None:
        self.standin = standin
        self.state = state
        self.prefix = f"{API_PREFIX}/accounts/{state.account_id}/realtime/kit/{state.app_id}"

    # the RestRoute
    def __call__(self, request: StandinRequest) -> Answer | None:
        """The RestRoute. Paths it does not serve (another app, another call) answer None, so routes
        installed after it (or the stand-in's own 404) can take them."""
        if not request.path.startswith(self.prefix + "/"):
            return None
        parts = [unquote(p) for p in request.path.removeprefix(self.prefix).split("/") if p]
        query = {key: unquote(value.replace("+", " ")) for key, value in request.query.items()}
        handler = self._route(request.method, parts, query, request.body)
        if handler is None:
            return None
        _set_response_headers(None)
        state = self.state
        if state.rate_limit is not None:
            wait = state.rate_limit.admit()
            if wait is not None:
                _set_response_headers({"Retry-After": str(max(1, math.ceil(wait)))})
                return _error(429, "Rate limit exceeded. Please retry after some time.")
        if not self._authorized(request):
            return _error(401, "Unauthorized: invalid or missing API token")
        with state.lock:
            injected = state.injected_errors.popleft() if state.injected_errors else None
        if injected is not None:
            return _error(*injected)
        return handler()

    def _authorized(self, request: StandinRequest) -> bool:
        headers = {name.lower(): value for name, value in request.headers.items()}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token == self.state.api_token

    def _route(
        self, method: str, parts: list[str], query: dict[str, str], body: bytes
    ) -> Callable[[], Answer] | None:
        match method, parts:
            case "GET", ["meetings", meeting_id]:
                return lambda: self._get_meeting(meeting_id)
            case "GET", ["recordings"]:
                return lambda: self._list_recordings(query)
            case "GET", ["recordings", recording_id]:
                return lambda: self._get_recording(recording_id)
            case "GET", ["sessions"]:
                return lambda: self._list_sessions(query)
            case "GET", ["sessions", session_id]:
                return lambda: self._get_session(session_id)
            case "GET", ["sessions", session_id, "participants"]:
                return lambda: self._list_participants(session_id, query)
            case "GET", ["sessions", session_id, "transcript"]:
                return lambda: self._get_transcript(session_id, query.get("format"))
            case "GET", ["sessions", session_id, "summary"]:
                return lambda: self._get_summary(session_id)
            case "POST", ["sessions", session_id, "summary"]:
                return lambda: self._generate_summary(session_id)
            case "GET", ["sessions", session_id, "chat"]:
                return lambda: self._get_chat(session_id)
            case "GET", ["webhooks"]:
                return lambda: _ok([self._webhook_data(w) for w in self.state.webhooks.values()])
            case "POST", ["webhooks"]:
                return lambda: self._create_webhook(body)
            case "GET", ["webhooks", webhook_id]:
                return lambda: self._with_webhook(webhook_id, lambda w: _ok(self._webhook_data(w)))
            case ("PUT" | "PATCH") as verb, ["webhooks", webhook_id]:
                return lambda: self._update_webhook(webhook_id, body, replace=verb == "PUT")
            case "DELETE", ["webhooks", webhook_id]:
                return lambda: self._delete_webhook(webhook_id)
        return None

    # -- files -------------------------------------------------------------------------------------
    def _available(self, name: str | None) -> bool:
        hosted = self.standin.files.get(name) if name else None
        return hosted is not None and hosted.available

    def _fresh_url(self, name: str, expiry: datetime) -> str:
        # A new signature-like query per call, like a freshly presigned URL; the stand-in ignores it.
        return (
            f"{self.standin.base_url}/files/{name}?expires={int(expiry.timestamp())}&sig={uuid.uuid4().hex}"
        )

    def _expiry(self) -> datetime:
        return _now() + self.state.url_lifetime

    # -- recordings --------------------------------------------------------------------------------
    def _recording_data(self, recording: StandinRecording, *, with_meeting: bool = False) -> dict[str, Any]:
        uploaded = recording.status == "UPLOADED"
        expiry = self._expiry()
        hosted = self.standin.files.get(recording.file_name)
        file_size = recording.file_size
        if file_size is None and hosted is not None and uploaded:
            file_size = len(hosted.data)
        data: dict[str, Any] = {
            "id": recording.id,
            "audio_download_url": (
                self._fresh_url(recording.audio_file_name, expiry)
                if uploaded and recording.audio_file_name and self._available(recording.audio_file_name)
                else None
            ),
            "download_url": self._fresh_url(recording.file_name, expiry) if uploaded else None,
            "download_url_expiry": iso(expiry) if uploaded else None,
            "file_size": file_size,
            "invoked_time": iso(recording.invoked_time),
            "output_file_name": recording.output_file_name,
            "session_id": recording.session_id,
            "started_time": iso(recording.started_time) if recording.started_time else None,
            "status": recording.status,
            "stopped_time": iso(recording.stopped_time) if recording.stopped_time else None,
            "recording_duration": recording.recording_duration,
            "start_reason": {"reason": "RECORD_ON_START", "caller": {"type": "ORGANIZATION"}},
            "stop_reason": (
                {"reason": "ALL_PEERS_LEFT", "caller": {"type": "ORGANIZATION"}}
                if recording.stopped_time
                else None
            ),
            "storage_config": None,
        }
        if with_meeting:
            session = self.state.sessions.get(recording.session_id)
            created = iso(recording.invoked_time)
            data["meeting"] = {
                "id": recording.meeting_id,
                "created_at": created,
                "updated_at": created,
                "title": session.title if session else None,
                "status": "ACTIVE",
            }
        return data

    def _get_recording(self, recording_id: str) -> Answer:
        recording = self.state.recordings.get(recording_id)
        if recording is None:
            return _error(404, f"Recording {recording_id} not found")
        if recording.status == "UPLOADED" and not self._available(recording.file_name):
            return _error(404, f"Recording {recording_id} not found or expired")
        return _ok(self._recording_data(recording))

    def _list_recordings(self, query: dict[str, str]) -> Answer:
        statuses = {s for s in query.get("status", "").split(",") if s}
        matching = [
            r
            for r in self.state.recordings.values()
            if (not query.get("meeting_id") or r.meeting_id == query["meeting_id"])
            and (not statuses or r.status in statuses)
            and _in_time_range(r.invoked_time, query)
            and not (r.status == "UPLOADED" and not self._available(r.file_name))
        ]
        page, start, end = self._page(matching, query)
        items = [self._recording_data(r, with_meeting=True) for r in page]
        return _ok(items, paging={"total_count": len(matching), "start_offset": start, "end_offset": end})

    # -- sessions ----------------------------------------------------------------------------------
    def _session_data(self, session: StandinSession) -> dict[str, Any]:
        return {
            "id": session.id,
            "associated_id": session.meeting_id,
            "created_at": iso(session.started_at),
            "updated_at": iso(session.ended_at or session.started_at),
            "started_at": iso(session.started_at),
            "ended_at": iso(session.ended_at) if session.ended_at else None,
            "live_participants": 0 if session.status == "ENDED" else 1,
            "max_concurrent_participants": session.max_concurrent_participants,
            "meeting_display_name": session.title,
            "minutes_consumed": session.minutes_consumed,
            "organization_id": self.state.organization_id,
            "status": session.status,
            "type": "meeting",
        }

    # -- meetings ----------------------------------------------------------------------------------
    def _get_meeting(self, meeting_id: str) -> Answer:
        """``GET /meetings/{id}``: the meetings this app knows (its sessions', its recordings')."""
        state = self.state
        known = (
            meeting_id in state.meetings
            or any(s.meeting_id == meeting_id for s in state.sessions.values())
            or any(r.meeting_id == meeting_id for r in state.recordings.values())
        )
        if not known:
            return _error(404, f"Meeting {meeting_id} not found")
        session = next((s for s in state.sessions.values() if s.meeting_id == meeting_id), None)
        return _ok(
            {
                "id": meeting_id,
                "title": session.title if session else None,
                "status": "ACTIVE",
                "created_at": iso(session.started_at) if session else None,
                "updated_at": iso(session.started_at) if session else None,
            }
        )

    def _get_session(self, session_id: str) -> Answer:
        session = self.state.sessions.get(session_id)
        if session is None:
            return _error(404, f"Session {session_id} not found")
        data = self._session_data(session)
        return _ok({"session": data} if self.state.session_details_shape == "documented" else data)

    def _list_participants(self, session_id: str, query: dict[str, str]) -> Answer:
        session = self.state.sessions.get(session_id)
        if session is None:
            return _error(404, f"Session {session_id} not found")
        page, start, end = self._page(sorted(session.participants, key=lambda p: p.joined_at), query)
        items = []
        for p in page:
            left = p.left_at or session.ended_at
            minutes = (left - p.joined_at).total_seconds() / 60 if left else None
            items.append(
                {
                    "id": p.id,
                    "created_at": iso(p.joined_at),
                    "custom_participant_id": p.custom_participant_id,
                    "display_name": p.display_name,
                    "duration": round(minutes, 2) if minutes is not None else None,
                    "joined_at": iso(p.joined_at),
                    "left_at": iso(p.left_at) if p.left_at else None,
                    "preset_name": p.preset_name,
                    "updated_at": iso(p.left_at or p.joined_at),
                    "user_id": p.user_id,
                }
            )
        paging = {"total_count": len(session.participants), "start_offset": start, "end_offset": end}
        return _ok({"participants": items}, paging=paging)

    def _list_sessions(self, query: dict[str, str]) -> Answer:
        matching = [
            s
            for s in self.state.sessions.values()
            if (not query.get("associated_id") or s.meeting_id == query["associated_id"])
            and (not query.get("status") or s.status == query["status"])
            and _in_time_range(s.started_at, query)
        ]
        page, start, end = self._page(matching, query)
        return _ok(
            {"sessions": [self._session_data(s) for s in page]},
            paging={"total_count": len(matching), "start_offset": start, "end_offset": end},
        )

    def _get_transcript(self, session_id: str, requested: str | None) -> Answer:
        session = self.state.sessions.get(session_id)
        if session is None or not session.transcript_files:
            return _error(404, f"Transcript for session {session_id} not found")
        fmt = requested or (
            "CSV" if "CSV" in session.transcript_files else next(iter(session.transcript_files))
        )
        name = session.transcript_files.get(fmt.upper())
        if not self._available(name):
            return _error(404, f"Transcript for session {session_id} not found in format {fmt.upper()}")
        expiry = self._expiry()
        assert name is not None
        # Mixed case, exactly as RealtimeKit answers.
        return _ok(
            {
                "sessionId": session_id,
                "transcript_download_url": self._fresh_url(name, expiry),
                "transcript_download_url_expiry": iso(expiry),
            }
        )

    def _get_summary(self, session_id: str) -> Answer:
        session = self.state.sessions.get(session_id)
        if session is None or not self._available(session.summary_file):
            return _error(404, f"Summary for session {session_id} not found")
        assert session.summary_file is not None
        expiry = self._expiry()
        return _ok(
            {
                "sessionId": session_id,
                "summaryDownloadUrl": self._fresh_url(session.summary_file, expiry),
                "summaryDownloadUrlExpiry": iso(expiry),
            }
        )

    def _get_chat(self, session_id: str) -> Answer:
        session = self.state.sessions.get(session_id)
        if session is None or not self._available(session.chat_file):
            return _error(404, f"Chat for session {session_id} not found")
        assert session.chat_file is not None
        expiry = self._expiry()
        return _ok(
            {
                "chat_download_url": self._fresh_url(session.chat_file, expiry),
                "chat_download_url_expiry": iso(expiry),
            }
        )

    def _generate_summary(self, session_id: str) -> Answer:
        if session_id not in self.state.sessions:
            return _error(404, f"Session {session_id} not found")
        with self.state.lock:
            self.state.summary_requests.append(session_id)
        if self.state.on_summary_requested is not None:
            self.state.on_summary_requested(session_id)
        answer = self.state.summary_answer
        if answer == "empty":
            return 200, None
        if answer == "{}":
            return 200, {}
        return _ok({"session_id": session_id, "status": "PROCESSING"})

    # -- webhooks ----------------------------------------------------------------------------------
    @staticmethod
    def _webhook_data(webhook: StandinWebhook) -> dict[str, Any]:
        return {
            "id": webhook.id,
            "name": webhook.name,
            "url": webhook.url,
            "events": list(webhook.events),
            "enabled": webhook.enabled,
            "created_at": iso(webhook.created_at),
            "updated_at": iso(webhook.updated_at),
        }

    @staticmethod
    def _json_body(body: bytes) -> dict[str, Any] | None:
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def _create_webhook(self, body: bytes) -> Answer:
        document = self._json_body(body)
        if document is None or not all(document.get(key) for key in ("name", "url", "events")):
            return _error(400, "name, url and events are required")
        webhook = StandinWebhook(
            id=str(uuid.uuid4()),
            name=str(document["name"]),
            url=str(document["url"]),
            events=list(document["events"]),
            enabled=bool(document.get("enabled", True)),
        )
        with self.state.lock:
            self.state.webhooks[webhook.id] = webhook
        return 201, {"success": True, "data": self._webhook_data(webhook)}

    def _with_webhook(self, webhook_id: str, answer: Callable[[StandinWebhook], Answer]) -> Answer:
        webhook = self.state.webhooks.get(webhook_id)
        return _error(404, f"Webhook {webhook_id} not found") if webhook is None else answer(webhook)

    def _update_webhook(self, webhook_id: str, body: bytes, *, replace: bool) -> Answer:
        document = self._json_body(body)
        if document is None:
            return _error(400, "body must be a JSON object")
        if replace and not all(document.get(key) for key in ("name", "url", "events")):
            return _error(400, "name, url and events are required")

        def update(webhook: StandinWebhook) -> Answer:
            with self.state.lock:
                if "name" in document:
                    webhook.name = str(document["name"])
                if "url" in document:
                    webhook.url = str(document["url"])
                if "events" in document:
                    webhook.events = list(document["events"])
                if "enabled" in document or replace:
                    webhook.enabled = bool(document.get("enabled", True))
                webhook.updated_at = _now()
            return _ok(self._webhook_data(webhook))

        return self._with_webhook(webhook_id, update)

    def _delete_webhook(self, webhook_id: str) -> Answer:
        with self.state.lock:
            webhook = self.state.webhooks.pop(webhook_id, None)
        if webhook is None:
            return _error(404, f"Webhook {webhook_id} not found")
        return _ok(self._webhook_data(webhook))

    # -- paging ------------------------------------------------------------------------------------
    @staticmethod
    def _page(items: list[Any], query: dict[str, str]) -> tuple[list[Any], int, int]:
        """``page_no`` from 1, ``per_page`` (default 20); returns the page and its offsets."""
        try:
            page_no = max(1, int(float(query.get("page_no") or 1)))
            per_page = max(1, int(float(query.get("per_page") or 20)))
        except ValueError:
            page_no, per_page = 1, 20
        start = (page_no - 1) * per_page
        page = items[start : start + per_page]
        return page, start, start + max(0, len(page) - 1)


def install(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    """Serve RealtimeKit's REST API from ``state`` on the stand-in (``standin.api_base_url``)."""
    _enable_response_headers(standin)
    standin.rest_routes.append(_RestApi(standin, state))


def sample_recording(meeting: SampleMeeting) -> StandinRecording:
    """The sample meeting's recording as ``GET /recordings/{id}`` describes it."""
    return StandinRecording(
        id=meeting.recording_id,
        meeting_id=meeting.meeting_id,
        session_id=meeting.session_id,
        file_name="recording.mp4",
        output_file_name="weekly-sync.mp4",
        audio_file_name="recording.mp3",
        invoked_time=meeting.started_at,
        started_time=meeting.recording_started_at,
        stopped_time=meeting.ended_at,
        recording_duration=1798,
    )


def install_sample_meeting(
    standin: RealtimeKitStandin,
    meeting: SampleMeeting,
    urls: dict[str, str],
    *,
    api_token: str = "local-token",  # noqa: S107 - the stand-in placeholder token
) -> StandinRestState:
    """The demo's REST state: the sample meeting's recording and session artifacts, so the
    pipeline can refresh an expired URL or fetch what a webhook lacked."""
    del urls  # the stand-in hosts the files under their names; the REST answers point at them
    state = StandinRestState(api_token=api_token)
    state.recordings[meeting.recording_id] = sample_recording(meeting)
    state.sessions[meeting.session_id] = StandinSession(
        id=meeting.session_id,
        meeting_id=meeting.meeting_id,
        title=meeting.title,
        started_at=meeting.started_at,
        ended_at=meeting.ended_at,
        transcript_files={"CSV": "transcript.csv"},
        summary_file="summary.md",
        chat_file="chat.csv",
        participants=[
            StandinParticipant(
                id=person.peer_ids[peer],
                display_name=person.name,
                user_id=person.user_id,
                custom_participant_id=person.custom_participant_id,
                joined_at=meeting.started_at + timedelta(seconds=joined),
                left_at=meeting.started_at + timedelta(seconds=left),
            )
            for person, peer, joined, left in meeting.stints()
        ],
    )
    install(standin, state)
    return state
