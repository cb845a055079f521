"""`meeting-vault forget`: every object version, the session record and the idempotency items go; a
tombstone keeps a later webhook or sweep from archiving the session again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from local.sample_meeting import SampleMeeting
from shared.archive.keys import session_prefix
from shared.reconcile.sweep import reconcile_session
from shared.session.store import SessionStore
from tests.cli.conftest import MEETING, Env, archive_sample_meeting, drain, publish_webhooks

PREFIX = session_prefix(MEETING.meeting_id, MEETING.session_id)


def versions(env: Env, prefix: str) -> tuple[int, int]:
    listed = env.stack.client("s3").list_object_versions(Bucket=env.stack.names.bucket, Prefix=prefix)
    return len(listed.get("Versions", [])), len(listed.get("DeleteMarkers", []))


def record_items(env: Env, meeting_id: str, session_id: str) -> list[str]:
    items = env.stack.client("dynamodb").query(
        TableName=env.stack.names.sessions_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{meeting_id}/{session_id}"}},
    )["Items"]
    return sorted(item["sk"]["S"] for item in items)


def idempotency_ids(env: Env) -> list[str]:
    items = env.stack.client("dynamodb").scan(TableName=env.stack.names.idempotency_table)["Items"]
    return sorted(item["id"]["S"] for item in items)


class RefusingInventory:
    """A RealtimeKit inventory that must not be asked: the tombstone answers first."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the sweep asked RealtimeKit ({name}) about an erased session")


class Published:
    def __init__(self) -> None:
        self.details: list[Any] = []

    def publish(self, detail: Any) -> str:
        self.details.append(detail)
        return "id"


def test_forget_a_session_erases_everything_and_it_stays_erased(env: Env) -> None:
    archive_sample_meeting(env)
    s3 = env.stack.client("s3")
    # A plain delete would only hide this: a delete marker over the versions.
    s3.delete_object(Bucket=env.stack.names.bucket, Key=PREFIX + "participants.json")
    in_folder, markers_before = versions(env, PREFIX)
    assert in_folder > len(env.stack.objects(PREFIX))
    # The session's rows in the search index live outside its folder and go too.
    indexed, _ = versions(env, "index/utterances/")
    assert indexed >= 1
    versions_before = in_folder + indexed
    assert markers_before == 1
    assert idempotency_ids(env)  # the consumers' once-only work
    assert any(sk.startswith("artifact#") for sk in record_items(env, MEETING.meeting_id, MEETING.session_id))

    # WHEN the operator does not confirm THEN nothing is erased
    declined = env.run("forget", "--session", MEETING.session_id, input="n\n")
    assert declined.exit_code == 1
    assert (
        f"erase 1 session(s) under s3://{env.stack.names.bucket}/{PREFIX}: {versions_before} object versions"
        in (declined.output)
    )
    assert "Error: not confirmed: nothing erased" in declined.output
    assert versions(env, PREFIX) == (in_folder, 1)

    # WHEN confirmed THEN every version, the record and the idempotency items are gone
    result = env.run("forget", "--session", MEETING.session_id, input="y\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].startswith(f"deleted {versions_before} object versions (")
    assert lines[2].endswith(f"and 1 delete markers under s3://{env.stack.names.bucket}/{PREFIX}")
    assert lines[3].startswith(f"  {MEETING.meeting_id}/{MEETING.session_id}: session record (")
    assert lines[3].endswith(" idempotency items; tombstone written")
    assert versions(env, PREFIX) == (0, 0)
    assert versions(env, "index/utterances/") == (0, 0)
    assert record_items(env, MEETING.meeting_id, MEETING.session_id) == ["erased"]
    assert idempotency_ids(env) == []
    assert json.loads(env.run("sessions", "--json").output)["sessions"] == []
    assert env.run("show", MEETING.session_id).exit_code == 1

    # WHEN every webhook of the session arrives again (late or redelivered) THEN nothing is archived
    urls = {name: f"{env.standin.base_url}/files/{name}" for name in MEETING.files()}
    publish_webhooks(env.stack, MEETING.webhooks(urls))
    drain(env.stack)
    assert versions(env, PREFIX) == (0, 0)
    assert env.stack.objects("") == {}
    assert record_items(env, MEETING.meeting_id, MEETING.session_id) == ["erased"]
    assert idempotency_ids(env) == []
    assert json.loads(env.run("sessions", "--json").output)["sessions"] == []

    # WHEN the reconcile sweep reaches the session THEN it enqueues nothing
    published = Published()
    outcome = reconcile_session(
        MEETING.meeting_id,
        MEETING.session_id,
        store=SessionStore(env.stack.names.sessions_table, env.stack.client("dynamodb")),
        client=RefusingInventory(),  # type: ignore[arg-type]
        publisher=published,
        ended_at=datetime.now(UTC),
    )
    assert outcome.outcome == "erased"
    assert published.details == []


def test_forget_a_session_erases_a_body_flagged_invalid(env: Env) -> None:
    # GIVEN a signed body of the session that the models refused for one odd field (not an id)
    urls = {name: f"{env.standin.base_url}/files/{name}" for name in MEETING.files()}
    (transcript,) = [w for w in MEETING.webhooks(urls) if w["event"] == "meeting.transcript"]
    transcript["transcriptDownloadUrlExpiry"] = "in 7 days"
    publish_webhooks(env.stack, [transcript])
    drain(env.stack)
    (key,) = env.stack.objects("")
    assert key.startswith(PREFIX + "events/")
    # WHEN the session is forgotten THEN the body is gone with every version
    result = env.run("forget", "--session", MEETING.session_id, "--yes")
    assert result.exit_code == 0, result.output
    assert versions(env, PREFIX) == (0, 0)
    assert env.stack.objects("") == {}


def test_forget_a_meeting_erases_each_of_its_sessions_and_prints_json(env: Env) -> None:
    meetings = [SampleMeeting(meeting_id="m-two", session_id=sid) for sid in ("s-a", "s-b")]
    other = SampleMeeting(meeting_id="m-keep", session_id="s-keep")
    publish_webhooks(
        env.stack, [{"event": "meeting.started", "meeting": m._meeting()} for m in [*meetings, other]]
    )
    drain(env.stack)
    assert versions(env, "meetings/m-two/")[0] > 0

    result = env.run("forget", "--meeting", "m-two", "--yes", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["prefix"] == f"s3://{env.stack.names.bucket}/meetings/m-two/"
    assert [s["sessionId"] for s in report["sessions"]] == ["s-a", "s-b"]
    assert all(s["tombstone"] and s["events"] == 1 for s in report["sessions"])
    assert report["objectVersions"] > 0
    assert versions(env, "meetings/m-two/") == (0, 0)
    assert record_items(env, "m-two", "s-a") == ["erased"]
    listed = json.loads(env.run("sessions", "--json").output)["sessions"]
    assert [(r["meetingId"], r["sessionId"]) for r in listed] == [("m-keep", "s-keep")]
    assert versions(env, "meetings/m-keep/")[0] > 0


def test_forget_takes_exactly_one_of_session_or_meeting(env: Env) -> None:
    assert env.run("forget", "--yes").exit_code == 2
    assert env.run("forget", "--session", "a/b", "--meeting", "m", "--yes").exit_code == 2
    unknown = env.run("forget", "--session", "no-such-session", "--yes")
    assert unknown.exit_code == 1
    assert "is not in the sessions index" in unknown.output
