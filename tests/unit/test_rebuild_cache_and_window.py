"""The normalized-file cache gives the builder's bytes, and is keyed by source digest and roster
version; rebuild windows hold at most one windowed rebuild each, whatever the arrival times."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from local.sample_meeting import SampleMeeting
from shared.session.model import (
    CHAT_SOURCE,
    TRANSCRIPT_SOURCE,
    CachingNormalizer,
    SeenEvent,
    SessionFacts,
    build_outputs,
)
from shared.session.recorder import SessionRecorder

MEETING = SampleMeeting()
URLS = {name: f"https://files.test/{name}" for name in MEETING.files()}
SOURCES = {
    TRANSCRIPT_SOURCE: MEETING.files()["transcript.csv"][0],
    CHAT_SOURCE: MEETING.files()["chat.csv"][0],
}


def seen(payload: dict[str, Any]) -> SeenEvent:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SeenEvent(digest=hashlib.sha256(body).hexdigest(), event=str(payload["event"]), payload=payload)


EVENTS = [seen(p) for p in MEETING.webhooks(URLS)]
PRESENCE = [e for e in EVENTS if e.event == "meeting.participantJoined"]


def facts(events: list[SeenEvent]) -> SessionFacts:
    return SessionFacts(MEETING.meeting_id, MEETING.session_id, list(events))


def test_cached_files_are_the_builders_bytes_and_reused_while_source_and_roster_stay() -> None:
    cache = CachingNormalizer()
    plain = build_outputs(facts(EVENTS), SOURCES).files
    assert build_outputs(facts(EVENTS), SOURCES, normalizer=cache).files == plain
    misses = cache.misses
    assert misses == 3  # transcript parsed, transcript files rendered, chat rendered
    # Another fact that moves neither roster nor sources: nothing parsed or rendered again.
    again = build_outputs(facts(EVENTS), dict(SOURCES), normalizer=cache).files
    assert again == plain
    assert cache.misses == misses
    assert cache.hits == 3


def test_a_roster_change_renders_the_normalized_files_again() -> None:
    cache = CachingNormalizer()
    without_first_join = [e for e in EVENTS if e is not PRESENCE[0]]
    build_outputs(facts(without_first_join), SOURCES, normalizer=cache)
    before = cache.misses
    got = build_outputs(facts(EVENTS), SOURCES, normalizer=cache).files
    assert got == build_outputs(facts(EVENTS), SOURCES).files
    assert cache.misses == before + 2, "transcript and chat files again; the parse is reused"


def test_a_rebuild_section_is_the_manifests_last_and_only_difference() -> None:
    plain = build_outputs(facts(EVENTS), SOURCES).files
    rebuilt = build_outputs(facts(EVENTS), SOURCES, rebuild={"rebuiltAt": "x", "recordVersion": 7}).files
    assert {k: v for k, v in rebuilt.items() if k != "session.json"} == {
        k: v for k, v in plain.items() if k != "session.json"
    }
    manifest = json.loads(rebuilt["session.json"][0])
    assert list(manifest)[-1] == "rebuild"
    assert manifest.pop("rebuild") == {"rebuiltAt": "x", "recordVersion": 7}
    assert (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode() == plain["session.json"][0]


def test_windowed_requests_fall_due_once_per_window() -> None:
    window = 30
    recorder = SessionRecorder(None, None, window_seconds=window)  # type: ignore[arg-type]
    rng = random.Random(18)
    for session_id in ("s-1", "another-session", "5e55a0d1"):
        now, due_times = 1_780_000_000.0 + rng.random() * 100, []
        while len(due_times) < 200:
            due = now + recorder.window_delay(session_id, now)
            assert 1 <= due - now <= window
            due_times.append(due)
            now = due + rng.random() * 40  # the next change comes after that rebuild
        offset = int(hashlib.sha256(session_id.encode()).hexdigest()[:8], 16) % window
        windows = [int((d - offset) // window) for d in due_times]
        assert len(set(windows)) == len(windows), "two windowed rebuilds in one window"
