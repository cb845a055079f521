"""Transcript detection, parsing and rendering (shared.normalize.transcript)."""

from __future__ import annotations

import csv
import html
import io
import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalize import (
    EmptyArtifactError,
    MalformedArtifactError,
    NormalizeError,
    Transcript,
    UnrecognizedFormatError,
    cue_times_ms,
    detect_transcript_format,
    parse_transcript,
    speaker_timeline_to_json,
    transcript_to_json,
    transcript_to_srt,
    transcript_to_txt,
    transcript_to_vtt,
)
from shared.normalize.seed_models import SpeakerTimelineDocument, TranscriptDocument

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts"
SESSION_START = datetime(2026, 6, 3, 10, 0, 0, tzinfo=UTC)
DYTE_SESSION_START = datetime(2023, 4, 14, 4, 46, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def one_line(text: str) -> str:
    return "".join(ch for ch in " ".join(text.split()) if unicodedata.category(ch) != "Cc")


def clock(ms: int) -> str:
    """webvtt-py's rendering of a cue time."""
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


# --- detection --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("realtimekit_basic.csv", "realtimekit_csv"),
        ("realtimekit_tricky.csv", "realtimekit_csv"),
        ("realtimekit_epoch.csv", "realtimekit_csv"),
        ("dyte_legacy.csv", "dyte_csv"),
        ("dyte_legacy_4col.csv", "dyte_csv"),
        ("realtimekit.json", "realtimekit_json"),
    ],
)
def test_format_is_detected_from_content_not_name(name: str, expected: str) -> None:
    raw = fixture(name)

    assert detect_transcript_format(raw) == expected
    assert parse_transcript(raw).source_format == expected


def test_json_content_behind_a_csv_url_is_read_as_json() -> None:
    # GIVEN JSON bytes (the URL might say .csv): WHEN parsed THEN the JSON reader is used.
    transcript = parse_transcript(fixture("realtimekit.json"))

    assert transcript.source_extension == "json"
    assert transcript.utterances[0].end_s == 2.5


# --- RealtimeKit CSV ------------------------------------------------------------------------------


def test_realtimekit_csv_start_is_ms_from_session_start() -> None:
    transcript = parse_transcript(fixture("realtimekit_basic.csv"), session_started_at=SESSION_START)

    first = transcript.utterances[0]
    assert (first.start_s, first.end_s, first.text) == (1.0, None, "Hello everyone")
    assert first.speaker.peer_id == "peer-123"
    assert first.speaker.user_id == "user-456"
    assert first.speaker.custom_participant_id == "cust-789"
    assert first.speaker.name == "Alice"
    assert transcript.time_base == "session_start"
    assert transcript.origin == SESSION_START


def test_unknown_session_start_leaves_absolute_times_null() -> None:
    document = json.loads(transcript_to_json(parse_transcript(fixture("realtimekit_basic.csv"))))

    assert document[0]["words"][0]["start_timestamp"] == {"absolute": None, "relative": 1.0}


def test_bom_crlf_unicode_commas_quotes_and_newlines_survive() -> None:
    transcript = parse_transcript(fixture("realtimekit_tricky.csv"))

    texts = {u.speaker.name: u.text for u in transcript.utterances}
    assert texts['Bo "The Boss" O\'Neil, Jr.'] == 'Line one\nline two, with "quotes"'
    assert texts["李雷 🎤"] == "你好\uff0c世界 <b>&</b> --> arrows"
    assert transcript.utterances[0].speaker.peer_id == "peer-a1"  # no BOM glued to the first cell
    assert transcript.utterances[0].text == "Bonjour, tout le monde — ça va?"


def test_utterances_are_sorted_by_start_time() -> None:
    transcript = parse_transcript(fixture("realtimekit_tricky.csv"))

    assert [u.start_s for u in transcript.utterances] == [1.2, 3.4, 5.0, 9.0, 10.5]


def test_epoch_milliseconds_are_absolute_times() -> None:
    with_start = parse_transcript(fixture("realtimekit_epoch.csv"), session_started_at=SESSION_START)
    without_start = parse_transcript(fixture("realtimekit_epoch.csv"))

    assert [u.start_s for u in with_start.utterances] == [1.5, 4.0]
    assert with_start.time_base == "session_start"
    # Without a session start, times count from the first utterance, whose absolute time is known.
    assert [u.start_s for u in without_start.utterances] == [0.0, 2.5]
    assert without_start.time_base == "first_utterance"
    word = json.loads(transcript_to_json(without_start))[0]["words"][0]
    assert word["start_timestamp"] == {"absolute": "2026-06-03T10:00:01.500000Z", "relative": 0.0}


# --- legacy Dyte CSV ----------------------------------------------------------------------------


