"""Signed bodies that fit the API's cap but not an EventBridge entry: stored first, then a pointer on
the bus; the consumers read the body back through it. moto does not enforce PutEvents' 256 KB, so every
entry handed to PutEvents is measured here with AWS's own calculation."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from local.lambda_runtime import invoke, load_handler
from local.signing import WebhookSigner
from shared import wiring
from shared.adapters.eventbridge import MAX_ENTRY_BYTES, entry_size
from shared.ingest.envelope import WebhookDetail
from shared.ingest.settings import MAX_BODY_BYTES_LIMIT
from tests.conftest import load_event
from tests.integration.conftest import MotoStack
from tests.support.webhooks import api_event, drain_as_sqs_event, response_json, signed_headers

ingest = load_handler("functions.ingest.handler.handler")
sessions = load_handler("functions.sessions.handler.handler")
PREFIX = "meetings/50c8940e-1b97-402a-97d6-2708b7feca41/sessions/05e57591-d89e-45c9-ae44-08dc1eaad0e0/"


@pytest.fixture(autouse=True)
def body_cap_at_its_maximum(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", str(MAX_BODY_BYTES_LIMIT))
    wiring.reset()


@pytest.fixture
def entries(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every entry PutEvents receives, after checking it against the real limit."""
    seen: list[dict[str, Any]] = []
    client = wiring.ingestor()._publisher.client  # type: ignore[attr-defined]
    real = client.put_events

    def put_events(**kwargs: Any) -> Any:
        for entry in kwargs["Entries"]:
            seen.append(entry)
            if entry_size(entry) > MAX_ENTRY_BYTES:  # what EventBridge would answer
                return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ValidationException"}]}
        return real(**kwargs)

    monkeypatch.setattr(client, "put_events", put_events)
    return seen


def control_characters_body() -> bytes:
    """64 KiB of \\x01: not JSON, carried as text whose every byte the bus detail escapes to
    ``\\u0001`` (6 bytes): 384 KiB."""
    return b"\x01" * (64 * 1024)


