"""`meeting-vault backfill`: only what the bucket lacks is enqueued, as the webhooks would have
brought it; an interrupted run resumes; RealtimeKit's rate limit is respected."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest

from local.standin import StandinRequest
from local.standin_rest import RateLimit
from shared.adapters.eventbridge import EventPublisher
from shared.archive.keys import session_prefix
from tests.cli.conftest import MEETING, Env, add_session, drain, queued

MEETING_ID = MEETING.meeting_id


def archived_manifest(
    env: Env, session_id: str, names: list[str], participant_sources: tuple[str, ...] = ()
) -> None:
    """A session.json that lists ``names`` as archived (what the consumers would have written)."""
    manifest = {
        "artifacts": [{"name": name, "kind": "x", "state": "archived", "key": "k"} for name in names],
        "participantSources": list(participant_sources),
    }
    env.stack.client("s3").put_object(
        Bucket=env.stack.names.bucket,
        Key=session_prefix(MEETING_ID, session_id) + "session.json",
        Body=json.dumps(manifest).encode(),
    )


def events_on(env: Env, route: str) -> list[tuple[str, str]]:
    return sorted((d["event"], d["sessionId"]) for d in queued(env.stack, route))


def backfill(env: Env, tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = env.run("backfill", "--checkpoint", str(tmp_path / "checkpoint.json"), *extra)
    return result.exit_code, result.output


@pytest.fixture
def mixed(env: Env) -> Env:
    """s-done: all archived; s-missing: nothing archived; s-partial: recording archived, no summary
    at RealtimeKit; s-live: still running."""
    add_session(env, "s-done")
    archived_manifest(
        env,
        "s-done",
        ["recording/rec-s-done/video", "transcript/source", "summary/summary", "chat/source"],
        ("webhooks", "rest"),
    )
    add_session(env, "s-missing", started_at=datetime(2026, 6, 4, 10, tzinfo=UTC))
    add_session(env, "s-partial", summary=False, started_at=datetime(2026, 6, 5, 10, tzinfo=UTC))
    archived_manifest(env, "s-partial", ["recording/rec-s-partial/video", "chat/source"])
    add_session(env, "s-live", status="LIVE", recording=False)
    return env


def test_only_missing_artifacts_are_enqueued_as_their_webhooks(mixed: Env, tmp_path: Path) -> None:
    code, output = backfill(mixed, tmp_path)
    assert code == 0, output
    assert events_on(mixed, "recordings") == [("recording.statusUpdate", "s-missing")]
    assert events_on(mixed, "transcripts") == [
        ("meeting.transcript", "s-missing"),
        ("meeting.transcript", "s-partial"),
    ]
    assert events_on(mixed, "summaries") == [("meeting.summary", "s-missing")]
    assert events_on(mixed, "chat") == [("meeting.chatSynced", "s-missing")]
    assert len(events_on(mixed, "sessions")) == 5  # every event also reaches the session record
    # nothing was asked about the complete session's artifacts
    assert mixed.requests(contains="/sessions/s-done/") == []
    assert mixed.requests(contains="/sessions/s-live/") == []
    assert "[1/4] " in output
    assert f"{MEETING_ID}/s-done: archived 4" in output
    assert "s-partial: enqueued transcript/source; archived 2; not at RealtimeKit: summary" in output
    assert "s-live: skipped (still live)" in output
    assert "enqueued 1 chat, 1 recording, 1 summary, 2 transcript (4.0 KB of recordings)" in output
    assert not (tmp_path / "checkpoint.json").exists()


def test_synthesized_events_are_deterministic_and_marked(mixed: Env, tmp_path: Path) -> None:
    backfill(mixed, tmp_path, "--meeting", MEETING_ID)
    [detail] = queued(mixed.stack, "recordings")
    assert detail["delivery"]["signatureHeader"] == "backfill"
    assert detail["valid"] is True
    payload = detail["payload"]
    assert payload["synthesizedBy"] == "meeting-vault backfill"
    assert "downloadUrl" not in payload["recording"]  # the consumer asks the REST API for a fresh one
    assert payload["recording"]["fileSize"] == 4096
    assert payload["meeting"] == {
        "id": MEETING_ID,
        "sessionId": "s-missing",
        "title": "Sync s-missing",
        "createdAt": "2026-06-04T10:00:00.000Z",
        "startedAt": "2026-06-04T10:00:00.000Z",
        "endedAt": "2026-06-04T10:30:00.000Z",
    }


def test_since_and_meeting_select_sessions(mixed: Env, tmp_path: Path) -> None:
    code, output = backfill(mixed, tmp_path, "--since", "2026-06-05")
    assert code == 0, output
    # Seed 003: "SessionGetSessionsParams { account_id, associated_id, end_time, 8 more }": --since
    # is the documented start_time filter, so only that part of the history is listed.
    with mixed.standin.log.lock:
        lists = [
            unquote(query)
            for (method, path), query in zip(
                mixed.standin.log.requests, mixed.standin.log.queries, strict=True
            )
            if method == "GET" and path.endswith(("/sessions", "/recordings"))
        ]
    assert len(lists) == 2
    assert all("start_time=2026-06-05T00:00:00" in query for query in lists), lists
    assert events_on(mixed, "transcripts") == [("meeting.transcript", "s-partial")]
    assert events_on(mixed, "recordings") == []
    code, output = backfill(mixed, tmp_path, "--meeting", "another-meeting")
    assert "0 sessions at RealtimeKit to check" in output


def test_an_interrupted_run_resumes_without_sending_anything_twice(
    mixed: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish = EventPublisher.publish
    calls = {"n": 0}

    def interrupted(self: EventPublisher, detail: object) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return publish(self, detail)  # type: ignore[arg-type]

    monkeypatch.setattr(EventPublisher, "publish", interrupted)
    code, output = backfill(mixed, tmp_path)
    assert code == 130
    assert "interrupted: run the same command again to resume" in output
    checkpoint = json.loads((tmp_path / "checkpoint.json").read_text())
    assert checkpoint["enqueued"] == [
        "s-missing/recording/rec-s-missing/video",
        "s-missing/transcript/source",
    ]

    monkeypatch.setattr(EventPublisher, "publish", publish)
    code, output = backfill(mixed, tmp_path)
    assert code == 0, output
    assert "resuming: 2 artifacts were enqueued by the interrupted run" in output
    # each missing artifact on its queue exactly once, across both runs
    assert events_on(mixed, "recordings") == [("recording.statusUpdate", "s-missing")]
    assert events_on(mixed, "transcripts") == [
        ("meeting.transcript", "s-missing"),
        ("meeting.transcript", "s-partial"),
    ]
    assert events_on(mixed, "summaries") == [("meeting.summary", "s-missing")]
    assert events_on(mixed, "chat") == [("meeting.chatSynced", "s-missing")]
    assert not (tmp_path / "checkpoint.json").exists()


def test_enqueued_events_are_archived_by_the_consumers_and_a_rerun_finds_nothing(
    env: Env, tmp_path: Path
) -> None:
    add_session(env, "s-1", participants=True)
    code, output = backfill(env, tmp_path)
    assert code == 0, output
    drain(env.stack)
    prefix = session_prefix(MEETING_ID, "s-1")
    objects = env.stack.objects(prefix)
    assert objects[prefix + "recordings/rec-s-1/s-1.mp4"] == MEETING.files()["recording.mp4"][0]
    assert objects[prefix + "recordings/rec-s-1/s-1-audio.mp3"] == MEETING.files()["recording.mp3"][0]
    assert objects[prefix + "transcript/source.csv"] == MEETING.transcript_csv()
    assert objects[prefix + "summary/summary.md"] == MEETING.summary_markdown()
    assert objects[prefix + "chat/source.csv"] == MEETING.chat_csv()
    manifest = json.loads(objects[prefix + "session.json"])
    assert manifest["artifactCounts"] == {"archived": 5, "failed": 0}
    # No join webhook ever arrived: the people come from the REST participant list.
    assert "rest" in manifest["participantSources"]
    people = json.loads(objects[prefix + "participants.json"])
    assert [(p["name"], p["extra_data"]["user_id"]) for p in people] == [
        ("Alice Ng", "u-alice"),
        ("José Müller", "u-jose"),
        ('Chen "CJ" Jie', "u-chen"),
    ]
    assert manifest["meeting"]["title"] == "Sync s-1"  # from the synthesized events, via the record
    assert [k for k in objects if "/events/" in k] == []  # events/ holds only bodies RealtimeKit signed

    probes_before = len(env.requests(contains="/sessions/s-1/"))
    code, output = backfill(env, tmp_path)
    assert code == 0
    assert "backfill: 1 sessions checked, 1 already complete; enqueued nothing" in output
    assert len(env.requests(contains="/sessions/s-1/")) == probes_before
    assert events_on(env, "sessions") == []


def test_requests_stay_within_the_rate_limit(env: Env, tmp_path: Path) -> None:
    for index in range(6):
        add_session(env, f"s-{index}", recording=False, summary=False, chat=False)
    arrivals: list[float] = []
    lock = threading.Lock()

    def clock(request: StandinRequest) -> None:
        with lock:
            arrivals.append(time.monotonic())

    env.standin.rest_routes.insert(0, lambda request: clock(request))
    env.rest.rate_limit = limit = RateLimit(max_requests=5, window_seconds=0.5)
    refused = {"n": 0}
    admit = limit.admit

    def counting(now: float | None = None) -> float | None:
        wait = admit(now)
        refused["n"] += wait is not None
        return wait

    limit.admit = counting  # type: ignore[method-assign]
    code, output = backfill(env, tmp_path, "--rate-limit", "5/0.5")
    assert code == 0, output
    assert len(events_on(env, "transcripts")) == 6
    assert len(arrivals) >= 14  # 2 listings + 6 x (transcript, summary, chat)
    busiest = max(sum(1 for t in arrivals if start <= t < start + 0.5) for start in arrivals)
    assert busiest <= 5
    assert refused["n"] == 0


def test_a_429_is_waited_out_with_retry_after(env: Env, tmp_path: Path) -> None:
    add_session(env, "s-1", recording=False)
    env.rest.rate_limit = RateLimit(max_requests=3, window_seconds=1.0)
    started = time.monotonic()
    code, output = backfill(env, tmp_path, "--rate-limit", "100/1")
    assert code == 0, output
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert [e for e, _ in events_on(env, "sessions")] == [
        "meeting.chatSynced",
        "meeting.summary",
        "meeting.transcript",
    ]
