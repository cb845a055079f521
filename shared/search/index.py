"""The utterance index: rows derived from a session's normalized transcript, written beside the
other derived files (``shared.session.model``), partitioned by the session's day so a query with
``--since`` reads only the days it needs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from shared.core.text import one_line

INDEX_PREFIX = "index/utterances/"
# The table's columns, in order (infra/search.py declares the same to Glue; DuckDB reads them too).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("meeting_id", "string"),
    ("session_id", "string"),
    ("title", "string"),
    ("session_started_at", "string"),
    ("speaker", "string"),
    ("participant_id", "int"),
    ("start_s", "double"),
    ("spoken_at", "string"),
    ("text", "string"),
    ("page_key", "string"),
)
PARTITION = "date"


def utterance_index_key(day: date, session_id: str) -> str:
    return f"{INDEX_PREFIX}{PARTITION}={day:%Y-%m-%d}/{session_id}.jsonl"


def index_day(session_started_at: str | None, transcript: Sequence[Mapping[str, Any]]) -> date | None:
    """The partition: the session's start day (UTC), else the day of the first utterance's absolute
    time; None when neither is known (the index waits for a later rebuild that knows it)."""
    candidates = [session_started_at]
    if transcript:
        words = transcript[0].get("words") or [{}]
        candidates.append((words[0].get("start_timestamp") or {}).get("absolute"))
    for value in candidates:
        if value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
            except ValueError:
                continue
    return None


def utterance_rows(
    *,
    meeting_id: str,
    session_id: str,
    title: str | None,
    session_started_at: str | None,
    transcript: Sequence[Mapping[str, Any]],
    page_key: str,
) -> bytes:
    """One JSON object per line per utterance (``transcript.json`` entries), keys as ``COLUMNS``."""
    lines = []
    for entry in transcript:
        words = entry.get("words") or [{}]
        start = words[0].get("start_timestamp") or {}
        person = entry.get("participant") or {}
        row = {
            "meeting_id": meeting_id,
            "session_id": session_id,
            "title": title,
            "session_started_at": session_started_at,
            "speaker": person.get("name"),
            "participant_id": person.get("id"),
            "start_s": start.get("relative"),
            "spoken_at": start.get("absolute"),
            # One line, as transcript.txt shows it: a phrase across a line break matches, and a hit
            # prints as one line.
            "text": one_line(" ".join(str(w.get("text") or "") for w in words)),
            "page_key": page_key,
        }
        lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode() if lines else b""
