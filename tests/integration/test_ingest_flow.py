"""A signed webhook through ingest -> bus -> queues -> sessions consumer -> S3, in-process on moto."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from local.lambda_runtime import invoke, load_handler
from local.signing import WebhookSigner
from shared import wiring
from shared.ingest.envelope import WebhookDetail
from tests.conftest import event_body
from tests.integration.conftest import MotoStack
from tests.support.webhooks import (
    api_event,
    api_event_plain,
    drain_as_sqs_event,
    response_json,
    signed_headers,
)

ingest = load_handler("functions.ingest.handler.handler")
sessions = load_handler("functions.sessions.handler.handler")
ROUTE_NAMES = ("sessions", "recordings", "transcripts", "summaries", "chat")


def post(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = invoke(ingest, api_event(body, headers), function_name="ingest")
    return result


def run_sessions_consumer(stack: MotoStack) -> dict[str, Any]:
    event = drain_as_sqs_event(stack.client("sqs"), stack.resources.queue_urls["sessions"])
    result: dict[str, Any] = invoke(sessions, event, function_name="sessions")
    return result


def test_signed_webhook_lands_byte_for_byte_under_its_session(
    moto_stack: MotoStack, signer: WebhookSigner
) -> None:
    body = event_body("participant_joined.json")
    response = post(body, signed_headers(signer, body, **{"rtk-webhook-id": "wh-1"}))
    assert response["statusCode"] == 202
    assert response_json(response) == {
        "accepted": True,
        "bodySha256": hashlib.sha256(body).hexdigest(),
        "valid": True,
    }
    assert run_sessions_consumer(moto_stack) == {"batchItemFailures": []}
    prefix = "meetings/50c8940e-1b97-402a-97d6-2708b7feca41/sessions/05e57591-d89e-45c9-ae44-08dc1eaad0e0/"
    objects = moto_stack.objects(prefix)
    key = f"{prefix}events/20260603T100500.000Z_meeting.participantJoined_{hashlib.sha256(body).hexdigest()[:16]}.json"
    assert sorted(objects) == sorted(
        [
            key,
            f"{prefix}session.json",
            f"{prefix}participants.json",
            f"{prefix}participant_events.json",
            f"{prefix}index.html",
        ]
    )
    assert json.loads(objects[f"{prefix}participants.json"])[0]["name"] == "Mary Sue"
    assert objects[key] == body
    head = moto_stack.client("s3").head_object(Bucket=moto_stack.names.bucket, Key=key)
    assert head["Metadata"]["delivery-id"] == "delivery-1"
    assert head["Metadata"]["webhook-id"] == "wh-1"
    assert head["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()


def test_bus_event_carries_delivery_metadata_and_payload(
    moto_stack: MotoStack, signer: WebhookSigner
) -> None:
    body = event_body("meeting_transcript.json")
    assert post(body, signed_headers(signer, body))["statusCode"] == 202
    message = drain_as_sqs_event(moto_stack.client("sqs"), moto_stack.resources.queue_urls["transcripts"])[
        "Records"
    ][0]
    bus_event = json.loads(message["body"])
    assert bus_event["source"] == "realtimekit"
    assert bus_event["detail-type"] == "meeting.transcript"
    detail = WebhookDetail.model_validate(bus_event["detail"])
    assert detail.delivery.delivery_id == "delivery-1"
    assert detail.delivery.body_sha256 == hashlib.sha256(body).hexdigest()
    assert detail.payload == json.loads(body)


@pytest.mark.parametrize(
    ("fixture", "expected_queues"),
    [
        ("recording_uploaded.json", {"sessions", "recordings"}),
        ("recording_recording.json", {"sessions"}),
        ("recording_uploading.json", {"sessions"}),
        ("meeting_transcript.json", {"sessions", "transcripts"}),
        ("meeting_summary_flat.json", {"sessions", "summaries"}),
        ("chat_synced.json", {"sessions", "chat"}),
        ("meeting_started.json", {"sessions"}),
        ("livestreaming_status_dyte.json", {"sessions"}),
    ],
)
def test_rules_fan_out_to_the_right_queues(
    moto_stack: MotoStack, signer: WebhookSigner, fixture: str, expected_queues: set[str]
) -> None:
    body = event_body(fixture)
    assert post(body, signed_headers(signer, body))["statusCode"] == 202
    assert {name for name in ROUTE_NAMES if moto_stack.depth(name)} == expected_queues


def test_unknown_event_is_accepted_and_reaches_only_the_sessions_queue(
    moto_stack: MotoStack, signer: WebhookSigner
) -> None:
    body = b'{"event":"meeting.brandNew","meetingId":"m-1","sessionId":"s-1","x":1}'
    assert post(body, signed_headers(signer, body))["statusCode"] == 202
    assert {name for name in ROUTE_NAMES if moto_stack.depth(name)} == {"sessions"}
    run_sessions_consumer(moto_stack)
    (key, stored), *_ = moto_stack.objects("meetings/m-1/sessions/s-1/events/").items()
    assert "meeting.brandNew" in key
    assert stored == body


def test_signed_body_that_does_not_parse_is_kept_and_flagged(
    moto_stack: MotoStack, signer: WebhookSigner
) -> None:
    body = (
        b'{"event": "recording.statusUpdate", "recording": {"status": "UPLOADED"'  # truncated by the sender
    )
    response = post(body, signed_headers(signer, body))
    assert response["statusCode"] == 202
    assert response_json(response)["valid"] is False
    assert {name for name in ROUTE_NAMES if moto_stack.depth(name)} == {"sessions"}  # no worker sees it
    run_sessions_consumer(moto_stack)
    objects = moto_stack.objects()
    assert len(objects) == 1
    key, stored = next(iter(objects.items()))
    assert key.startswith("unattributed/events/")
    assert stored == body
    head = moto_stack.client("s3").head_object(Bucket=moto_stack.names.bucket, Key=key)
    assert head["Metadata"]["valid"] == "false"
    assert head["Metadata"]["parse-error"].startswith("body is not JSON")


def test_signed_body_flagged_invalid_is_kept_under_its_session_but_makes_no_session_record(
    moto_stack: MotoStack, signer: WebhookSigner
) -> None:
    """One odd field (not an id) makes the body ``valid: false``; its safe ids still name its session
    folder, where ``meeting-vault forget --session`` erases it, and nothing but the raw body is made."""
    payload = json.loads(event_body("meeting_transcript.json"))
    payload["transcriptDownloadUrlExpiry"] = "in 7 days"
    body = json.dumps(payload).encode()
    response = post(body, signed_headers(signer, body))
    assert response["statusCode"] == 202
    assert response_json(response)["valid"] is False
    assert {name for name in ROUTE_NAMES if moto_stack.depth(name)} == {"sessions"}  # no worker sees it
    assert run_sessions_consumer(moto_stack) == {"batchItemFailures": []}
    prefix = f"meetings/{payload['meeting']['id']}/sessions/{payload['meeting']['sessionId']}/"
    key = f"{prefix}events/undated_meeting.transcript_{hashlib.sha256(body).hexdigest()[:16]}.json"
    assert moto_stack.objects() == {key: body}  # no session.json, nothing under unattributed/
    head = moto_stack.client("s3").head_object(Bucket=moto_stack.names.bucket, Key=key)
    assert head["Metadata"]["valid"] == "false"
    assert "transcriptDownloadUrlExpiry" in head["Metadata"]["parse-error"]
    assert moto_stack.client("dynamodb").scan(TableName=moto_stack.names.sessions_table)["Items"] == []


def test_same_webhook_delivered_twice_leaves_one_object(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    body = event_body("meeting_ended.json")
    for delivery in ("first", "retry"):
        assert post(body, signed_headers(signer, body, **{"rtk-uuid": delivery}))["statusCode"] == 202
    assert run_sessions_consumer(moto_stack) == {"batchItemFailures": []}
    assert len([key for key in moto_stack.objects() if "/events/" in key]) == 1


def _stored_nothing(stack: MotoStack) -> bool:
    return not stack.objects() and not any(stack.depth(name) for name in ROUTE_NAMES)


def test_missing_signature_is_401_and_stores_nothing(moto_stack: MotoStack) -> None:
    body = event_body("meeting_started.json")
    response = post(body, {"Content-Type": "application/json"})
    assert response["statusCode"] == 401
    assert response_json(response)["error"] == "bad_signature"
    assert _stored_nothing(moto_stack)


def test_signature_from_another_key_is_401(moto_stack: MotoStack, other_signer: WebhookSigner) -> None:
    body = event_body("meeting_started.json")
    assert post(body, signed_headers(other_signer, body))["statusCode"] == 401
    assert _stored_nothing(moto_stack)


def test_tampered_body_is_401(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    body = event_body("meeting_started.json")
    headers = signed_headers(signer, body)
    assert post(body.replace(b"Weekly", b"Weakly"), headers)["statusCode"] == 401
    assert _stored_nothing(moto_stack)


def test_oversized_body_is_413(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    body = json.dumps({"event": "meeting.started", "pad": "x" * 70_000}).encode()
    assert post(body, signed_headers(signer, body))["statusCode"] == 413
    assert _stored_nothing(moto_stack)


def test_non_json_content_type_is_415(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    body = b"event=meeting.started"
    headers = signed_headers(signer, body, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert post(body, headers)["statusCode"] == 415
    assert _stored_nothing(moto_stack)


def test_plain_text_body_from_api_gateway_also_verifies(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    """Without binaryMediaTypes API Gateway passes text bodies as-is; UTF-8 bodies still verify."""
    body = event_body("meeting_started.json")
    response = invoke(
        ingest, api_event_plain(body.decode(), signed_headers(signer, body)), function_name="ingest"
    )
    assert response["statusCode"] == 202


def test_put_events_failure_is_503_so_the_sender_retries(
    moto_stack: MotoStack, signer: WebhookSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]}
    publisher: Any = wiring.ingestor()._publisher  # reach the adapter client to inject the failure
    monkeypatch.setattr(publisher.client, "put_events", lambda **_: failing)
    body = event_body("meeting_started.json")
    response = post(body, signed_headers(signer, body))
    assert response["statusCode"] == 503
    assert response_json(response)["error"] == "publish_failed"
    assert _stored_nothing(moto_stack)


def test_missing_bus_is_503(
    moto_stack: MotoStack, signer: WebhookSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    wiring.reset()
    body = event_body("meeting_started.json")
    assert post(body, signed_headers(signer, body))["statusCode"] == 503


def test_unreachable_key_url_is_503(
    moto_stack: MotoStack, signer: WebhookSigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEBHOOK_PUBLIC_KEY_PEM")
    monkeypatch.setenv("WEBHOOK_PUBLIC_KEY_URL", "http://127.0.0.1:9/.well-known/webhooks.json")
    wiring.reset()
    body = event_body("meeting_started.json")
    response = post(body, signed_headers(signer, body))
    assert response["statusCode"] == 503
    assert response_json(response)["error"] == "key_unavailable"
    assert _stored_nothing(moto_stack)


def test_other_paths_are_404(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    body = event_body("meeting_started.json")
    event = api_event(body, signed_headers(signer, body), path="/webhooks/other")
    assert invoke(ingest, event, function_name="ingest")["statusCode"] == 404


def test_poison_message_fails_only_itself(moto_stack: MotoStack, signer: WebhookSigner) -> None:
    body = event_body("meeting_started.json")
    post(body, signed_headers(signer, body))
    event = drain_as_sqs_event(moto_stack.client("sqs"), moto_stack.resources.queue_urls["sessions"])
    good = event["Records"][0]
    poison = dict(good, messageId="poison", body='{"not": "a bus event"}')
    result = invoke(sessions, {"Records": [good, poison]}, function_name="sessions")
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert len([key for key in moto_stack.objects() if "/events/" in key]) == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"event":"meeting.somethingNew","meetingId":"../../etc","sessionId":"s-1"}',
        b'{"event":"meeting.somethingNew","meetingId":"m-1","sessionId":"a/b"}',
        b'{"event":"meeting.somethingNew","meeting":{"id":"m-1","sessionId":"s-1\\n"}}',
        b'{"event":"meeting.somethingNew","meetingId":"m-1\\u0000","sessionId":"s-1"}',
        b'{"event":"livestreaming.statusUpdate","meeting":{"id":"..","sessionId":"s-1"}}',
    ],
)
def test_unsafe_ids_in_any_event_go_to_unattributed_with_no_session_record(
    moto_stack: MotoStack, signer: WebhookSigner, body: bytes
) -> None:
    """Every event type, unknown ones too, goes through the same safe-id check: the body is kept
    under unattributed/, no session item is written, and the consumer does not fail (it used to
    write a DynamoDB item, then fail three times into the DLQ)."""
    assert post(body, signed_headers(signer, body))["statusCode"] == 202
    assert run_sessions_consumer(moto_stack) == {"batchItemFailures": []}
    objects = moto_stack.objects()
    assert len(objects) == 1
    key, stored = next(iter(objects.items()))
    assert key.startswith("unattributed/events/")
    assert stored == body
    assert moto_stack.client("dynamodb").scan(TableName=moto_stack.names.sessions_table)["Items"] == []
