"""`meeting-vault replay`: archived raw events through the pipeline again give the same objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.archive.keys import session_prefix
from tests.cli.conftest import MEETING, Env, archive_sample_meeting, drain, queued
from tests.conftest import EVENTS_DIR
from tests.support.derived import without_rebuild

PREFIX = session_prefix(MEETING.meeting_id, MEETING.session_id)
ARCHIVED_AT = datetime(2026, 6, 3, 11, 0, tzinfo=UTC)


class FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> FrozenDatetime:
        return cls.fromtimestamp(ARCHIVED_AT.timestamp(), tz)


def snapshot(env: Env) -> dict[str, tuple[bytes, dict[str, str]]]:
    s3 = env.stack.client("s3")
    found = {}
    for key, data in env.stack.objects().items():
        found[key] = (data, s3.head_object(Bucket=env.stack.names.bucket, Key=key)["Metadata"])
    return found


def wipe_all_but_events(env: Env) -> None:
    """Every derived object, every session record and idempotency record: as if the session had
    to be rebuilt from its raw events after a fix."""
    s3, ddb = env.stack.client("s3"), env.stack.client("dynamodb")
    for key in env.stack.objects():
        if "/events/" not in key:
            s3.delete_object(Bucket=env.stack.names.bucket, Key=key)
    for table, keys in (
        (env.stack.names.sessions_table, ("pk", "sk")),
        (env.stack.names.idempotency_table, ("id",)),
    ):
        for item in ddb.scan(TableName=table)["Items"]:
            ddb.delete_item(TableName=table, Key={k: item[k] for k in keys})


def test_replaying_a_sessions_events_rebuilds_identical_objects(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shared.archive.session_artifacts.datetime", FrozenDatetime)
    monkeypatch.setattr("shared.archive.recordings.datetime", FrozenDatetime)
    archive_sample_meeting(env)
    before = snapshot(env)
    assert len([k for k in before if "/events/" in k]) == 16
    wipe_all_but_events(env)
    assert len(env.stack.objects()) == 16

    result = env.run("replay", "--session", MEETING.session_id)
    assert result.exit_code == 0, result.output
    assert f"replaying onto the bus {env.stack.names.bus}" in result.output
    assert result.output.splitlines()[-1] == "replayed 16 events"
    drain(env.stack)

    after = snapshot(env)
    assert sorted(after) == sorted(before)
    for key, (data, metadata) in before.items():
        if key.endswith("/session.json"):  # its rebuild section says when it was rebuilt
            assert without_rebuild(after[key][0]) == without_rebuild(data), key
            assert json.loads(after[key][0])["rebuild"]["recordVersion"] > 0
            continue
        assert after[key][0] == data, key
        assert after[key][1] == metadata, key


def test_replay_a_json_file_and_filter_by_event(env: Env, tmp_path: Path) -> None:
    body = (EVENTS_DIR / "meeting_started.json").read_bytes()
    result = env.run("replay", "--file", str(EVENTS_DIR / "meeting_started.json"))
    assert result.exit_code == 0, result.output
    [detail] = queued(env.stack, "sessions")
    assert detail["body"]["data"].encode() == body
    assert detail["delivery"]["signatureHeader"] == "replay"

    result = env.run(
        "replay", "--file", str(EVENTS_DIR / "meeting_started.json"), "--event", "meeting.ended", "--dry-run"
    )
    assert result.exit_code == 1
    assert "nothing to replay" in result.stderr


def test_replay_dry_run_lists_and_sends_nothing(env: Env) -> None:
    payload = json.loads((EVENTS_DIR / "meeting_ended.json").read_text())
    key = "meetings/m-1/sessions/s-1/events/20260603T103000.000Z_meeting.ended_0123456789abcdef.json"
    env.stack.client("s3").put_object(Bucket=env.stack.names.bucket, Key=key, Body=json.dumps(payload))
    result = env.run("replay", "--key", key, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would replay {key}" in result.output
    assert queued(env.stack, "sessions") == []


def test_replay_needs_a_selection(env: Env) -> None:
    result = env.run("replay")
    assert result.exit_code == 1
    assert result.stderr == "Error: name what to replay: --session, --meeting, --key or --file\n"


def test_replay_skips_the_notes_of_foreign_deliveries(env: Env) -> None:
    payload = json.loads((EVENTS_DIR / "meeting_ended.json").read_text())
    folder = "meetings/m-1/sessions/s-1/events/"
    body_key = f"{folder}20260603T103000.000Z_meeting.ended_0123456789abcdef.json"
    note_key = f"{folder}20260603T103000.000Z_meeting.ended_0123456789abcdef.foreign.json"
    s3 = env.stack.client("s3")
    s3.put_object(Bucket=env.stack.names.bucket, Key=body_key, Body=json.dumps(payload))
    s3.put_object(Bucket=env.stack.names.bucket, Key=note_key, Body=b'{"verdict": "foreign"}')
    result = env.run("replay", "--meeting", "m-1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would replay {body_key}" in result.output
    assert note_key not in result.output
