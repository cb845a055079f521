"""Seed 004's socket messages, parsed; and the final files built from what legs recorded.

Each message below is the seed's documented example (seeds/004_53da81273c43d6e5.txt)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.sources.live_relay.documents import (
    ReceivedEvent,
    ReceivedLine,
    RelayRecord,
    build_files,
    distinct_events,
)
from shared.sources.live_relay.messages import LiveLine, MessageError, parse_message
from shared.sources.live_relay.store import Connection, gaps

T0 = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)

# seed 004: '{ "type": "ping" }' ... '{ "type": "start" }' ... '{ "type": "stop" }'
SEED_MESSAGES = {
    "ping": '{ "type": "ping" }',
    "start": '{ "type": "start" }',
    # seed 004: "transcript": "This contains the spoken text.", "start": 1.23, "end": 4.56, "speaker": 0,
    # "speaker_name": "John Doe"
    "ts": '{ "type": "ts", "data": { "transcript": "This contains the spoken text.", "start": 1.23, '
    '"end": 4.56, "speaker": 0, "speaker_name": "John Doe" } }',
    # seed 004: "username": "John Doe", "content": "Foo bar.", "user_avatar": null
    "chat-message": '{ "type": "chat-message", "data": { "username": "John Doe", "content": "Foo bar.", '
    '"user_avatar": null } }',
    # seed 004: "participantId": "John Doe", "participantName": "John Doe"
    "participant-tracked": '{ "type": "participant-tracked", "data": { "participantId": "John Doe", '
    '"participantName": "John Doe" } }',
    "started-speaking": '{ "type": "started-speaking", "data": { "participantId": "John Doe", '
    '"participantName": "John Doe" } }',
    "stopped-speaking": '{ "type": "stopped-speaking", "data": { "participantId": "John Doe", '
    '"participantName": "John Doe" } }',
    "stop": '{ "type": "stop" }',
    # seed 004: "data": { "message": "Error message" }
    "error": '{ "type": "error", "data": { "message": "Error message" } }',
}


@pytest.mark.parametrize("kind", sorted(SEED_MESSAGES))
def test_every_documented_message_parses(kind: str) -> None:
    message = parse_message(SEED_MESSAGES[kind])
    assert message.type == kind
    assert message.known
    assert message.terminal is (kind in ("stop", "error"))
    expected_lines = 1 if kind == "ts" else 0
    assert len(message.lines()) == expected_lines


def test_a_transcript_line_reads_the_documented_fields() -> None:
    (line,) = parse_message(SEED_MESSAGES["ts"]).lines()
    assert line == LiveLine(
        text="This contains the spoken text.", start=1.23, end=4.56, speaker=0, speaker_name="John Doe"
    )


def test_speaker_name_may_be_null_at_first() -> None:
    # seed 004: "`speaker_name` may be `null` at the start"
    (line,) = parse_message(
        '{"type": "ts", "data": {"transcript": "hi", "start": 0.5, "end": 1, "speaker": 1, "speaker_name": null}}'
    ).lines()
    assert line.speaker_name is None
    assert line.speaker == 1


def test_a_connected_message_replays_lines() -> None:
    lines = parse_message(
        json.dumps(
            {
                "type": "connected",
                "data": {"transcripts": [{"transcript": "a", "start": 1, "end": 2, "speaker": 0}]},
            }
        )
    ).lines()
    assert [line.text for line in lines] == ["a"]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"data": {}}',
        '{"type": "ts", "data": {"start": 1}}',
        '{"type": "ts", "data": {"transcript": "x"}}',
        '{"type": "ts", "data": {"transcript": "x", "start": "soon"}}',
        '{"type": "ts", "data": {"transcript": "x", "start": 1e999}}',
        "[" * 100000,
    ],
)
def test_malformed_messages_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(MessageError):
        parse_message(text).lines()


def test_unknown_types_are_kept_as_unknown() -> None:
    message = parse_message('{"type": "something-new", "data": {"x": 1}}')
    assert not message.known
    assert message.lines() == []


def test_a_line_key_is_its_content() -> None:
    a = LiveLine("hello", 1.0, 2.0, 0, None)
    assert a.key == LiveLine("hello", 1.0, 2.0, 0, "Named later").key  # the name is not identity
    assert a.key != LiveLine("hello", 1.0, 2.5, 0, None).key


def _line(text: str, start: float, speaker: int, name: str | None, leg: int = 1) -> ReceivedLine:
    return ReceivedLine(
        LiveLine(text, start, start + 1, speaker, name), T0 + timedelta(seconds=start + 0.1 * leg)
    )


def test_final_files_name_early_lines_with_a_late_name_and_drop_duplicates() -> None:
    record = RelayRecord(relay_id="r", meeting_id="m", session_id="s", title=None, started_at=T0)
    record.lines = [
        _line("one", 1.0, 0, None),
        _line("two", 2.0, 1, "Bob"),
        _line("three", 3.0, 0, "Alice"),
        _line("three", 3.0, 0, "Alice", leg=2),  # the same line seen by an overlapping leg
    ]
    files = build_files(record)
    transcript = json.loads(files.files["transcript/transcript.json"][0])
    assert [(e["participant"]["name"], e["words"][0]["text"]) for e in transcript] == [
        ("Alice", "one"),
        ("Bob", "two"),
        ("Alice", "three"),
    ]
    assert transcript[0]["words"][0]["start_timestamp"] == {
        "absolute": "2026-06-03T10:00:01.000000Z",
        "relative": 1.0,
    }
    assert files.files["transcript/transcript.txt"][0].decode().splitlines()[0] == "[00:00:01] Alice: one"


def test_the_same_message_from_two_legs_at_a_handover_is_one() -> None:
    data = {"participantId": "A", "participantName": "A"}
    events = [
        ReceivedEvent("started-speaking", data, T0, "00001#0000001"),
        ReceivedEvent("started-speaking", data, T0 + timedelta(milliseconds=40), "00002#0000001"),
        ReceivedEvent("started-speaking", data, T0 + timedelta(seconds=5), "00002#0000009"),
    ]
    assert [e.key for e in distinct_events(events)] == ["00001#0000001", "00002#0000009"]


def test_gaps_are_the_holes_between_every_legs_connections() -> None:
    connections = [
        Connection(1, T0, T0 + timedelta(seconds=10)),
        Connection(2, T0 + timedelta(seconds=9), T0 + timedelta(seconds=20)),  # overlap: no gap
        Connection(2, T0 + timedelta(seconds=23), T0 + timedelta(seconds=30)),  # 3 s without any leg
    ]
    assert gaps(connections, None) == [(T0 + timedelta(seconds=20), T0 + timedelta(seconds=23))]


def test_a_leg_that_connects_after_the_stream_ended_opens_no_gap() -> None:
    """GIVEN ``stop`` arriving on leg 4 just as leg 5 was started (leg 5 connects 5 ms after leg 4
    hung up) THEN no gap: the stream had ended. A hole before the end still counts, and a relay
    that gave up has a hole from its last connection to the end."""
    stop = T0 + timedelta(seconds=30)
    ms = timedelta(milliseconds=1)
    late = Connection(5, stop + 13 * ms, stop + 90 * ms)
    connections = [Connection(4, T0 + timedelta(seconds=12), stop + 8 * ms), late]
    assert gaps(connections, stop) == []
    assert gaps(connections, None) == [(stop + 8 * ms, stop + 13 * ms)]  # end unknown: counted
    dropped = [Connection(3, T0, T0 + timedelta(seconds=10)), *connections]
    assert gaps(dropped, stop) == [(T0 + timedelta(seconds=10), T0 + timedelta(seconds=12))]
    gave_up = T0 + timedelta(seconds=600)
    assert gaps([Connection(1, T0, T0 + timedelta(seconds=10))], gave_up, gave_up=True) == [
        (T0 + timedelta(seconds=10), gave_up)
    ]
