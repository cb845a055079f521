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


def test_url_answering_an_error_page_with_200_is_refreshed(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    page = running.host_file("link-expired.mp4", b"<!DOCTYPE html><html>Link expired</html>", "text/html")
    assert consume(uploaded(running, downloadUrl=page)) == {"batchItemFailures": []}
    assert ("GET", "/files/link-expired.mp4") in running.log.requests
    assert rest_calls(running) == 1
    assert moto_stack.objects(FOLDER)[FOLDER + "weekly-sync.mp4"] == FILES["recording.mp4"][0]


def test_webhook_without_urls_is_completed_from_the_rest_api(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    assert consume(uploaded(running, downloadUrl=None, audioDownloadUrl=None, downloadUrlExpiry=None)) == {
        "batchItemFailures": []
    }
    assert set(moto_stack.objects(FOLDER)) == {FOLDER + "weekly-sync.mp4", FOLDER + "weekly-sync-audio.mp3"}


def test_webhook_without_audio_url_asks_the_rest_api_once_for_the_audio_file(
    moto_stack: MotoStack, standin: Any
) -> None:
    """GIVEN an UPLOADED webhook with a valid downloadUrl and no audioDownloadUrl (it "can" carry
    one, not must) WHEN it is consumed THEN GET /recordings/{id} is asked once and its audio kept."""
    running, _ = standin
    assert consume(uploaded(running, audioDownloadUrl=None)) == {"batchItemFailures": []}
    assert rest_calls(running) == 1
    assert moto_stack.objects(FOLDER) == {
        FOLDER + "weekly-sync.mp4": FILES["recording.mp4"][0],
        FOLDER + "weekly-sync-audio.mp3": FILES["recording.mp3"][0],
    }
    artifacts = {a["name"]: a for a in manifest(moto_stack)["artifacts"]}
    assert artifacts[f"recording/{MEETING.recording_id}/audio"]["state"] == "archived"


def test_recording_without_an_audio_file_needs_one_rest_answer(moto_stack: MotoStack, standin: Any) -> None:
    running, state = standin
    state.recordings[MEETING.recording_id].audio_file_name = None  # started without audio_config
    assert consume(uploaded(running, audioDownloadUrl=None)) == {"batchItemFailures": []}
    assert rest_calls(running) == 1
    assert set(moto_stack.objects(FOLDER)) == {FOLDER + "weekly-sync.mp4"}


def test_failed_audio_lookup_keeps_the_video_and_is_retried_by_the_queue(
    moto_stack: MotoStack, standin: Any
) -> None:
    running, state = standin
    state.inject_error(503, "Service Unavailable")
    detail = uploaded(running, audioDownloadUrl=None)
    assert consume(detail) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert set(moto_stack.objects(FOLDER)) == {FOLDER + "weekly-sync.mp4"}
    artifacts = {a["name"]: a for a in manifest(moto_stack)["artifacts"]}
    assert artifacts[f"recording/{MEETING.recording_id}/video"]["state"] == "archived"
    assert f"recording/{MEETING.recording_id}/audio" not in artifacts

    assert consume(detail) == {"batchItemFailures": []}  # the SQS retry
    assert downloads(running, "recording.mp4") == 1  # the video is not copied again
    assert moto_stack.objects(FOLDER)[FOLDER + "weekly-sync-audio.mp3"] == FILES["recording.mp3"][0]
    artifacts = {a["name"]: a for a in manifest(moto_stack)["artifacts"]}
    assert artifacts[f"recording/{MEETING.recording_id}/audio"]["state"] == "archived"


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


# -- legacy updates without a meeting id -----------------------------------------------------------
def legacy(status: str, recording_id: str = MEETING.recording_id) -> Any:
    """Dyte's recording.statusUpdate as it may arrive: only roomUUID, organizationId, recordingId."""
    payload = {
        "event": "recording.statusUpdate",
        "recording": {
            "recordingId": recording_id,
            "roomUUID": MEETING.session_id,
            "organizationId": "c94c437b-592a-4a39-b9e2-47ef1451e43b",
            "status": status,
        },
    }
    return build_detail(
        json.dumps(payload).encode(),
        received_at=datetime.now(UTC),
        delivery_id=f"d-{status}",
        webhook_id="w",
        signature_header="rtk-signature",
    )


def bus_event(detail: Any) -> dict[str, Any]:
    return {
        "source": "realtimekit",
        "detail-type": detail.detail_type,
        "detail": json.loads(detail.to_json()),
    }


def test_legacy_updates_without_meeting_id_reach_the_recordings_consumer() -> None:
    from moto.events.models import EventPattern

    from shared.fanout.routing import RECORDINGS

    pattern = EventPattern.load(json.dumps(RECORDINGS.event_pattern))
    for status in ("UPLOADING", "UPLOADED"):
        detail = legacy(status)
        assert (detail.valid, detail.meeting_id, detail.session_id) == (True, None, MEETING.session_id)
        assert pattern.matches_event(bus_event(detail))  # type: ignore[arg-type]
    # An ordinary UPLOADING (with its meeting id) still does not wake the recordings consumer.
    urls = {name: f"https://files.test/{name}" for name in FILES}
    uploading = next(p for p in MEETING.webhooks(urls) if p.get("recording", {}).get("status") == "UPLOADING")
    detail = build_detail(
        json.dumps(uploading).encode(),
        received_at=datetime.now(UTC),
        delivery_id="d",
        webhook_id="w",
        signature_header="rtk-signature",
    )
    assert not pattern.matches_event(bus_event(detail))  # type: ignore[arg-type]


def test_legacy_updates_are_placed_through_get_recording_and_archived(
    moto_stack: MotoStack, standin: Any
) -> None:
    # Seed 003, "Fetch details of a recording": "GET/accounts/{account_id}/realtime/kit/{app_id}/
    # recordings/{recording_id}" with "session_id: string | null  ID of the meeting session this
    # recording is for."; the meeting comes from "Fetch details of a session" ("associated_id").
    sessions = load_handler("functions.sessions.handler.handler")
    updates = [legacy("UPLOADING"), legacy("UPLOADED")]

    # The sessions consumer leaves them to the recordings consumer: nothing under unattributed/.
    invoke(sessions, {"Records": [bus_record(d) for d in updates]}, function_name="sessions")
    assert moto_stack.objects("unattributed/") == {}
    assert consume(*updates) == {"batchItemFailures": []}

    objects = moto_stack.objects(FOLDER)
    assert objects[FOLDER + "weekly-sync.mp4"] == FILES["recording.mp4"][0]
    events_prefix = session_prefix(MEETING.meeting_id, MEETING.session_id) + "events/"
    raw = moto_stack.objects(events_prefix)
    assert sorted(json.loads(body)["recording"]["status"] for body in raw.values()) == [
        "UPLOADED",
        "UPLOADING",
    ]
    assert manifest(moto_stack)["recordings"][0]["statuses"] == ["UPLOADING", "UPLOADED"]
    assert moto_stack.objects("unattributed/") == {}


def test_legacy_update_of_an_unknown_recording_stays_unattributed(
    moto_stack: MotoStack, standin: Any
) -> None:
    assert consume(legacy("UPLOADED", recording_id="not-ours")) == {"batchItemFailures": []}
    kept = moto_stack.objects("unattributed/")
    assert len(kept) == 1
    assert json.loads(next(iter(kept.values())))["recording"]["recordingId"] == "not-ours"
    assert moto_stack.objects("meetings/") == {}
