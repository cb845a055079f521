"""The hand-checked reader of ingest (no pydantic on the ack path) agrees with the event models: a
body it calls plainly valid is one the models accept with the same ids and time, and the bus detail it
builds is the one the models' path builds. Anything else it leaves to the models."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest.envelope import WebhookDetail, build_detail
from shared.ingest.events import parse_event
from shared.ingest.fields import app_ids_in, read_fields
from shared.ingest.published import build_published

EVENTS = sorted((Path(__file__).resolve().parents[1] / "events").glob("*.json"))
APP = "c94c437b-592a-4a39-b9e2-47ef1451e43b"
NOW = datetime(2026, 6, 3, 10, 31, tzinfo=UTC)


def both(body: bytes) -> tuple[dict[str, Any], WebhookDetail]:
    ours = build_published(
        body, received_at=NOW, delivery_id="d", webhook_id="w", signature_header="rtk-signature"
    )
    theirs = build_detail(
        body, received_at=NOW, delivery_id="d", webhook_id="w", signature_header="rtk-signature"
    )
    return ours.document, theirs


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.name)
def test_every_documented_shape_is_read_by_hand_as_the_models_read_it(path: Path) -> None:
    payload = json.loads(path.read_bytes())
    fields = read_fields(payload)
    assert fields is not None, "a documented shape should not need pydantic"
    model = parse_event(payload)
    assert (fields.event, fields.meeting_id, fields.session_id, fields.event_time) == (
        model.event,
        model.meeting_id,
        model.session_id,
        model.event_time,
    )


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.name)
def test_the_bus_detail_is_the_one_the_models_build(path: Path) -> None:
    document, theirs = both(path.read_bytes())
    ours = WebhookDetail.model_validate(document)
    assert ours.model_dump(exclude={"app_id", "tenancy", "body_ref"}) == theirs.model_dump(
        exclude={"app_id", "tenancy", "body_ref"}
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"event": 5}',
        b'{"event": "meeting.started", "meeting": {"id": "m"}}',  # no session id
        b'{"event": "meeting.started", "meeting": {"id": "../m", "sessionId": "s"}}',
        b'{"event": "recording.statusUpdate", "recording": {"id": "r", "meetingId": "m", "roomUUID": "s"}}',
        b'{"event": "meeting.started", "meeting": {"id": "m", "sessionId": "s", "startedAt": "tomorrow"}}',
        b'{"event": "meeting.started", "meeting": {"id": "m", "sessionId": "s", "startedAt": "2026-13-01T00:00:00Z"}}',
        b"[" * 100 + b"]" * 100,
    ],
)
def test_bodies_out_of_the_plain_get_the_models_verdict(body: bytes) -> None:
    document, theirs = both(body)
    assert document["valid"] is theirs.valid
    assert document["parseError"] == theirs.parse_error
    assert (document["meetingId"], document["sessionId"]) == (theirs.meeting_id, theirs.session_id)


VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        ["", "x", "m-1", "../up", "a/b", "abc\n", "2026-06-03T10:00:00Z", "2026-06-03 10:00:00.5+02:00"]
    ),
    st.sampled_from(["2026-13-01T00:00:00Z", "1700000000", "0012", "12", "UPLOADED", "🙂"]),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(),
    st.just({}),
    st.just([]),
)


def _paths(document: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(st.sampled_from(EVENTS))
    payload = json.loads(path.read_bytes())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(payload)
        if not paths:
            break
        where = draw(st.sampled_from(paths))
        parent = payload
        for key in where[:-1]:
            parent = parent[key]
        if not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["set", "drop", "snake"]))
        if action == "drop":
            parent.pop(where[-1], None)
        elif action == "snake":
            parent["session_id"] = draw(VALUES)
        else:
            parent[where[-1]] = draw(VALUES)
    return payload


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_whatever_the_hand_reader_accepts_the_models_accept_alike(payload: dict[str, Any]) -> None:
    fields = read_fields(copy.deepcopy(payload))
    if fields is None:
        return  # left to the models
    model = parse_event(payload)  # must not raise
    assert (fields.meeting_id, fields.session_id, fields.event_time) == (
        model.meeting_id,
        model.session_id,
        model.event_time,
    )


def test_an_unsafe_id_beside_a_safe_one_is_left_to_the_models() -> None:
    """Found by the property above: the hand reader checked the recording id it would use (``id``)
    and accepted ``recordingId: "../up"`` beside it, which the models refuse."""
    recording = {
        "id": "97cb480d-5840-4528-ace3-919b5e386c68",
        "recordingId": "../up",
        "meetingId": "50c8940e-1b97-402a-97d6-2708b7feca41",
        "status": "RECORDING",
        "roomUUID": "05e57591-d89e-45c9-ae44-08dc1eaad0e0",
    }
    for place in ("recordingId", "meetingId", "roomUUID"):
        payload = {
            "event": "recording.statusUpdate",
            "recording": {**recording, "recordingId": "r1", place: "../up"},
        }
        assert read_fields(copy.deepcopy(payload)) is None, place
        with pytest.raises(ValueError, match="not a safe id"):
            parse_event(payload)
    meeting = {"id": "m1", "sessionId": "../s"}
    assert read_fields({"event": "meeting.started", "meeting": meeting}) is None


def test_app_ids_come_from_every_place_the_shapes_carry_them() -> None:
    assert app_ids_in({"meeting": {"organizedBy": {"id": APP}}}) == (APP,)
    assert app_ids_in({"organizedBy": {"id": APP}}) == (APP,)
    assert app_ids_in({"recording": {"organizationId": APP}}) == (APP,)
    assert app_ids_in({"organizationId": "a", "meeting": {"organizedBy": {"id": "b"}}}) == ("b", "a")
    assert app_ids_in({"meeting": {"organizedBy": {"id": 5}}}) == ()
    assert app_ids_in([1]) == ()
    for path in EVENTS:
        payload = json.loads(path.read_bytes())
        expected = () if path.name in {"livestreaming_status_dyte.json"} else (APP,)
        assert app_ids_in(payload) in {expected, ()}, path.name


def test_a_lone_surrogate_still_makes_a_bus_entry_utf8_can_carry() -> None:
    # Escaped ("\\ud800") or UTF-8-encoded (found by the full hostile run), a lone surrogate cannot
    # be written as UTF-8, and a \\u-escaped one is JSON that pydantic and EventBridge refuse: the
    # body is kept as raw bytes, flagged invalid, exactly as the models carry it.
    from shared.ingest.envelope import WebhookDetail

    for body in (
        b'{"event": "meeting.started", "meeting": {"id": "m", "sessionId": "s", "title": "\\ud800 x \xc3\xa9"}}',
        b'{"event": "\xed\xa0\x80meeting.chatSynced", "meetingId": "m", "sessionId": "s"}',
    ):
        detail = build_published(
            body, received_at=NOW, delivery_id=None, webhook_id=None, signature_header="h"
        )
        text = detail.to_json()
        text.encode("utf-8")  # does not raise
        carried = WebhookDetail.model_validate_json(text)  # what every consumer does with it
        assert carried.valid is False
        assert carried.payload is None
        assert carried.body.to_bytes() == body
    plain = build_published(
        b'{"event": "x", "t": "\xc3\xa9"}',
        received_at=NOW,
        delivery_id=None,
        webhook_id=None,
        signature_header="h",
    )
    assert "\u00e9" in plain.to_json()  # UTF-8 as is when it can be
