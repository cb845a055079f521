"""Recordings consumer on moto + the RealtimeKit stand-in over loopback HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.lambda_runtime import invoke, load_handler
from local.sample_meeting import SampleMeeting
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState
from shared.archive.keys import session_prefix
from shared.ingest.envelope import build_detail
from tests.integration.conftest import MotoStack, serve_meeting
from tests.support.webhooks import bus_record

recordings = load_handler("functions.recordings.handler.handler")
MEETING = SampleMeeting(recording_bytes=6 * 1024 * 1024 + 5, audio_bytes=300_001)
FILES = MEETING.files()
FOLDER = f"{session_prefix(MEETING.meeting_id, MEETING.session_id)}recordings/{MEETING.recording_id}/"


@pytest.fixture
def standin(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    yield from serve_meeting(moto_stack, monkeypatch, MEETING)


def uploaded(standin: RealtimeKitStandin, **overrides: Any) -> Any:
    urls = {name: f"{standin.base_url}/files/{name}" for name in FILES}
    payload = next(p for p in MEETING.webhooks(urls) if p.get("recording", {}).get("status") == "UPLOADED")
    future = (datetime.now(UTC) + timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    payload["recording"].update({"downloadUrlExpiry": future, **overrides})
    payload["recording"] = {k: v for k, v in payload["recording"].items() if v is not None}
    body = json.dumps(payload).encode()
    return build_detail(
        body, received_at=datetime.now(UTC), delivery_id="d", webhook_id="w", signature_header="rtk-signature"
    )


def consume(*details: Any) -> dict[str, Any]:
    records = [bus_record(d, message_id=f"m-{i}") for i, d in enumerate(details)]
    result: dict[str, Any] = invoke(
        recordings, {"Records": records}, function_name="recordings", timeout_seconds=900
    )
    return result


def downloads(standin: RealtimeKitStandin, name: str) -> int:
    return standin.log.requests.count(("GET", f"/files/{name}"))


def rest_calls(standin: RealtimeKitStandin) -> int:
    return sum(1 for method, path in standin.log.requests if "/recordings/" in path and method == "GET")


def manifest(stack: MotoStack) -> dict[str, Any]:
    key = session_prefix(MEETING.meeting_id, MEETING.session_id) + "session.json"
    return json.loads(stack.objects(key)[key])


def test_uploaded_recording_and_audio_land_byte_for_byte(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    assert consume(uploaded(running)) == {"batchItemFailures": []}
    objects = moto_stack.objects(FOLDER)
    assert objects == {
        FOLDER + "weekly-sync.mp4": FILES["recording.mp4"][0],
        FOLDER + "weekly-sync-audio.mp3": FILES["recording.mp3"][0],
    }
    s3 = moto_stack.client("s3")
    assert (
        s3.head_object(Bucket=moto_stack.names.bucket, Key=FOLDER + "weekly-sync.mp4")["ContentType"]
        == "video/mp4"
    )
    assert (
        s3.head_object(Bucket=moto_stack.names.bucket, Key=FOLDER + "weekly-sync-audio.mp3")["ContentType"]
        == "audio/mpeg"
    )
    artifacts = {a["name"]: a for a in manifest(moto_stack)["artifacts"]}
    video = artifacts[f"recording/{MEETING.recording_id}/video"]
    assert video["state"] == "archived"
    assert video["bytes"] == MEETING.recording_bytes
    assert video["sha256"] == hashlib.sha256(FILES["recording.mp4"][0]).hexdigest()
    assert artifacts[f"recording/{MEETING.recording_id}/audio"]["bytes"] == MEETING.audio_bytes
    assert rest_calls(running) == 0  # the webhook's URLs were valid


def test_expired_url_is_refreshed_through_the_rest_api(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert consume(uploaded(running, downloadUrlExpiry=past)) == {"batchItemFailures": []}
    assert rest_calls(running) == 1
    assert moto_stack.objects(FOLDER)[FOLDER + "weekly-sync.mp4"] == FILES["recording.mp4"][0]


def test_url_answering_404_is_refreshed(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    detail = uploaded(running, downloadUrl=f"{running.base_url}/files/stale-link.mp4")
    assert consume(detail) == {"batchItemFailures": []}
    assert ("GET", "/files/stale-link.mp4") in running.log.requests
    assert rest_calls(running) == 1
    assert moto_stack.objects(FOLDER)[FOLDER + "weekly-sync.mp4"] == FILES["recording.mp4"][0]


def test_webhook_without_urls_is_completed_from_the_rest_api(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    assert consume(uploaded(running, downloadUrl=None, audioDownloadUrl=None, downloadUrlExpiry=None)) == {
        "batchItemFailures": []
    }
    assert set(moto_stack.objects(FOLDER)) == {FOLDER + "weekly-sync.mp4", FOLDER + "weekly-sync-audio.mp3"}


def test_recording_realtimekit_no_longer_has_fails_plainly(moto_stack: MotoStack, standin: Any) -> None:
    running, state = standin
    running.files["recording.mp4"].available = False
    state.recordings.clear()
    result = consume(uploaded(running))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}  # -> DLQ after maxReceiveCount
    assert moto_stack.objects(FOLDER) == {}
    failed = {a["name"]: a for a in manifest(moto_stack)["artifacts"]}[
        f"recording/{MEETING.recording_id}/video"
    ]
    assert failed["state"] == "failed"
    assert failed["reason"] == "gone"
    s3 = moto_stack.client("s3")
    assert s3.list_multipart_uploads(Bucket=moto_stack.names.bucket).get("Uploads", []) == []


def test_same_event_twice_downloads_once(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    detail = uploaded(running)
    assert consume(detail) == {"batchItemFailures": []}
    assert consume(detail) == {"batchItemFailures": []}
    assert downloads(running, "recording.mp4") == 1
    assert len(moto_stack.objects(FOLDER)) == 2


def test_archived_object_with_matching_size_and_checksum_is_not_downloaded_again(
    moto_stack: MotoStack, standin: Any
) -> None:
    running, _ = standin
    assert consume(uploaded(running)) == {"batchItemFailures": []}
    ddb = moto_stack.client("dynamodb")  # forget the idempotency records: only the object remains
    for item in ddb.scan(TableName=moto_stack.names.idempotency_table)["Items"]:
        ddb.delete_item(TableName=moto_stack.names.idempotency_table, Key={"id": item["id"]})
    assert consume(uploaded(running)) == {"batchItemFailures": []}
    assert downloads(running, "recording.mp4") == 1


def test_url_outside_the_allowlist_is_refused_and_nothing_written(
    moto_stack: MotoStack, standin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, _ = standin
    detail = uploaded(running, downloadUrl="http://169.254.169.254/latest/meta-data/recording.mp4")
    assert consume(detail) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert moto_stack.objects(FOLDER) == {}
