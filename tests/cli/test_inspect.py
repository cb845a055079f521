"""`meeting-vault sessions`, `show` and `get` over an archived session."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.standin import RealtimeKitStandin
from shared.archive.keys import session_prefix
from tests.cli.conftest import MEETING, Env, archive_sample_meeting, cli_env

PREFIX = session_prefix(MEETING.meeting_id, MEETING.session_id)


@pytest.fixture(scope="module")
def archived(running_standin: RealtimeKitStandin) -> Iterator[Env]:
    """One archived sample meeting for the whole module: these commands only read."""
    with pytest.MonkeyPatch.context() as monkeypatch, cli_env(running_standin, monkeypatch) as made:
        archive_sample_meeting(made)
        yield made


def test_sessions_lists_title_start_duration_people_and_artifacts(archived: Env) -> None:
    result = archived.run("sessions")
    assert result.exit_code == 0, result.output
    header, row, footer = result.output.splitlines()
    assert header.split() == [
        "STARTED", "(UTC)", "DURATION", "TITLE", "MEETING", "SESSION", "PEOPLE", "ARCHIVED", "FAILED",
    ]  # fmt: skip
    assert row.split() == [
        "2026-06-03", "10:00", "30m00s", "Weekly", "sync", "—", "Q3", "planning",
        MEETING.meeting_id, MEETING.session_id, "3", "recording,audio,transcript,summary,chat", "-",
    ]  # fmt: skip
    assert footer == "1 sessions"


def test_sessions_json_and_filters(archived: Env) -> None:
    listed = json.loads(archived.run("sessions", "--json").output)
    assert listed["next"] is None
    [row] = listed["sessions"]
    assert row == {
        "meetingId": MEETING.meeting_id,
        "sessionId": MEETING.session_id,
        "title": MEETING.title,
        "startedAt": "2026-06-03T10:00:00Z",
        "durationSeconds": 1800.0,
        "state": "ended",
        "status": "complete",
        "participants": 3,
        "archived": ["recording", "audio", "transcript", "summary", "chat"],
        "failed": [],
    }

    def listed_ids(*options: str) -> list[str]:
        result = archived.run("sessions", "--json", *options)
        assert result.exit_code == 0, result.output
        return [r["sessionId"] for r in json.loads(result.output)["sessions"]]

    assert listed_ids("--since", "2026-06-04") == []
    assert listed_ids("--until", "2026-06-02") == []
    assert listed_ids("--since", "2026-06-03", "--until", "2026-06-03T10:00") == [MEETING.session_id]
    assert listed_ids("--meeting", MEETING.meeting_id) == [MEETING.session_id]
    assert listed_ids("--state", "complete") == [MEETING.session_id]
    assert listed_ids("--state", "failed") == []
    assert listed_ids("--meeting", MEETING.meeting_id, "--state", "pending") == []
    assert "no archived sessions match" in archived.run("sessions", "--meeting", "other-meeting").output


def test_show_prints_the_manifest_readably(archived: Env) -> None:
    result = archived.run("show", MEETING.session_id)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"session   {MEETING.session_id}"
    assert lines[1] == f'meeting   {MEETING.meeting_id}  "{MEETING.title}"'
    assert lines[2] == f"folder    s3://{archived.stack.names.bucket}/{PREFIX}"
    assert "duration  30m00s   state ended" in lines
    assert "participants (3)" in lines
    assert any(line.startswith("  1  Alice Ng") for line in lines)
    assert "artifacts (5 archived, 0 failed)" in lines
    assert any(line.startswith("  archived  transcript/source  transcript/source.csv") for line in lines)
    assert any(line.startswith("events (") and "meeting.participantJoined" in line for line in lines)


def test_show_json_and_meeting_slash_session(archived: Env) -> None:
    result = archived.run("show", f"{MEETING.meeting_id}/{MEETING.session_id}", "--json")
    manifest = json.loads(result.output)
    stored = archived.stack.objects(PREFIX + "session.json")[PREFIX + "session.json"]
    assert manifest == json.loads(stored)


def test_show_an_unknown_session_is_one_line(archived: Env) -> None:
    result = archived.run("show", "no-such-session")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: session no-such-session is not in the sessions index ({archived.stack.names.sessions_table}) "
        f"nor in s3://{archived.stack.names.bucket}/meetings/: check the id, or pass MEETING_ID/SESSION_ID\n"
    )


def test_get_downloads_the_whole_session_folder(archived: Env, tmp_path: Path) -> None:
    out = tmp_path / "download"
    result = archived.run("get", MEETING.session_id, "--out", str(out))
    assert result.exit_code == 0, result.output
    objects = archived.stack.objects(PREFIX)
    files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert files == {key.removeprefix(PREFIX): data for key, data in objects.items()}
    manifest = json.loads(files["session.json"])
    for artifact in manifest["artifacts"]:
        data = files[artifact["key"].removeprefix(PREFIX)]
        assert hashlib.sha256(data).hexdigest() == artifact["sha256"]
    assert result.output.splitlines()[-1].startswith(f"{len(objects)} files, ")
    assert not list(out.rglob("*.part"))


def test_get_resumes_and_replaces_partial_files_safely(archived: Env, tmp_path: Path) -> None:
    """GIVEN a download interrupted (a file missing, one torn, a `.part` left behind) WHEN get runs
    again THEN only what is not complete is fetched again, and every file ends byte-identical."""
    out = tmp_path / "download"
    assert archived.run("get", MEETING.session_id, "--out", str(out)).exit_code == 0
    objects = archived.stack.objects(PREFIX)
    recording = next(k.removeprefix(PREFIX) for k in objects if k.endswith(".mp4"))
    (out / "session.json").unlink()
    torn = out / recording
    torn.write_bytes(torn.read_bytes()[:100])
    (out / (recording + ".part")).write_bytes(b"left by a crash")

    result = archived.run("get", MEETING.session_id, "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert sorted(summary["paths"]) == sorted(["session.json", recording])
    assert summary["skipped"] == len(objects) - 2
    files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert files == {key.removeprefix(PREFIX): data for key, data in objects.items()}

    again = json.loads(
        archived.run("get", MEETING.session_id, "--out", str(out), "--json", "--replace").output
    )
    assert again["files"] == len(objects)
    assert again["skipped"] == 0


def test_get_goes_through_s3transfer_with_ranged_reads(
    archived: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files are fetched as parallel ranged GETs (threshold lowered to see it on a small file)."""
    import cli.inspect

    monkeypatch.setattr(cli.inspect, "MULTIPART_THRESHOLD", 1024)
    ranges: list[str] = []

    def record_range(params: dict[str, object], **_: object) -> None:
        if params.get("Range"):
            ranges.append(str(params["Range"]))

    import boto3

    original = boto3.session.Session.client

    def client(self: boto3.session.Session, service: str, *args: object, **kwargs: object) -> object:
        made = original(self, service, *args, **kwargs)  # type: ignore[call-overload]
        made.meta.events.register("provide-client-params.s3.GetObject", record_range)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    out = tmp_path / "ranged"
    result = archived.run("get", MEETING.session_id, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(ranges) >= 4  # the 4096-byte recording in 1024-byte parts at least
    objects = archived.stack.objects(PREFIX)
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == {
        key.removeprefix(PREFIX): data for key, data in objects.items()
    }