def backslash_body(fixture: str = "participant_joined.json") -> bytes:
    """A valid webhook padded to the body cap with backslashes: each is 2 bytes in the body, 2 in the
    parsed payload, 4 in the raw copy; 300 KB on the bus."""
    payload = load_event(fixture)
    payload["pad"] = ""
    room = MAX_BODY_BYTES_LIMIT - len(json.dumps(payload).encode()) - 16
    payload["pad"] = "\\" * (room // 2)
    return json.dumps(payload).encode()


def post(body: bytes, signer: WebhookSigner) -> dict[str, Any]:
    result: dict[str, Any] = invoke(
        ingest, api_event(body, signed_headers(signer, body)), function_name="ingest"
    )
    return result


def test_a_body_too_large_for_the_bus_is_stored_then_pointed_at(
    moto_stack: MotoStack, signer: WebhookSigner, entries: list[dict[str, Any]]
) -> None:
    body = backslash_body()
    assert len(body) <= MAX_BODY_BYTES_LIMIT  # the API takes it
    response = post(body, signer)
    assert response["statusCode"] == 202
    assert response_json(response)["bodySha256"] == hashlib.sha256(body).hexdigest()
    (entry,) = entries
    assert entry_size(entry) <= MAX_ENTRY_BYTES
    detail = json.loads(entry["Detail"])
    key = detail["bodyRef"]
    digest = hashlib.sha256(body).hexdigest()
    assert key == f"{PREFIX}events/20260603T100500.000Z_meeting.participantJoined_{digest[:16]}.json"
    assert moto_stack.objects(key) == {key: body}  # stored before the pointer was published
    assert detail["body"] == {"encoding": "utf-8", "data": ""}
    assert detail["payload"]["event"] == "meeting.participantJoined"
    assert detail["payload"]["meeting"]["id"] == "50c8940e-1b97-402a-97d6-2708b7feca41"
    assert "pad" not in detail["payload"]  # the large field stays in S3 only


def test_a_body_that_is_not_json_goes_under_unattributed(
    moto_stack: MotoStack, signer: WebhookSigner, entries: list[dict[str, Any]]
) -> None:
    body = control_characters_body()
    response = post(body, signer)
    assert response["statusCode"] == 202
    assert response_json(response)["valid"] is False
    (entry,) = entries
    assert entry_size(entry) <= MAX_ENTRY_BYTES
    digest = hashlib.sha256(body).hexdigest()
    key = f"unattributed/events/undated_unknown_{digest[:16]}.json"
    assert json.loads(entry["Detail"])["bodyRef"] == key
    assert moto_stack.objects() == {key: body}


def test_the_sessions_consumer_reads_the_body_through_the_pointer(
    moto_stack: MotoStack, signer: WebhookSigner, entries: list[dict[str, Any]]
) -> None:
    body = backslash_body()
    assert post(body, signer)["statusCode"] == 202
    event = drain_as_sqs_event(moto_stack.client("sqs"), moto_stack.resources.queue_urls["sessions"])
    assert invoke(sessions, event, function_name="sessions") == {"batchItemFailures": []}
    objects = moto_stack.objects(PREFIX)
    raw = [k for k in objects if "/events/" in k]
    assert len(raw) == 1
    assert objects[raw[0]] == body
    assert json.loads(objects[f"{PREFIX}participants.json"])[0]["name"] == "Mary Sue"


def test_a_pointer_still_reaches_the_queue_its_rules_name(
    moto_stack: MotoStack, signer: WebhookSigner, entries: list[dict[str, Any]]
) -> None:
    body = backslash_body("recording_uploaded.json")
    assert post(body, signer)["statusCode"] == 202
    assert json.loads(entries[0]["Detail"])["bodyRef"]
    event = drain_as_sqs_event(moto_stack.client("sqs"), moto_stack.resources.queue_urls["recordings"])
    (record,) = event["Records"]
    detail = WebhookDetail.model_validate(json.loads(record["body"])["detail"])
    from shared.fanout.records import WebhookQueueRecord

    resolved = wiring.detail_of(WebhookQueueRecord.model_validate(record))
    assert resolved.body.to_bytes() == body
    assert resolved.payload == json.loads(body)
    assert detail.body_ref is not None
    assert resolved.body_ref is None


def test_a_tampered_claim_check_is_refused(
    moto_stack: MotoStack, signer: WebhookSigner, entries: list[dict[str, Any]]
) -> None:
    body = control_characters_body()
    assert post(body, signer)["statusCode"] == 202
    key = json.loads(entries[0]["Detail"])["bodyRef"]
    moto_stack.client("s3").put_object(Bucket=moto_stack.names.bucket, Key=key, Body=b"{}")
    event = drain_as_sqs_event(moto_stack.client("sqs"), moto_stack.resources.queue_urls["sessions"])
    result = invoke(sessions, event, function_name="sessions")
    assert len(result["batchItemFailures"]) == 1  # retried, then the DLQ: never archived as the body


def test_no_202_when_the_claim_check_cannot_be_stored(
    moto_stack: MotoStack,
    signer: WebhookSigner,
    entries: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARCHIVE_BUCKET", "no-such-bucket")
    wiring.reset()
    body = control_characters_body()
    response = post(body, signer)
    assert response["statusCode"] == 503
    assert response_json(response)["error"] == "publish_failed"
    assert not moto_stack.objects()


def test_small_bodies_ride_on_the_bus_as_before(
    moto_stack: MotoStack, signer: WebhookSigner, entries: list[dict[str, Any]]
) -> None:
    body = json.dumps(load_event("participant_joined.json")).encode()
    assert post(body, signer)["statusCode"] == 202
    detail = json.loads(entries[0]["Detail"])
    assert "bodyRef" not in detail
    assert detail["body"]["data"] == body.decode()
    assert not moto_stack.objects()
