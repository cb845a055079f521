"""The RealtimeKit REST client (shared.adapters.realtimekit) against the local stand-in's REST API
(local.standin_rest), through the official SDK. Every SDK client here validates answers strictly
against the SDK's models, so the stand-in's key casing is checked too."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import cloudflare
import pytest
from moto import mock_aws

from local.signing import WebhookSigner
from local.standin import RealtimeKitStandin, StandinRequest
from local.standin_rest import (
    RateLimit,
    StandinParticipant,
    StandinRecording,
    StandinRestState,
    StandinSession,
    install,
)
from shared.adapters.realtimekit import (
    RealtimeKitClient,
    clear_realtimekit_cache,
    realtimekit_client_from_env,
)
from shared.core.exceptions import (
    ConfigurationError,
    MeetingVaultError,
    RealtimeKitAuthError,
    RealtimeKitError,
    RealtimeKitNotFound,
    RealtimeKitRateLimited,
    RealtimeKitUnavailable,
)
from tests.conftest import free_port

TOKEN = "test-api-token"
ACCOUNT = "acc-123"
APP = "app-456"
MEETING = "50c8940e-1b97-402a-97d6-2708b7feca41"
SESSION = "05e57591-d89e-45c9-ae44-08dc1eaad0e0"
RECORDING = "97cb480d-5840-4528-ace3-919b5e386c68"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
AUDIO = b"ID3" + bytes(500)
TRANSCRIPT_CSV = b'"1000","peer-1","user-1","cust-1","Alice","Hello everyone"\n'
TRANSCRIPT_JSON = b'[{"startTime":1000,"endTime":2500,"sentence":"Hello everyone"}]'
SUMMARY = "## Key Discussion Points\n- Zoë shipped the release\n".encode()
CHAT = b"id,participantId,sessionId,meetingId,displayName,pinned,isEdited,payloadType,payload,createdAt\n"


@pytest.fixture(scope="module")
def running_standin(signer: WebhookSigner) -> Iterator[RealtimeKitStandin]:
    # One server per module: stopping one takes 0.5 s (the serve_forever poll interval).
    with RealtimeKitStandin(signer) as running:
        yield running


@pytest.fixture
def standin(running_standin: RealtimeKitStandin) -> RealtimeKitStandin:
    """The shared stand-in, emptied: no files, no routes, no logged requests."""
    running_standin.files.clear()
    running_standin.rest_routes.clear()
    with running_standin.log.lock:
        running_standin.log.requests.clear()
        running_standin.log.queries.clear()
    return running_standin


@pytest.fixture
def state(standin: RealtimeKitStandin) -> StandinRestState:
    """One ended session with a recording (video + audio), transcript (CSV, JSON), summary, chat."""
    standin.host_file("rec.mp4", VIDEO, "video/mp4")
    standin.host_file("rec.mp3", AUDIO, "audio/mpeg")
    standin.host_file("transcript.csv", TRANSCRIPT_CSV, "text/csv")
    standin.host_file("transcript.json", TRANSCRIPT_JSON, "application/json")
    standin.host_file("summary.md", SUMMARY, "text/markdown")
    standin.host_file("chat.csv", CHAT, "text/csv")
    started = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
    rest = StandinRestState(api_token=TOKEN, account_id=ACCOUNT, app_id=APP)
    rest.sessions[SESSION] = StandinSession(
        id=SESSION,
        meeting_id=MEETING,
        title="Weekly sync",
        started_at=started,
        ended_at=started + timedelta(minutes=30),
        transcript_files={"CSV": "transcript.csv", "JSON": "transcript.json"},
        summary_file="summary.md",
        chat_file="chat.csv",
    )
    rest.recordings[RECORDING] = StandinRecording(
        id=RECORDING,
        meeting_id=MEETING,
        session_id=SESSION,
        file_name="rec.mp4",
        audio_file_name="rec.mp3",
        output_file_name="weekly-sync.mp4",
        invoked_time=started,
        started_time=started,
        stopped_time=started + timedelta(minutes=30),
        recording_duration=1800,
    )
    install(standin, rest)
    return rest


def sdk_for(
    standin: RealtimeKitStandin, *, token: str = TOKEN, max_retries: int = 0
) -> cloudflare.Cloudflare:
    return cloudflare.Cloudflare(
        api_token=token,
        base_url=standin.api_base_url,
        max_retries=max_retries,
        timeout=5.0,
        _strict_response_validation=True,
    )


def client_for(standin: RealtimeKitStandin, *, token: str = TOKEN, max_retries: int = 0) -> RealtimeKitClient:
    return RealtimeKitClient(
        sdk_for(standin, token=token, max_retries=max_retries), account_id=ACCOUNT, app_id=APP
    )


@pytest.fixture
def client(standin: RealtimeKitStandin, state: StandinRestState) -> RealtimeKitClient:
    return client_for(standin)


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:  # the local stand-in
        return bytes(response.read())


def rest_requests(standin: RealtimeKitStandin, suffix: str) -> list[tuple[str, str]]:
    return [(m, p) for m, p in standin.log.requests if p.endswith(suffix)]


# -- recordings ------------------------------------------------------------------------------------
def test_get_recording_returns_fresh_urls_to_the_hosted_files(client: RealtimeKitClient) -> None:
    first = client.get_recording(RECORDING)
    second = client.get_recording(RECORDING)

    assert first.id == RECORDING
    assert first.status == "UPLOADED"
    assert first.session_id == SESSION
    assert first.output_file_name == "weekly-sync.mp4"
    assert first.file_size == len(VIDEO)
    assert first.recording_duration == 1800
    assert first.download_url
    assert first.audio_download_url
    assert download(first.download_url) == VIDEO
    assert download(first.audio_download_url) == AUDIO
    assert first.download_url_expiry is not None
    assert first.download_url_expiry > datetime.now(UTC) + timedelta(days=6)
    assert first.download_url != second.download_url  # freshly signed on every call


def test_recording_still_recording_has_no_download_url(
    client: RealtimeKitClient, state: StandinRestState
) -> None:
    state.recordings["r-live"] = StandinRecording(
        id="r-live",
        meeting_id=MEETING,
        session_id=SESSION,
        file_name="missing.mp4",
        output_file_name="live.mp4",
        status="RECORDING",
    )

    info = client.get_recording("r-live")

    assert (info.status, info.download_url, info.download_url_expiry) == ("RECORDING", None, None)


def test_list_recordings_filters_by_meeting_and_follows_pages(
    standin: RealtimeKitStandin, client: RealtimeKitClient, state: StandinRestState
) -> None:
    for n in range(3):
        standin.host_file(f"extra{n}.mp4", b"x" * (n + 1), "video/mp4")
        state.recordings[f"r{n}"] = StandinRecording(
            id=f"r{n}",
            meeting_id=MEETING,
            session_id=SESSION,
            file_name=f"extra{n}.mp4",
            output_file_name=f"{n}.mp4",
        )
    standin.host_file("other.mp4", b"o", "video/mp4")
    state.recordings["other"] = StandinRecording(
        id="other",
        meeting_id="another-meeting",
        session_id="s2",
        file_name="other.mp4",
        output_file_name="o.mp4",
    )

    recordings = client.list_recordings(MEETING, per_page=2)

    assert sorted(r.id for r in recordings) == sorted([RECORDING, "r0", "r1", "r2"])
    assert {r.meeting_id for r in recordings} == {MEETING}
    assert {r.id: r.file_size for r in recordings} == {RECORDING: len(VIDEO), "r0": 1, "r1": 2, "r2": 3}
    assert len(rest_requests(standin, f"/realtime/kit/{APP}/recordings")) == 2
    assert [r.id for r in client.list_recordings("another-meeting")] == ["other"]


# -- sessions --------------------------------------------------------------------------------------
def test_get_and_list_sessions(client: RealtimeKitClient, state: StandinRestState) -> None:
    state.sessions["other"] = StandinSession(id="other", meeting_id="another-meeting")

    session = client.get_session(SESSION)
    listed = client.list_sessions(MEETING)

    assert session.meeting_id == MEETING
    assert session.meeting_title == "Weekly sync"
    assert session.status == "ENDED"
    assert session.started_at == datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 6, 3, 10, 30, tzinfo=UTC)
    assert [s.id for s in listed] == [SESSION]
    assert {s.id for s in client.list_sessions()} == {SESSION, "other"}


@pytest.mark.parametrize("shape", ["documented", "flat"])
def test_session_details_in_either_shape(
    client: RealtimeKitClient, state: StandinRestState, shape: Any
) -> None:
    # Seed 003, "Fetch details of a session":
    # "SessionGetSessionDetailsResponse { data, success }
    #  data?: Data { session }
    #  session?: Session { id, associated_id, created_at, 12 more }"
    state.session_details_shape = shape

    session = client.get_session(SESSION)

    assert (session.id, session.meeting_id, session.status) == (SESSION, MEETING, "ENDED")
    assert session.ended_at == datetime(2026, 6, 3, 10, 30, tzinfo=UTC)


def test_standin_answers_the_documented_session_shape(
    standin: RealtimeKitStandin, state: StandinRestState
) -> None:
    url = f"{standin.api_base_url}/accounts/{ACCOUNT}/realtime/kit/{APP}/sessions/{SESSION}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:  # the local stand-in
        document = json.loads(response.read())
    assert document["data"]["session"]["id"] == SESSION
    assert document["data"]["session"]["associated_id"] == MEETING


def test_session_participants_are_listed_page_by_page(
    standin: RealtimeKitStandin, client: RealtimeKitClient, state: StandinRestState
) -> None:
    # Seed 003, "Fetch participants list of a session":
    # "GET/accounts/{account_id}/realtime/kit/{app_id}/sessions/{session_id}/participants"
    # "joined_at?: string ... left_at?: string ... duration?: number ... preset_name?: string"
    started = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
    state.sessions[SESSION].participants = [
        StandinParticipant(
            id=f"peer-{i:03d}",
            display_name=f"Zoë {i}",
            user_id=f"u-{i}",
            custom_participant_id=f"c-{i}",
            joined_at=started + timedelta(seconds=i),
            left_at=started + timedelta(minutes=30),
        )
        for i in range(7)
    ]

    people = client.list_participants(SESSION, per_page=3)

    assert [p.id for p in people] == [f"peer-{i:03d}" for i in range(7)]
    assert (people[0].user_id, people[0].custom_participant_id, people[0].display_name) == (
        "u-0",
        "c-0",
        "Zoë 0",
    )
    assert people[0].joined_at == started
    assert people[0].left_at == started + timedelta(minutes=30)
    assert people[0].duration == 30.0
    assert people[0].preset_name == "group_call_participant"
    assert len(rest_requests(standin, f"/sessions/{SESSION}/participants")) == 3


def test_get_transcript_reads_the_mixed_case_answer(client: RealtimeKitClient) -> None:
    default = client.get_transcript(SESSION)
    as_json = client.get_transcript(SESSION, format="JSON")

    assert default.session_id == SESSION  # from "sessionId"
    assert download(default.url) == TRANSCRIPT_CSV
    assert download(as_json.url) == TRANSCRIPT_JSON
    assert default.expiry is not None
    assert default.expiry > datetime.now(UTC)


def test_get_summary_and_chat(client: RealtimeKitClient) -> None:
    summary = client.get_summary(SESSION)
    chat = client.get_chat(SESSION)

    assert summary.session_id == SESSION
    assert download(summary.url) == SUMMARY
    assert download(chat.url) == CHAT
    assert chat.expiry is not None
    assert chat.expiry > datetime.now(UTC)
    assert chat.session_id is None  # the chat answer carries no session id


@pytest.mark.parametrize(
    ("answer", "expected_status"), [("empty", None), ("{}", None), ("sdk", "PROCESSING")]
)
def test_generate_summary_any_2xx_is_requested(
    standin: RealtimeKitStandin,
    client: RealtimeKitClient,
    state: StandinRestState,
    answer: Any,
    expected_status: str | None,
) -> None:
    # Seed 003, "Generate summary of Transcripts for the session":
    # "client.realtimeKit.sessions.generateSummaryOfTranscripts(stringappId, stringsessionId,
    #  SessionGenerateSummaryOfTranscriptsParams { account_id } params, RequestOptionsoptions?): void"
    hooked: list[str] = []
    state.on_summary_requested = hooked.append
    state.summary_answer = answer

    status = client.generate_summary(SESSION)

    assert status == expected_status
    assert state.summary_requests == [SESSION], "one POST: the answer is not retried"
    assert hooked == [SESSION]
    assert rest_requests(standin, f"/sessions/{SESSION}/summary") == [
        ("POST", f"/client/v4/accounts/{ACCOUNT}/realtime/kit/{APP}/sessions/{SESSION}/summary")
    ]


# -- webhooks --------------------------------------------------------------------------------------
def test_create_list_and_update_webhook(client: RealtimeKitClient, state: StandinRestState) -> None:
    created = client.create_webhook(
        "meeting-vault",
        "https://example.com/webhooks/realtimekit",
        ["meeting.ended", "recording.statusUpdate"],
    )
    updated = client.update_webhook(created.id, enabled=False, events=["meeting.summary"])
    listed = client.list_webhooks()

    assert created.enabled is True
    assert created.events == ("meeting.ended", "recording.statusUpdate")
    assert updated.enabled is False
    assert updated.events == ("meeting.summary",)
    assert updated.url == "https://example.com/webhooks/realtimekit"  # PATCH keeps what it was not given
    assert [(w.id, w.name, w.enabled) for w in listed] == [(created.id, "meeting-vault", False)]
    assert state.webhooks[created.id].events == ["meeting.summary"]


# -- the SDK's own models parse the stand-in's answers ---------------------------------------------
def test_sdk_models_parse_every_standin_answer(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    # Two answers differ from the SDK's models on purpose: GET /sessions/{id} nests the session
    # (``data: {session}``, as the API reference documents) and POST /summary answers ``void``.
    # Their SDK-model shapes are still served on request, and parsed here.
    state.session_details_shape = "flat"
    state.summary_answer = "sdk"
    kit = sdk_for(standin).realtime_kit
    ids: dict[str, Any] = {"account_id": ACCOUNT, "app_id": APP}

    recording = kit.recordings.get_one_recording(RECORDING, **ids).data
    recordings = kit.recordings.get_recordings(APP, account_id=ACCOUNT, meeting_id=MEETING)
    session = kit.sessions.get_session_details(SESSION, **ids).data
    sessions = kit.sessions.get_sessions(APP, account_id=ACCOUNT, associated_id=MEETING).data
    transcript = kit.sessions.get_session_transcripts(SESSION, format="CSV", **ids).data
    summary = kit.sessions.get_session_summary(SESSION, **ids).data
    chat = kit.sessions.get_session_chat(SESSION, **ids).data
    generated = kit.sessions.generate_summary_of_transcripts(SESSION, **ids).data
    webhook = kit.webhooks.create_webhook(
        APP, account_id=ACCOUNT, name="w", url="https://example.com/h", events=["meeting.started"]
    ).data
    webhooks = kit.webhooks.get_webhooks(APP, account_id=ACCOUNT).data
    edited = kit.webhooks.edit_webhook(webhook.id, enabled=False, **ids).data
    replaced = kit.webhooks.replace_webhook(
        webhook.id, name="w2", url="https://example.com/h2", events=["meeting.ended"], **ids
    ).data

    assert recording is not None
    assert isinstance(recording.download_url_expiry, datetime)
    assert recording.stop_reason is not None
    assert recording.stop_reason.reason == "ALL_PEERS_LEFT"
    assert recordings.paging.total_count == 1
    assert recordings.data[0].meeting is not None
    assert recordings.data[0].meeting.id == MEETING
    assert session is not None
    assert session.associated_id == MEETING
    assert sessions is not None
    assert sessions.sessions is not None
    assert [s.id for s in sessions.sessions] == [SESSION]
    assert transcript is not None
    assert (transcript.session_id, transcript.transcript_download_url[:7]) == (SESSION, "http://")
    assert summary is not None
    assert (summary.session_id, summary.summary_download_url[:7]) == (SESSION, "http://")
    assert chat is not None
    assert chat.chat_download_url.startswith("http://")
    assert generated is not None
    assert (generated.session_id, generated.status) == (SESSION, "PROCESSING")
    assert [w.id for w in webhooks] == [webhook.id]
    assert edited.enabled is False
    assert (replaced.name, replaced.events, replaced.enabled) == ("w2", ["meeting.ended"], True)


def test_client_tolerates_other_key_casing(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    """Casing drift (camelCase where the SDK expects snake_case and back) must not lose values."""

    def drifted(request: StandinRequest) -> tuple[int, Any] | None:
        if request.path.endswith("/transcript"):
            data = {
                "session_id": SESSION,
                "transcriptDownloadUrl": "http://x/t.csv",
                "transcriptDownloadUrlExpiry": "2026-06-10 10:30:00.051621Z",
            }
            return 200, {"success": True, "data": data}
        if request.path.endswith(f"/recordings/{RECORDING}"):
            data = {
                "recordingId": RECORDING,
                "status": "UPLOADED",
                "downloadUrl": "http://x/r.mp4",
                "fileSize": "2044680",
                "roomUUID": SESSION,
                "meetingId": MEETING,
                "outputFileName": "r.mp4",
            }
            return 200, {"success": True, "data": data}
        return None

    standin.rest_routes.insert(0, drifted)
    lenient = RealtimeKitClient(
        cloudflare.Cloudflare(api_token=TOKEN, base_url=standin.api_base_url, max_retries=0),
        account_id=ACCOUNT,
        app_id=APP,
    )

    link = lenient.get_transcript(SESSION)
    recording = lenient.get_recording(RECORDING)

    assert (link.url, link.session_id) == ("http://x/t.csv", SESSION)
    assert link.expiry == datetime(2026, 6, 10, 10, 30, 0, 51621, tzinfo=UTC)
    assert (recording.id, recording.download_url, recording.file_size) == (
        RECORDING,
        "http://x/r.mp4",
        2044680,
    )
    assert (recording.session_id, recording.meeting_id, recording.output_file_name) == (
        SESSION,
        MEETING,
        "r.mp4",
    )


# -- errors ----------------------------------------------------------------------------------------
def test_expired_files_answer_not_found(
    standin: RealtimeKitStandin, client: RealtimeKitClient, state: StandinRestState
) -> None:
    for name in ("rec.mp4", "transcript.csv", "summary.md", "chat.csv"):
        standin.files[name].available = False

    with pytest.raises(RealtimeKitNotFound, match=r"HTTP 404: Recording .* not found or expired") as caught:
        client.get_recording(RECORDING)
    with pytest.raises(RealtimeKitNotFound, match="Transcript for session"):
        client.get_transcript(SESSION)
    with pytest.raises(RealtimeKitNotFound, match="Summary for session"):
        client.get_summary(SESSION)
    with pytest.raises(RealtimeKitNotFound, match="Chat for session"):
        client.get_chat(SESSION)
    assert client.get_transcript(SESSION, format="JSON").url  # the JSON copy is still there
    assert (caught.value.status, caught.value.code) == (404, 404)
    assert isinstance(caught.value, MeetingVaultError)


def test_unknown_recording_is_not_found(client: RealtimeKitClient) -> None:
    with pytest.raises(RealtimeKitNotFound, match="Recording nope not found"):
        client.get_recording("nope")


def test_unknown_app_is_not_found(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    other_app = RealtimeKitClient(sdk_for(standin), account_id=ACCOUNT, app_id="another-app")

    with pytest.raises(RealtimeKitNotFound, match="HTTP 404: Not found"):
        other_app.get_session(SESSION)


def test_wrong_token_is_an_auth_error(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    with pytest.raises(RealtimeKitAuthError, match="HTTP 401: Unauthorized") as caught:
        client_for(standin, token="wrong").get_recording(RECORDING)

    assert caught.value.status == 401
    assert "wrong" not in str(caught.value)


def test_forbidden_is_an_auth_error(client: RealtimeKitClient, state: StandinRestState) -> None:
    state.inject_error(403, "Token lacks Realtime permission")

    with pytest.raises(RealtimeKitAuthError, match="HTTP 403: Token lacks Realtime permission"):
        client.get_session(SESSION)


def test_server_error_is_retried_by_the_sdk(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    state.inject_error(503, "Service unavailable")

    info = client_for(standin, max_retries=1).get_session(SESSION)

    assert info.id == SESSION
    assert len(rest_requests(standin, f"/sessions/{SESSION}")) == 2


def test_server_errors_after_retries_are_unavailable(
    standin: RealtimeKitStandin, state: StandinRestState
) -> None:
    state.inject_error(502, "Bad gateway", times=2)

    with pytest.raises(RealtimeKitUnavailable, match="HTTP 502: Bad gateway") as caught:
        client_for(standin, max_retries=1).get_chat(SESSION)

    assert caught.value.status == 502


def test_network_error_is_unavailable() -> None:
    sdk = cloudflare.Cloudflare(
        api_token=TOKEN, base_url=f"http://127.0.0.1:{free_port()}/client/v4", max_retries=0
    )

    with pytest.raises(RealtimeKitUnavailable, match="Connection error"):
        RealtimeKitClient(sdk, account_id=ACCOUNT, app_id=APP).get_recording(RECORDING)


def test_unsuccessful_envelope_is_an_error(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    standin.rest_routes.insert(
        0,
        lambda request: (
            (200, {"success": False, "error": {"code": 1, "message": "odd"}})
            if "summary" in request.path
            else None
        ),
    )

    with pytest.raises(RealtimeKitError, match="unsuccessful answer: odd"):
        RealtimeKitClient(
            cloudflare.Cloudflare(api_token=TOKEN, base_url=standin.api_base_url, max_retries=0),
            account_id=ACCOUNT,
            app_id=APP,
        ).get_summary(SESSION)


def test_rate_limit_after_retries_raises_with_retry_after(
    standin: RealtimeKitStandin, state: StandinRestState
) -> None:
    state.rate_limit = RateLimit(max_requests=0, window_seconds=1.0)  # every request is over the limit
    started = time.monotonic()

    with pytest.raises(RealtimeKitRateLimited, match="HTTP 429") as caught:
        client_for(standin, max_retries=2).get_recording(RECORDING)

    assert caught.value.retry_after == 1.0
    assert len(rest_requests(standin, f"/recordings/{RECORDING}")) == 3
    # The SDK waited Retry-After (1 s) before each retry; its own backoff would total under 1.5 s.
    assert time.monotonic() - started >= 2.0


def test_rate_limit_is_waited_out_by_the_sdk(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    state.rate_limit = RateLimit(max_requests=1, window_seconds=1.0)
    client = client_for(standin, max_retries=1)

    client.get_session(SESSION)
    session = client.get_session(SESSION)  # 429, Retry-After: 1, then accepted

    assert session.id == SESSION
    assert len(rest_requests(standin, f"/sessions/{SESSION}")) == 3


def test_standin_rate_limit_defaults_to_the_documented_limit() -> None:
    limit = RateLimit()
    admitted = [limit.admit(now=100.0 + n * 0.01) for n in range(250)]

    assert (limit.max_requests, limit.window_seconds) == (250, 10.0)
    assert admitted == [None] * 250
    assert limit.admit(now=103.0) == pytest.approx(7.0)
    assert limit.admit(now=110.0) is None


# -- configuration and the token secret ------------------------------------------------------------
def env_for(standin: RealtimeKitStandin, secret_arn: str) -> dict[str, str]:
    return {
        "REALTIMEKIT_ACCOUNT_ID": ACCOUNT,
        "REALTIMEKIT_APP_ID": APP,
        "REALTIMEKIT_API_TOKEN_SECRET_ARN": secret_arn,
        "REALTIMEKIT_API_BASE_URL": standin.api_base_url,
        "REALTIMEKIT_MAX_RETRIES": "0",
    }


@pytest.fixture
def clean_cache() -> Iterator[None]:
    clear_realtimekit_cache()
    yield
    clear_realtimekit_cache()


@pytest.mark.usefixtures("aws_env", "clean_cache")
def test_token_is_read_from_secrets_manager(standin: RealtimeKitStandin, state: StandinRestState) -> None:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name="realtimekit/api-token", SecretString=TOKEN + "\n")["ARN"]

        client = realtimekit_client_from_env(secrets, environ=env_for(standin, arn))

        assert client.get_recording(RECORDING).id == RECORDING
        assert (client.account_id, client.app_id) == (ACCOUNT, APP)


@pytest.mark.usefixtures("aws_env", "clean_cache")
def test_token_and_client_are_cached_until_cleared(
    standin: RealtimeKitStandin, state: StandinRestState, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name="realtimekit/api-token", SecretString=TOKEN)["ARN"]
        for name, value in env_for(standin, arn).items():
            monkeypatch.setenv(name, value)

        first = realtimekit_client_from_env()
        secrets.put_secret_value(SecretId=arn, SecretString="rotated-token")
        second = realtimekit_client_from_env()
        clear_realtimekit_cache()
        third = realtimekit_client_from_env()

        assert second is first  # token cached (max_age): same client, no new secret read
        assert third is not first
        assert second.get_session(SESSION).id == SESSION
        with pytest.raises(RealtimeKitAuthError):  # the stand-in still expects the old token
            third.get_session(SESSION)


@pytest.mark.usefixtures("aws_env", "clean_cache")
def test_missing_secret_is_a_configuration_error(standin: RealtimeKitStandin) -> None:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")

        with pytest.raises(ConfigurationError, match="API token secret"):
            realtimekit_client_from_env(secrets, environ=env_for(standin, "realtimekit/missing"))


def test_missing_settings_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="REALTIMEKIT_APP_ID"):
        realtimekit_client_from_env(object(), environ={"REALTIMEKIT_ACCOUNT_ID": ACCOUNT})


def test_ingest_path_does_not_import_the_sdk() -> None:
    code = (
        "import sys, functions.ingest.handler, shared.core.exceptions; sys.exit('cloudflare' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
