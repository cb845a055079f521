"""The sessions consumer takes a batch's records in side by side, and reads the batch's tombstones
in one request: what each record leaves behind is what it left when taken in one at a time."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from local.lambda_runtime import invoke, load_handler
from shared import wiring
from shared.ingest.envelope import build_detail
from shared.session.store import SessionStore
from tests.conftest import event_body
from tests.integration.conftest import MotoStack
from tests.support.aws_calls import CallRecorder
from tests.support.webhooks import bus_record

sessions = load_handler("functions.sessions.handler.handler")


def _body(meeting_id: str, session_id: str, peer: int) -> bytes:
    payload = json.loads(event_body("participant_joined.json"))
    payload["meeting"]["id"], payload["meeting"]["sessionId"] = meeting_id, session_id
    payload["participant"]["peerId"] = f"peer-{peer}"
    payload["participant"]["userDisplayName"] = f"Person {peer}"
    return json.dumps(payload).encode()


def _batch(bodies: list[bytes]) -> dict[str, Any]:
    records = []
    for i, body in enumerate(bodies):
        detail = build_detail(
            body, received_at=datetime.now(UTC), delivery_id=f"d-{i}", webhook_id=None, signature_header="x"
        )
        records.append(bus_record(detail, message_id=f"m-{i}"))
    return {"Records": records}


def test_a_batch_is_taken_in_whole_with_one_tombstone_read(moto_stack: MotoStack) -> None:
    erased = ("meeting-erased", "session-erased")
    SessionStore(moto_stack.names.sessions_table).erase(*erased, erased_at=datetime.now(UTC))
    live = [_body("meeting-live", "session-live", p) for p in range(4)]
    gone = [_body(*erased, p) for p in range(3)]
    other = [_body("meeting-other", "session-other", p) for p in range(3)]
    bodies = [b for triple in zip(live, gone, other, strict=False) for b in triple] + live[3:]

    wiring.reset()  # clients made inside the recorder, so it sees every call
    with CallRecorder().installed() as calls:
        result = invoke(sessions, _batch(bodies), function_name="sessions")

    assert result == {"batchItemFailures": []}
    objects = moto_stack.objects("meetings/")
    for meeting_id, session_id, taken in (
        ("meeting-live", "session-live", live),
        ("meeting-other", "session-other", other),
    ):
        prefix = f"meetings/{meeting_id}/sessions/{session_id}/events/"
        archived = {key: data for key, data in objects.items() if key.startswith(prefix)}
        assert sorted(archived.values()) == sorted(taken)
        assert all(hashlib.sha256(data).hexdigest()[:16] in key for key, data in archived.items())
    assert not [key for key in objects if key.startswith("meetings/meeting-erased/")]
    dynamodb = [c.operation for c in calls.calls if c.service == "dynamodb"]
    assert dynamodb.count("BatchGetItem") == 1
    assert dynamodb.count("GetItem") == 0  # no tombstone read per record
    store = SessionStore(moto_stack.names.sessions_table)
    assert len(store.load("meeting-live", "session-live")[0].events) == len(live)
    assert len(store.load("meeting-other", "session-other")[0].events) == len(other)


def test_a_failing_record_fails_alone(moto_stack: MotoStack) -> None:
    """Side by side, each record still succeeds or fails on its own: a claim check whose body is
    missing from the archive fails that record, and the others are taken in."""
    good = [_body("meeting-live", "session-live", p) for p in range(3)]
    event = _batch(good)
    broken = json.loads(event["Records"][1]["body"])
    broken["detail"]["bodyRef"] = "unattributed/claims/missing.json"
    event["Records"][1]["body"] = json.dumps(broken)

    result = invoke(sessions, event, function_name="sessions")

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    keys = [k for k in moto_stack.objects("meetings/meeting-live/") if "/events/" in k]
    assert len(keys) == 2
