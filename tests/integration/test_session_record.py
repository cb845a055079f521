"""The session record on DynamoDB + S3 converges to identical files whatever the delivery order."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from local.sample_meeting import SampleMeeting
from shared import wiring
from shared.archive.keys import session_prefix
from shared.ingest.envelope import build_detail
from tests.integration.conftest import MotoStack
from tests.support.derived import differences, reference_files, without_rebuild

MEETING = SampleMeeting()
URLS = {name: f"https://files.test/{name}" for name in MEETING.files()}
BODIES = [json.dumps(p, separators=(",", ":")).encode() for p in MEETING.webhooks(URLS)]
PREFIX = session_prefix(MEETING.meeting_id, MEETING.session_id)
DERIVED = ("session.json", "participants.json", "participant_events.json", "index.html")


def deliver(bodies: list[bytes]) -> None:
    recorder = wiring.session_recorder()
    for body in bodies:
        detail = build_detail(
            body,
            received_at=datetime.now(UTC),
            delivery_id=None,
            webhook_id=None,
            signature_header="rtk-signature",
        )
        assert recorder.record_event(detail)


def derived_files(stack: MotoStack) -> dict[str, bytes]:
    """The derived files, session.json without its rebuild section (when and from which version)."""
    objects = stack.objects(PREFIX)
    files = {name: objects[PREFIX + name] for name in DERIVED}
    files["session.json"] = without_rebuild(files["session.json"])
    return files


def assert_same_as_todays_builder(stack: MotoStack) -> None:
    reference = reference_files(
        stack.client("dynamodb"),
        stack.client("s3"),
        table=stack.names.sessions_table,
        bucket=stack.names.bucket,
        meeting_id=MEETING.meeting_id,
        session_id=MEETING.session_id,
    )
    assert set(reference) == {PREFIX + name for name in DERIVED}
    assert differences(reference, stack.objects(PREFIX)) == []


def wipe(stack: MotoStack) -> None:
    ddb, s3 = stack.client("dynamodb"), stack.client("s3")
    for item in ddb.scan(TableName=stack.names.sessions_table)["Items"]:
        ddb.delete_item(TableName=stack.names.sessions_table, Key={"pk": item["pk"], "sk": item["sk"]})
    for key in stack.objects():
        s3.delete_object(Bucket=stack.names.bucket, Key=key)


def test_shuffled_and_duplicated_deliveries_give_identical_session_files(moto_stack: MotoStack) -> None:
    deliver(BODIES)
    reference = derived_files(moto_stack)
    rng = random.Random(20260603)
    for _ in range(3):
        wipe(moto_stack)
        bodies = BODIES + rng.sample(BODIES, 5)
        rng.shuffle(bodies)
        deliver(bodies)
        assert derived_files(moto_stack) == reference
        assert_same_as_todays_builder(moto_stack)
    manifest = json.loads(reference["session.json"])
    assert manifest["session"]["state"] == "ended"
    assert manifest["events"]["count"] == len(BODIES)
    assert len(json.loads(reference["participants.json"])) == 3
    assert len(json.loads(reference["participant_events.json"])) == 8


def test_manifest_written_before_meeting_started_arrives(moto_stack: MotoStack) -> None:
    """``meeting.started`` is not assumed to come first: a join alone already makes a session."""
    join = next(b for b in BODIES if b"participantJoined" in b)
    deliver([join])
    manifest = json.loads(moto_stack.objects(PREFIX)[PREFIX + "session.json"])
    assert manifest["session"]["state"] == "live"
    assert [p["name"] for p in manifest["participants"]] == ["Alice Ng"]
