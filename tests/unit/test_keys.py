from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.archive.keys import event_key, safe_file_name, safe_id, session_prefix
from shared.core.exceptions import UnsafeIdError

DIGEST = "ab" * 32


def test_event_key_is_deterministic_and_sorted_by_event_time() -> None:
    moment = datetime(2026, 6, 3, 10, 5, 0, 123000, tzinfo=UTC)
    key = event_key(
        meeting_id="m-1",
        session_id="s-1",
        event="meeting.participantJoined",
        digest=DIGEST,
        event_time=moment,
    )
    assert (
        key
        == "meetings/m-1/sessions/s-1/events/20260603T100500.123Z_meeting.participantJoined_abababababababab.json"
    )
    again = event_key(
        meeting_id="m-1",
        session_id="s-1",
        event="meeting.participantJoined",
        digest=DIGEST,
        event_time=moment,
    )
    assert again == key


def test_event_without_time_is_undated() -> None:
    key = event_key(meeting_id="m", session_id="s", event="meeting.summary", digest=DIGEST, event_time=None)
    assert key.endswith("/events/undated_meeting.summary_abababababababab.json")


@pytest.mark.parametrize(
    ("meeting_id", "session_id"),
    [(None, "s"), ("m", None), ("../x", "s"), ("m", "a/b"), ("", "s"), ("m", "..")],
)
def test_events_without_safe_ids_go_to_unattributed(meeting_id: str | None, session_id: str | None) -> None:
    key = event_key(meeting_id=meeting_id, session_id=session_id, event="x", digest=DIGEST, event_time=None)
    assert key.startswith("unattributed/events/")


def test_event_names_are_sanitized_in_keys() -> None:
    key = event_key(meeting_id="m", session_id="s", event="../../evil name", digest=DIGEST, event_time=None)
    assert "/../" not in key
    assert key == "meetings/m/sessions/s/events/undated_.._.._evil_name_abababababababab.json"


@pytest.mark.parametrize(
    "bad",
    ["../etc", "a/b", "", ".hidden", "x" * 200, "a..b", "ünïcode", "a b"]
    # control characters, at the end (where ``$`` would let a newline through) and inside
    + [f"abc{c}" for c in ("\n", "\r", "\r\n", "\x00", "\t", "\x1f", "\x7f", "\x85", "\u2028")]
    + [f"ab{c}c" for c in ("\n", "\r", "\x00", "\x0b", "\x1b")],
)
def test_safe_id_refuses_what_could_escape_a_prefix(bad: str) -> None:
    with pytest.raises(UnsafeIdError):
        safe_id(bad)


def test_session_prefix() -> None:
    assert (
        session_prefix("50c8940e-1b97", "05e57591_d89e") == "meetings/50c8940e-1b97/sessions/05e57591_d89e/"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("weekly-sync.mp4", "weekly-sync.mp4"),
        ("../../etc/passwd", "passwd"),
        ("a\\b\\c.mp4", "c.mp4"),
        ("..", "fallback.bin"),
        ("", "fallback.bin"),
        ("naïve;rm -rf.mp4", "na_ve_rm -rf.mp4"),
    ],
)
def test_file_names_from_the_sender_are_reduced_to_a_safe_segment(name: str, expected: str) -> None:
    assert safe_file_name(name, fallback="fallback.bin") == expected
