"""Only this stack's RealtimeKit app: signed webhooks of another app are refused at ingest (or, when
the body names no app, noted as foreign by the consumers, which then fetch nothing). On moto, with
the RealtimeKit stand-in answering the REST lookups."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.lambda_runtime import invoke, load_handler
from local.sample_meeting import SAMPLE_APP_ID, SampleMeeting
from local.signing import WebhookSigner
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState
from shared import wiring
from shared.archive.keys import session_prefix
from shared.ingest.envelope import WebhookDetail
from tests.integration.conftest import MotoStack, serve_meeting
from tests.support.webhooks import api_event, drain_as_sqs_event, response_json, signed_headers

ingest = load_handler("functions.ingest.handler.handler")
transcripts = load_handler("functions.transcripts.handler.handler")
MEETING = SampleMeeting()
OTHER_APP = "0ther-app-1d"
ROUTE_NAMES = ("sessions", "recordings", "transcripts", "summaries", "chat")
FUTURE = (datetime.now(UTC) + timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def post(body: bytes, signer: WebhookSigner) -> dict[str, Any]:
    result: dict[str, Any] = invoke(
        ingest, api_event(body, signed_headers(signer, body)), function_name="ingest"
    )
    return result


def started(meeting_id: str, app_id: str | None) -> bytes:
    payload: dict[str, Any] = {"event": "meeting.started", "meeting": copy.deepcopy(MEETING._meeting())}
    payload["meeting"]["id"] = meeting_id
    if app_id is None:
        del payload["meeting"]["organizedBy"]
    else:
        payload["meeting"]["organizedBy"]["id"] = app_id
    return json.dumps(payload).encode()


def bus_details(stack: MotoStack, route: str = "sessions") -> list[WebhookDetail]:
    event = drain_as_sqs_event(stack.client("sqs"), stack.resources.queue_urls[route])
    return [WebhookDetail.model_validate(json.loads(r["body"])["detail"]) for r in event["Records"]]


def nothing_stored(stack: MotoStack) -> bool:
    return not stack.objects() and not any(stack.depth(name) for name in ROUTE_NAMES)


def log_lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


# -- nobody to ask (local mode without --api-base-url) ---------------------------------------------


def test_the_configured_app_is_accepted(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    response = post(started(MEETING.meeting_id, SAMPLE_APP_ID), signer)
    assert response["statusCode"] == 202
    (detail,) = bus_details(moto_stack)
    assert (detail.app_id, detail.tenancy) == (SAMPLE_APP_ID, "configured")


def test_another_app_is_refused_outright_when_nobody_can_be_asked(
    moto_stack: MotoStack, signer: WebhookSigner, capsys: pytest.CaptureFixture[str]
) -> None:
    response = post(started(MEETING.meeting_id, OTHER_APP), signer)
    assert response["statusCode"] == 403
    assert response_json(response)["error"] == "foreign_app"
    assert OTHER_APP in response_json(response)["message"]
    assert nothing_stored(moto_stack)
    lines = log_lines(capsys.readouterr().out)
    assert any(
        line.get("message") == "webhook rejected" and line["reason"] == "foreign_app" for line in lines
    )


def test_a_body_without_app_id_is_the_local_apps_with_one_warning(
    moto_stack: MotoStack, signer: WebhookSigner, capsys: pytest.CaptureFixture[str]
) -> None:
    for meeting_id in ("m-1", "m-2"):
        assert post(started(meeting_id, None), signer)["statusCode"] == 202
    assert [d.tenancy for d in bus_details(moto_stack)] == ["local", "local"]
    warnings = [
        line for line in log_lines(capsys.readouterr().out) if "names no app id" in line.get("message", "")
    ]
    assert len(warnings) == 1


# -- asking RealtimeKit (the stand-in) --------------------------------------------------------------


@pytest.fixture
def rest(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    """The stand-in serves app "local-app"; the stack is configured for that app only, so the sample
    meeting's bodies (which name the sample app id) differ and ingest has to ask."""
    for running, state in serve_meeting(moto_stack, monkeypatch, MEETING):
        monkeypatch.setenv("REALTIMEKIT_APP_IDS", state.app_id)
        wiring.reset()
        yield running, state


def lookups(standin: RealtimeKitStandin) -> list[str]:
    return [path for method, path in standin.log.requests if "/meetings/" in path]