def test_dyte_csv_with_header_and_iso_times() -> None:
    transcript = parse_transcript(fixture("dyte_legacy.csv"), session_started_at=DYTE_SESSION_START)

    assert [(u.start_s, u.speaker.name, u.text) for u in transcript.utterances] == [
        (8.306, "Ana, PhD", "Hello, world"),
        (10.0, "Ben", 'He said "hi"'),
    ]
    assert transcript.utterances[0].speaker.custom_participant_id == "cust-1"
    word = json.loads(transcript_to_json(transcript))[1]["words"][0]
    assert word["start_timestamp"] == {"absolute": "2023-04-14T04:46:10.000000Z", "relative": 10.0}


def test_dyte_csv_without_session_start_counts_from_first_utterance() -> None:
    transcript = parse_transcript(fixture("dyte_legacy.csv"))

    assert transcript.time_base == "first_utterance"
    assert transcript.origin == datetime(2023, 4, 14, 4, 46, 8, 306000, tzinfo=UTC)
    assert [u.start_s for u in transcript.utterances] == [0.0, 1.694]


def test_older_four_column_dyte_header() -> None:
    transcript = parse_transcript(fixture("dyte_legacy_4col.csv"))

    assert [(u.speaker.peer_id, u.speaker.name, u.text) for u in transcript.utterances] == [
        ("peer-1", "Ana", "Hello"),
        ("peer-2", "Ben", "Bye"),
    ]
    assert transcript.utterances[0].speaker.user_id is None


# --- JSON -------------------------------------------------------------------------------------------


def test_json_keeps_end_times_and_peer_data() -> None:
    transcript = parse_transcript(fixture("realtimekit.json"), session_started_at=SESSION_START)

    second = transcript.utterances[1]
    assert (second.start_s, second.end_s) == (2.6, 4.1)
    assert second.text == 'Hi Alice, "quoted"\nnew line'
    assert second.speaker.name == 'Bob "B", Sr.'
    assert second.speaker.custom_participant_id == "cust-987"
    word = json.loads(transcript_to_json(transcript))[1]["words"][0]
    assert word["end_timestamp"] == {"absolute": "2026-06-03T10:00:04.100000Z", "relative": 4.1}


def test_json_wrapped_in_a_data_object() -> None:
    items = json.loads(fixture("realtimekit.json"))

    transcript = parse_transcript(json.dumps({"data": items}).encode())

    assert len(transcript.utterances) == 4


# --- empty and bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        fixture("whitespace_only.csv"),
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf\r\n",
        fixture("dyte_header_only.csv"),
        b"[]",
        b'{"data": []}',
        b'"1000","peer-1","user-1","cust-1","Alice","   "\n',
    ],
    ids=[
        "0-byte",
        "whitespace",
        "bom-only",
        "bom-newline",
        "header-only",
        "json-empty",
        "data-empty",
        "blank-text",
    ],
)
def test_empty_transcript_is_a_typed_failure(raw: bytes) -> None:
    with pytest.raises(EmptyArtifactError) as caught:
        parse_transcript(raw)

    assert caught.value.reason == "empty"
    assert "transcript" in str(caught.value)


def test_zero_byte_message_says_so() -> None:
    with pytest.raises(EmptyArtifactError, match=r"transcript is empty \(0 bytes"):
        parse_transcript(fixture("empty.csv"))


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        (b"hello there, this is not a transcript\n", "38 bytes, sha256 "),
        (fixture("transcript.vtt"), "WebVTT"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nAlice: hi\n", "SRT"),
        (b"\xff\xfe\x00\x01binary", "not UTF-8"),
        (b"[1, 2", "does not parse"),
        (b'{"foo": 1}', "not an array"),
        (b'[{"foo": 1}]', "startTime"),
        (b'"a","b","c"\n', "neither RealtimeKit CSV"),
    ],
)
def test_unrecognized_transcript_names_the_problem(raw: bytes, hint: str) -> None:
    with pytest.raises(UnrecognizedFormatError) as caught:
        parse_transcript(raw)

    assert hint in str(caught.value)
    assert caught.value.reason == "unrecognized_format"


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        (b'"1000","p","u","c","A","ok"\n"2000","p","u","A","too few"\n', "line 2: 5 columns"),
        (
            b'"1000","p","u","c","A","ok"\n"soon","p","u","c","A","x"\n',
            "line 2: a str of 4 characters is not a time",
        ),
        (b'"1000","p","u","c","A","ok"\n"1780480800000","p","u","c","A","x"\n', "mixes offsets"),
        (b'[{"startTime": "later", "sentence": "x"}]', "entry 0 startTime"),
        (b'[{"startTime": 1, "sentence": 5}]', "not text"),
        (
            b'[{"startTime": "1e400", "sentence": "x"}]',
            "entry 0 startTime: a str of 5 characters is not a time",
        ),
        (b'[{"startTime": 1, "endTime": true, "sentence": "x"}]', "entry 0 endTime"),
    ],
)
def test_malformed_transcript_points_at_the_entry(raw: bytes, hint: str) -> None:
    with pytest.raises(MalformedArtifactError, match=hint):
        parse_transcript(raw)


