"""The listing summary of a session.json: its state, row and index keys (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.session.listing import list_state, summarize, time_key

NOW = datetime(2026, 6, 10, tzinfo=UTC)


def manifest(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "meeting": {"id": "m-1", "title": "Weekly", "createdAt": "2026-06-03T09:55:00.000000Z"},
        "session": {"id": "s-1", "startedAt": "2026-06-03T10:00:00.000000Z", "state": "ended"},
        "participants": [{"id": "1"}],
        "recordings": [{"id": "r-1", "status": "UPLOADED"}],
        "artifacts": [
            {"name": "recording/r-1/video", "kind": "recording", "state": "archived"},
            {"name": "recording/r-1/audio", "kind": "recording_audio", "state": "archived"},
            {"name": "transcript/source", "kind": "transcript_source", "state": "archived"},
        ],
        "events": {"byType": {"meeting.transcript": 1}},
    }
    document.update(changes)
    return document


def test_an_ended_session_with_every_announced_file_is_complete() -> None:
    assert list_state(manifest()) == "complete"


def test_a_failed_file_makes_it_failed_whatever_else() -> None:
    failed = {"name": "chat/source", "kind": "chat_source", "state": "failed", "reason": "empty"}
    document = manifest(artifacts=[*manifest()["artifacts"], failed])
    document["session"]["state"] = "live"
    assert list_state(document) == "failed"
    assert summarize(document, now=NOW).row["failures"] == [
        {"name": "chat/source", "reason": "empty", "message": None}
    ]


def test_live_or_an_announced_file_not_yet_archived_is_pending() -> None:
    live = manifest()
    live["session"]["state"] = "live"
    assert list_state(live) == "pending"
    assert list_state(manifest(recordings=[{"id": "r-2", "status": "UPLOADED"}])) == "pending"
    assert list_state(manifest(events={"byType": {"meeting.chatSynced": 1}})) == "pending"
    assert list_state(manifest(recordings=[{"id": "r-2", "status": "RECORDING"}])) == "complete"


def test_the_sort_key_is_fixed_width_time_then_ids_and_falls_back_to_creation_time() -> None:
    summary = summarize(manifest(), now=NOW)
    assert summary.list_key == "2026-06-03T10:00:00.000Z#m-1/s-1"
    assert summary.partitions() == {
        "list#all": "all",
        "list#meeting": "meeting#m-1",
        "list#state": "state#complete",
        "list#session": "session#s-1",
    }
    assert summary.row["archived"] == ["recording", "audio", "transcript"]
    no_start = manifest()
    no_start["session"]["startedAt"] = None
    assert summarize(no_start, now=NOW).list_key.startswith("2026-06-03T09:55:00.000Z#")
    no_start["meeting"]["createdAt"] = None
    assert summarize(no_start, now=NOW).list_key.startswith(time_key(NOW))
    assert time_key(datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)) == "2026-01-02T03:04:05.006Z"