def test_a_differing_id_whose_meeting_is_ours_is_accepted_loudly_once(
    moto_stack: MotoStack,
    signer: WebhookSigner,
    rest: tuple[RealtimeKitStandin, StandinRestState],
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin, state = rest
    body = started(MEETING.meeting_id, SAMPLE_APP_ID)
    for _ in range(3):
        assert post(body, signer)["statusCode"] == 202
    assert [d.tenancy for d in bus_details(moto_stack)] == ["confirmed"] * 3
    assert lookups(standin) == [
        f"/client/v4/accounts/{state.account_id}/realtime/kit/{state.app_id}/meetings/{MEETING.meeting_id}"
    ]
    lines = log_lines(capsys.readouterr().out)
    loud = [line for line in lines if line.get("message", "").startswith("APP ID MISMATCH")]
    assert len(loud) == 1
    assert loud[0]["level"] == "WARNING"
    assert loud[0]["body_app_id"] == SAMPLE_APP_ID


def test_a_differing_id_whose_meeting_is_not_ours_is_403_and_asked_once(
    moto_stack: MotoStack, signer: WebhookSigner, rest: tuple[RealtimeKitStandin, StandinRestState]
) -> None:
    standin, _ = rest
    body = started("someone-elses-meeting", OTHER_APP)
    for _ in range(2):
        response = post(body, signer)
        assert response["statusCode"] == 403
        assert response_json(response)["error"] == "foreign_app"
    assert len(lookups(standin)) == 1
    assert nothing_stored(moto_stack)


def legacy_recording_update(recording_id: str, app_id: str) -> bytes:
    """Dyte's UPLOADED shape: ``roomUUID``, ``organizationId`` and ``recordingId``, no meeting id."""
    return json.dumps(
        {
            "event": "recording.statusUpdate",
            "recording": {
                "id": recording_id,
                "recordingId": recording_id,
                "organizationId": app_id,
                "roomUUID": MEETING.session_id,
                "status": "UPLOADED",
                "startedTime": "2023-04-14 04:45:37.637221Z",
                "stoppedTime": "2023-04-14 04:46:08.306221Z",
                "fileSize": 216787,
            },
        }
    ).encode()


def recording_lookups(standin: RealtimeKitStandin) -> list[str]:
    return [path for method, path in standin.log.requests if "/recordings/" in path]


def test_a_legacy_recording_update_naming_another_app_is_checked_by_its_recording(
    moto_stack: MotoStack, signer: WebhookSigner, rest: tuple[RealtimeKitStandin, StandinRestState]
) -> None:
    standin, state = rest
    body = legacy_recording_update(MEETING.recording_id, SAMPLE_APP_ID)
    for _ in range(2):
        assert post(body, signer)["statusCode"] == 202
    assert [d.tenancy for d in bus_details(moto_stack)] == ["confirmed"] * 2
    assert recording_lookups(standin) == [
        f"/client/v4/accounts/{state.account_id}/realtime/kit/{state.app_id}/recordings/{MEETING.recording_id}"
    ]


def test_a_legacy_recording_update_of_a_recording_not_ours_is_403(
    moto_stack: MotoStack, signer: WebhookSigner, rest: tuple[RealtimeKitStandin, StandinRestState]
) -> None:
    standin, _ = rest
    response = post(legacy_recording_update("someone-elses-recording", OTHER_APP), signer)
    assert response["statusCode"] == 403
    assert response_json(response)["error"] == "foreign_app"
    assert len(recording_lookups(standin)) == 1
    assert nothing_stored(moto_stack)


@pytest.mark.parametrize(
    ("meeting_id", "status"), [(MEETING.meeting_id, 202), ("someone-elses-meeting", 403)]
)
def test_a_body_flagged_invalid_naming_another_app_is_checked_by_its_meeting(
    moto_stack: MotoStack,
    signer: WebhookSigner,
    rest: tuple[RealtimeKitStandin, StandinRestState],
    meeting_id: str,
    status: int,
) -> None:
    standin, _ = rest
    payload = json.loads(started(meeting_id, OTHER_APP))
    payload["meeting"]["startedAt"] = "soon"  # one odd field: valid: false
    response = post(json.dumps(payload).encode(), signer)
    assert response["statusCode"] == status
    (asked,) = lookups(standin)
    assert asked.endswith(f"/meetings/{meeting_id}")
    if status == 202:
        (detail,) = bus_details(moto_stack)
        assert (detail.valid, detail.tenancy) == (False, "confirmed")
    else:
        assert nothing_stored(moto_stack)


def test_another_app_with_nothing_to_check_is_accepted_unverified(
    moto_stack: MotoStack,
    signer: WebhookSigner,
    rest: tuple[RealtimeKitStandin, StandinRestState],
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin, _ = rest
    body = json.dumps({"event": "meeting.somethingNew", "organizedBy": {"id": OTHER_APP}}).encode()
    assert post(body, signer)["statusCode"] == 202
    (detail,) = bus_details(moto_stack)
    assert detail.tenancy == "unverified"
    assert lookups(standin) == []
    assert recording_lookups(standin) == []
    lines = log_lines(capsys.readouterr().out)
    assert any("no meeting or recording to check" in line.get("message", "") for line in lines)


def test_realtimekit_unreachable_is_503_so_the_sender_retries(
    moto_stack: MotoStack, signer: WebhookSigner, rest: tuple[RealtimeKitStandin, StandinRestState]
) -> None:
    _, state = rest
    state.inject_error(502, "Bad gateway")
    body = started(MEETING.meeting_id, SAMPLE_APP_ID)
    response = post(body, signer)
    assert response["statusCode"] == 503
    assert response_json(response)["error"] == "app_check_unavailable"
    assert nothing_stored(moto_stack)
    assert post(body, signer)["statusCode"] == 202  # the retry, once RealtimeKit answers


def test_no_answer_at_all_is_503(
    moto_stack: MotoStack, signer: WebhookSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv("REALTIMEKIT_APP_IDS", "local-app")
    monkeypatch.setenv("REALTIMEKIT_ACCOUNT_ID", "local-account")
    monkeypatch.setenv("REALTIMEKIT_API_TOKEN_SECRET_ARN", moto_stack.names.api_token_secret)
    monkeypatch.setenv("REALTIMEKIT_API_BASE_URL", f"http://127.0.0.1:{free_port()}/client/v4")
    wiring.reset()
    response = post(started(MEETING.meeting_id, SAMPLE_APP_ID), signer)
    assert response["statusCode"] == 503
    assert nothing_stored(moto_stack)


# -- no app id in the body: the consumers ask before they fetch --------------------------------------


def transcript_body(standin: RealtimeKitStandin, *, session_id: str) -> bytes:
    urls = {name: f"{standin.base_url}/files/{name}" for name in MEETING.files()}
    (payload,) = [p for p in MEETING.webhooks(urls) if p["event"] == "meeting.transcript"]
    del payload["meeting"]["organizedBy"]
    payload["meeting"]["sessionId"] = session_id
    payload["transcriptDownloadUrlExpiry"] = FUTURE
    return json.dumps(payload).encode()


def run_transcripts(stack: MotoStack) -> dict[str, Any]:
    event = drain_as_sqs_event(stack.client("sqs"), stack.resources.queue_urls["transcripts"])
    assert len(event["Records"]) == 1
    result: dict[str, Any] = invoke(transcripts, event, function_name="transcripts", timeout_seconds=120)
    return result


def test_a_session_unknown_to_our_app_is_noted_foreign_and_nothing_is_fetched(
    moto_stack: MotoStack, signer: WebhookSigner, rest: tuple[RealtimeKitStandin, StandinRestState]
) -> None:
    standin, _ = rest
    body = transcript_body(standin, session_id="someone-elses-session")
    response = post(body, signer)
    assert response["statusCode"] == 202
    assert run_transcripts(moto_stack) == {"batchItemFailures": []}
    assert [path for _, path in standin.log.requests if "/files/" in path] == []
    assert [path for _, path in standin.log.requests if path.endswith("/sessions/someone-elses-session")]
    prefix = session_prefix(MEETING.meeting_id, "someone-elses-session")
    objects = moto_stack.objects()
    (note_key,) = objects
    assert note_key.startswith(prefix + "events/")
    assert note_key.endswith(".foreign.json")
    note = json.loads(objects[note_key])
    assert (note["verdict"], note["downloaded"]) == ("foreign", False)
    table = moto_stack.client("dynamodb").scan(TableName=moto_stack.names.sessions_table)
    assert table["Count"] == 0  # nothing in the session record


def test_a_session_our_app_knows_is_archived_as_usual(
    moto_stack: MotoStack, signer: WebhookSigner, rest: tuple[RealtimeKitStandin, StandinRestState]
) -> None:
    standin, _ = rest
    response = post(transcript_body(standin, session_id=MEETING.session_id), signer)
    assert response["statusCode"] == 202
    assert run_transcripts(moto_stack) == {"batchItemFailures": []}
    keys = set(moto_stack.objects(session_prefix(MEETING.meeting_id, MEETING.session_id)))
    assert any(key.endswith("transcript/transcript.csv") or "/transcript/" in key for key in keys)
    assert not any(key.endswith(".foreign.json") for key in keys)
