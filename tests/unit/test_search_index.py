"""The utterance index rows and the search SQL, run by DuckDB over real index files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cli.search import duckdb_search, parse_since, render_hits
from local.sample_meeting import SampleMeeting
from shared.search.index import COLUMNS
from shared.search.query import SearchQuery, athena_parameters, search_sql
from shared.session.model import (
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    ArtifactState,
    SeenEvent,
    SessionFacts,
    build_outputs,
)

MEETING = SampleMeeting()
LATER = replace(
    SampleMeeting(),
    session_id="6e55a0d1-7f42-4b6c-8e0a-3c9d2b7e4f11",
    started_at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
    title="Retro",
)


def index_of(meeting: SampleMeeting, transcript: bytes | None = None) -> dict[str, bytes]:
    urls = {name: f"https://files.test/{name}" for name in meeting.files()}
    events = []
    for payload in meeting.webhooks(urls):
        body = json.dumps(payload).encode()
        events.append(SeenEvent(hashlib.sha256(body).hexdigest(), str(payload["event"]), payload))
    prefix = f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/"
    record = ArtifactRecord(
        name=TRANSCRIPT_SOURCE,
        kind="transcript_source",
        state=ArtifactState.ARCHIVED,
        key=prefix + "transcript/source.csv",
    )
    facts = SessionFacts(meeting.meeting_id, meeting.session_id, events, [record])
    out = build_outputs(
        facts, {TRANSCRIPT_SOURCE: meeting.transcript_csv() if transcript is None else transcript}
    )
    return {key: data for key, (data, _) in out.index.items()}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index")
    for meeting in (MEETING, LATER):
        for key, data in index_of(meeting).items():
            path = root / key.removeprefix("index/utterances/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return root


def test_rows_one_per_utterance_under_the_session_day() -> None:
    [(key, data)] = index_of(MEETING).items()
    assert key == f"index/utterances/date=2026-06-03/{MEETING.session_id}.jsonl"
    rows = [json.loads(line) for line in data.decode().splitlines()]
    assert len(rows) == 7
    assert list(rows[2]) == [name for name, _ in COLUMNS]
    assert rows[2]["speaker"] == 'Chen "CJ" Jie'
    assert rows[2]["start_s"] == 9.8  # offsets count from the recording's start (2 s into the session)
    assert rows[2]["title"] == MEETING.title
    assert rows[2]["page_key"] == f"meetings/{MEETING.meeting_id}/sessions/{MEETING.session_id}/index.html"
    assert rows[2]["text"] == 'Quick note: the "beta" flag ships Friday, not Thursday.'


def test_phrase_matches_case_insensitively_newest_first(index_dir: Path) -> None:
    hits = duckdb_search(index_dir, SearchQuery("the FAQ"))
    assert [(h.day, h.start_s) for h in hits] == [
        ("2026-07-01", 29.4),
        ("2026-07-01", 36.6),
        ("2026-06-03", 29.4),
        ("2026-06-03", 36.6),
    ]
    assert hits[0].title == "Retro"
    assert render_hits(hits)[1] == (
        '  [00:29] Chen "CJ" Jie: Nice. Let\'s make sure the dashboard, the docs, and the FAQ agree.'
    )


def test_speaker_since_and_limit(index_dir: Path) -> None:
    assert {h.speaker for h in duckdb_search(index_dir, SearchQuery("the", speaker="josé"))} == {
        "José Müller"
    }
    since = duckdb_search(index_dir, SearchQuery("the", since=date(2026, 6, 4)))
    assert {h.session_id for h in since} == {LATER.session_id}
    assert len(duckdb_search(index_dir, SearchQuery("e", limit=3))) == 3


def test_like_wildcards_in_the_phrase_are_literal(index_dir: Path) -> None:
    assert [h.start_s for h in duckdb_search(index_dir, SearchQuery("up 12%, churn"))] == [20.9, 20.9]
    assert duckdb_search(index_dir, SearchQuery("up 1_%")) == []
    assert duckdb_search(index_dir, SearchQuery("'; DROP TABLE utterances; --")) == []


def test_a_phrase_across_a_line_break_matches_and_prints_on_one_line(tmp_path: Path) -> None:
    transcript = b'"1200","peer-a1","u-alice","alice@example.com","Alice Ng","Let us review the\r\nquarterly  roadmap today"\n'
    [(key, data)] = index_of(MEETING, transcript).items()
    # Indexed as transcript.txt shows it: one line, runs of whitespace as one space.
    assert json.loads(data)["text"] == "Let us review the quarterly roadmap today"
    path = tmp_path / key.removeprefix("index/utterances/")
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    hits = duckdb_search(tmp_path, SearchQuery("the quarterly roadmap"))
    assert len(hits) == 1
    assert duckdb_search(tmp_path, SearchQuery("the\nquarterly   roadmap")) == hits
    assert render_hits(hits)[1] == "  [00:00] Alice Ng: Let us review the quarterly roadmap today"
    # A row indexed before (raw line breaks) still prints as one line.
    assert render_hits([replace(hits[0], text="review the\r\nquarterly roadmap")])[1] == (
        "  [00:00] Alice Ng: review the quarterly roadmap"
    )


def test_one_sql_two_ways_of_passing_values() -> None:
    sql, parameters = search_sql(SearchQuery("it's 50%", speaker="O'Neil", since=date(2026, 6, 1), limit=5))
    assert sql.count("?") == len(parameters) == 3
    assert sql.endswith("LIMIT 5")
    assert parameters == ["%it's 50\\%%", "%o'neil%", "2026-06-01"]
    assert athena_parameters(parameters) == ["'%it''s 50\\%%'", "'%o''neil%'", "'2026-06-01'"]
    with pytest.raises(ValueError, match="empty"):
        SearchQuery("  ")
    with pytest.raises(ValueError, match="limit"):
        SearchQuery("x", limit=0)


def test_since_accepts_days_weeks_and_dates() -> None:
    today = date(2026, 7, 31)
    assert parse_since("30d", today=today) == date(2026, 7, 1)
    assert parse_since("2w", today=today) == date(2026, 7, 17)
    assert parse_since("2026-06-01", today=today) == date(2026, 6, 1)
    assert parse_since(None) is None
