from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from shared.ingest.envelope import UNPARSED_DETAIL_TYPE, RawBody, WebhookDetail, build_detail
from tests.conftest import event_body

NOW = datetime(2026, 6, 3, 10, 31, tzinfo=UTC)


def detail_of(body: bytes) -> WebhookDetail:
    return build_detail(
        body, received_at=NOW, delivery_id="d-1", webhook_id="w-1", signature_header="rtk-signature"
    )


def test_valid_body_carries_ids_metadata_and_exact_bytes() -> None:
    body = event_body("recording_uploaded.json")
    detail = detail_of(body)
    assert detail.valid
    assert detail.parse_error is None
    assert detail.detail_type == "recording.statusUpdate"
    assert detail.meeting_id == "50c8940e-1b97-402a-97d6-2708b7feca41"
    assert detail.session_id == "05e57591-d89e-45c9-ae44-08dc1eaad0e0"
    assert detail.delivery.body_sha256 == hashlib.sha256(body).hexdigest()
    assert detail.delivery.delivery_id == "d-1"
    assert detail.body.to_bytes() == body
    assert detail.payload == json.loads(body)


def test_detail_round_trips_through_json() -> None:
    detail = detail_of(event_body("participant_joined.json"))
    again = WebhookDetail.model_validate_json(detail.to_json())
    assert again == detail


def test_non_json_body_is_kept_and_flagged() -> None:
    detail = detail_of(b"this is { not json")
    assert not detail.valid
    assert detail.parse_error is not None
    assert detail.parse_error.startswith("body is not JSON")
    assert detail.detail_type == UNPARSED_DETAIL_TYPE
    assert detail.body.to_bytes() == b"this is { not json"


def test_invalid_utf8_is_carried_as_base64() -> None:
    raw = b'{"event":"meeting.started","x":"\xff\xfe"}'
    detail = detail_of(raw)
    assert not detail.valid
    assert detail.body.encoding == "base64"
    assert detail.body.to_bytes() == raw


def test_known_event_missing_ids_is_flagged_but_keeps_its_name() -> None:
    detail = detail_of(b'{"event":"meeting.started","meeting":{"title":"x"}}')
    assert not detail.valid
    assert detail.event == "meeting.started"
    assert detail.detail_type == "meeting.started"
    assert detail.meeting_id is None


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        # one odd field that is no id: the ids still name the session
        (
            b'{"event":"meeting.transcript","meeting":{"id":"m-1","sessionId":"s-1"},'
            b'"transcriptDownloadUrlExpiry":"in 7 days"}',
            ("m-1", "s-1"),
        ),
        (
            b'{"event":"meeting.started","meeting":{"id":"m-1","sessionId":"s-1","startedAt":"soon"}}',
            ("m-1", "s-1"),
        ),
        (
            b'{"event":"recording.statusUpdate","recording":{"id":"r-1","meetingId":"m-1",'
            b'"roomUUID":"s-1","status":7}}',
            ("m-1", "s-1"),
        ),
        # an unsafe id anywhere the models look: no folder at all
        (b'{"event":"meeting.started","meeting":{"id":"m-1","sessionId":"../s"}}', (None, None)),
        (
            b'{"event":"recording.statusUpdate","recording":{"id":"../r","meetingId":"m-1","roomUUID":"s-1"}}',
            (None, None),
        ),
        (b'{"event":"meeting.started","meeting":{"id":7,"sessionId":"s-1"}}', (None, None)),
        # flat ids on an event whose model declares none are not read (as the models do not)
        (b'{"event":"meeting.started","meetingId":"m-1","sessionId":"s-1"}', (None, None)),
        (b"[1, 2]", (None, None)),
    ],
)
def test_a_refused_body_keeps_the_safe_ids_it_names(body: bytes, ids: tuple[str | None, str | None]) -> None:
    detail = detail_of(body)
    assert not detail.valid
    assert (detail.meeting_id, detail.session_id) == ids


def test_strange_event_names_do_not_become_detail_types() -> None:
    detail = detail_of(json.dumps({"event": "x" * 300, "meetingId": "m", "sessionId": "s"}).encode())
    assert detail.detail_type == UNPARSED_DETAIL_TYPE


def test_raw_body_chooses_utf8_when_possible() -> None:
    assert RawBody.of("héllo".encode()).encoding == "utf-8"
    assert RawBody.of(b"\xc3\x28").encoding == "base64"


@pytest.mark.parametrize(
    "body",
    [
        b'{"\xed\xa0\x80event": "meeting.chatSynced", "meetingId": "m", "sessionId": "s"}',  # UTF-8-encoded surrogate
        b'{"event": "meeting.started", "meeting": {"id": "m", "sessionId": "s", "title": "\\ud800"}}',
        b'{"event": "meeting.somethingNew", "x": ["\\uDFFF"]}',
    ],
)
def test_bodies_with_lone_surrogates_are_kept_as_raw_bytes(body: bytes) -> None:
    """Found by the full hostile-input run: the bus detail of such a body could not be serialized
    and the ingest function crashed (a 5xx, retried forever)."""
    detail = build_detail(body, received_at=NOW, delivery_id=None, webhook_id=None, signature_header="x")
    assert detail.valid is False
    assert detail.payload is None
    assert WebhookDetail.model_validate_json(detail.to_json()).body.to_bytes() == body


def test_escaped_surrogate_pairs_are_ordinary_text() -> None:
    body = (
        b'{"event": "meeting.started", "meeting": {"id": "m", "sessionId": "s", "title": "\\ud83d\\ude00"}}'
    )
    detail = build_detail(body, received_at=NOW, delivery_id=None, webhook_id=None, signature_header="x")
    assert detail.valid is True
    assert detail.payload["meeting"]["title"] == "😀"