def test_every_failure_is_a_normalize_error() -> None:
    assert issubclass(EmptyArtifactError, NormalizeError)
    assert issubclass(UnrecognizedFormatError, NormalizeError)
    assert issubclass(MalformedArtifactError, NormalizeError)


# --- transcript.json and speaker_timeline.json ------------------------------------------------


ALL_FIXTURES = [
    "realtimekit_basic.csv",
    "realtimekit_tricky.csv",
    "realtimekit_epoch.csv",
    "dyte_legacy.csv",
    "dyte_legacy_4col.csv",
    "realtimekit.json",
]


@pytest.mark.parametrize("name", ALL_FIXTURES)
@pytest.mark.parametrize("session_start", [None, SESSION_START])
def test_normalized_json_validates_against_the_seed_shapes(name: str, session_start: datetime | None) -> None:
    transcript = parse_transcript(fixture(name), session_started_at=session_start)

    entries = TranscriptDocument.validate_json(transcript_to_json(transcript))
    timeline = SpeakerTimelineDocument.validate_json(speaker_timeline_to_json(transcript))

    assert len(entries) == len(transcript.utterances)
    assert all(len(entry.words) == 1 for entry in entries)  # one utterance = one "word"
    assert [e.words[0].text for e in entries] == [u.text for u in transcript.utterances]
    assert timeline


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_outputs_are_byte_identical_across_runs(name: str) -> None:
    def render(transcript: Transcript) -> list[bytes]:
        return [
            transcript_to_json(transcript),
            speaker_timeline_to_json(transcript),
            transcript_to_txt(transcript),
            transcript_to_vtt(transcript),
            transcript_to_srt(transcript),
        ]

    first = render(parse_transcript(fixture(name), session_started_at=SESSION_START))
    second = render(parse_transcript(fixture(name), session_started_at=SESSION_START))

    assert first == second


def test_json_is_utf8_not_escaped() -> None:
    body = transcript_to_json(parse_transcript(fixture("realtimekit_tricky.csv")))

    assert "李雷 🎤".encode() in body
    assert body.endswith(b"\n")


def test_rejoined_speaker_keeps_one_participant_id() -> None:
    entries = json.loads(transcript_to_json(parse_transcript(fixture("realtimekit_tricky.csv"))))

    ana = [e["participant"] for e in entries if e["participant"]["name"] == "José Ñúñez"]
    assert {p["id"] for p in ana} == {1}
    assert {p["extra_data"]["peer_id"] for p in ana} == {"peer-a1", "peer-a2"}
    assert ana[0]["extra_data"]["custom_participant_id"] == "cust-ana"


def test_speaker_timeline_merges_consecutive_utterances_of_one_person() -> None:
    transcript = parse_transcript(fixture("realtimekit.json"), session_started_at=SESSION_START)

    timeline = json.loads(speaker_timeline_to_json(transcript))

    assert [(t["participant"]["name"], t["start_timestamp"]["relative"]) for t in timeline] == [
        ("Alice", 1.0),
        ('Bob "B", Sr.', 2.6),
        ("Alice", 4.2),
    ]
    assert timeline[2]["end_timestamp"] == {"absolute": "2026-06-03T10:00:06.000000Z", "relative": 6.0}


def test_speaker_timeline_end_is_null_when_the_source_has_no_end() -> None:
    timeline = json.loads(speaker_timeline_to_json(parse_transcript(fixture("realtimekit_tricky.csv"))))

    assert [t["participant"]["id"] for t in timeline] == [1, 2, 3, 1]
    assert all(t["end_timestamp"] == {"absolute": None, "relative": None} for t in timeline)


# --- txt, vtt, srt ----------------------------------------------------------------------------------


def test_txt_is_one_line_per_utterance_with_times() -> None:
    text = transcript_to_txt(parse_transcript(fixture("realtimekit_basic.csv"))).decode()

    assert text == (
        "[00:00:01] Alice: Hello everyone\n[00:00:02] Bob: Hi Alice\n[00:00:04] Alice: Let's start\n"
    )


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_vtt_parses_back_with_webvtt_py(name: str) -> None:
    transcript = parse_transcript(fixture(name))

    captions = webvtt.from_string(transcript_to_vtt(transcript).decode()).captions

    assert len(captions) == len(transcript.utterances)
    for caption, u, (start, end) in zip(
        captions, transcript.utterances, cue_times_ms(transcript), strict=True
    ):
        assert html.unescape(caption.text) == f"{one_line(u.speaker.label)}: {one_line(u.text)}"
        assert (caption.start, caption.end) == (clock(start), clock(end))
        assert end > start


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_srt_parses_back_with_srt(name: str) -> None:
    transcript = parse_transcript(fixture(name))

    subtitles = list(srt.parse(transcript_to_srt(transcript).decode()))

    assert len(subtitles) == len(transcript.utterances)
    for subtitle, u, (start, end) in zip(
        subtitles, transcript.utterances, cue_times_ms(transcript), strict=True
    ):
        assert subtitle.content == f"{one_line(u.speaker.label)}: {one_line(u.text)}"
        assert subtitle.start.total_seconds() * 1000 == pytest.approx(start)
        assert subtitle.end.total_seconds() * 1000 == pytest.approx(end)


def test_vtt_escapes_markup_in_text() -> None:
    vtt = transcript_to_vtt(parse_transcript(fixture("realtimekit_tricky.csv"))).decode()

    assert "李雷 🎤: 你好\uff0c世界 &lt;b&gt;&amp;&lt;/b&gt; --&gt; arrows" in vtt
    assert vtt.startswith("WEBVTT\n\n")


def test_cue_end_uses_source_end_time() -> None:
    transcript = parse_transcript(fixture("realtimekit.json"))

    assert cue_times_ms(transcript) == [(1000, 2500), (2600, 4100), (4200, 5000), (5100, 6000)]


def test_cue_end_without_source_end_is_capped_by_next_start_and_reading_time() -> None:
    # Starts 1.0, 2.5, 4.0 s; texts of 14, 8 and 11 characters (under 1 s of reading: 1 s minimum).
    transcript = parse_transcript(fixture("realtimekit_basic.csv"))

    assert cue_times_ms(transcript) == [(1000, 2000), (2500, 3500), (4000, 5000)]


def test_cue_reading_time_is_capped_at_five_seconds_and_cut_by_the_next_cue() -> None:
    long_text = "word " * 100
    raw = f'"0","p1","u1","c1","A","{long_text}"\n"3000","p2","u2","c2","B","{long_text}"\n'.encode()

    assert cue_times_ms(parse_transcript(raw)) == [(0, 3000), (3000, 8000)]


def test_cue_before_session_start_is_clamped_to_zero() -> None:
    raw = b'"-500","p1","u1","c1","A","early"\n"1000","p1","u1","c1","A","later"\n'
    transcript = parse_transcript(raw)

    assert transcript.utterances[0].start_s == -0.5  # the data is kept as it is
    assert cue_times_ms(transcript)[0] == (0, 1000)
    assert next(srt.parse(transcript_to_srt(transcript).decode())).start.total_seconds() == 0


def test_utterances_with_equal_start_keep_source_order_and_get_cues() -> None:
    raw = b'"1000","p1","u1","c1","A","first"\n"1000","p2","u2","c2","B","second"\n'
    transcript = parse_transcript(raw)

    assert [u.text for u in transcript.utterances] == ["first", "second"]
    assert cue_times_ms(transcript) == [(1000, 2000), (1000, 2000)]
    assert len(webvtt.from_string(transcript_to_vtt(transcript).decode()).captions) == 2


# --- property: anything a CSV writer can write survives ---------------------------------------

_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]),
    min_size=0,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**9), _TEXT, _TEXT).filter(lambda r: r[2].strip()),
        min_size=1,
        max_size=6,
    )
)
def test_any_names_and_texts_round_trip_and_render(rows: list[tuple[int, str, str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    for index, (start_ms, name, text) in enumerate(rows):
        writer.writerow([start_ms, f"peer-{index}", f"user-{index}", f"cust-{index}", name, text])

    transcript = parse_transcript(buffer.getvalue().encode())

    expected = sorted(((start / 1000, text.strip()) for start, _, text in rows), key=lambda r: r[0])
    assert [(u.start_s, u.text) for u in transcript.utterances] == expected
    TranscriptDocument.validate_json(transcript_to_json(transcript))
    SpeakerTimelineDocument.validate_json(speaker_timeline_to_json(transcript))
    assert len(webvtt.from_string(transcript_to_vtt(transcript).decode()).captions) == len(rows)
    subtitles = list(srt.parse(transcript_to_srt(transcript).decode()))
    assert [s.content for s in subtitles] == [
        f"{one_line(u.speaker.label)}: {one_line(u.text)}" for u in transcript.utterances
    ]
