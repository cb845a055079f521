"""Search benchmark: DuckDB over a generated utterance index, against a plain Python scan.

Generates SESSIONS sessions of UTTERANCES utterances each (rows made by the pipeline's own
``shared.search.index.utterance_rows``; 20 sessions a day), then runs ``meeting-vault search``'s
query (``cli.search.duckdb_search``) and, as the baseline, a Python loop that parses every row and
tests the same condition. Prints wall time (median of --runs), the bytes each query reads (the JSON
files of the partitions it needs: JSON has no column pruning, so Athena scans the same), and the
Athena cost of one query over a year of meetings at --per-day meetings a day.

Usage: python -m bench.search [--sessions 1000] [--utterances 200] [--runs 5] [--per-day 50]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from cli.search import duckdb_search
from shared.search.index import utterance_index_key, utterance_rows
from shared.search.query import SearchQuery

SESSIONS_PER_DAY = 20
ATHENA_USD_PER_TB = 5.0  # Athena SQL, per TB scanned (us-east-1 list price)
ATHENA_MIN_BYTES = 10 * 1024**2  # each query is billed at least 10 MB
WORDS = [
    "revenue",
    "churn",
    "release",
    "roadmap",
    "customer",
    "budget",
    "hiring",
    "deadline",
    "dashboard",
    "metrics",
    "design",
    "review",
    "incident",
    "launch",
    "pricing",
    "contract",
    "migration",
    "testing",
    "feedback",
    "priority",
    "estimate",
    "onboarding",
]
PEOPLE = ("Alice Ng", "José Müller", 'Chen "CJ" Jie', "Priya Raman", "Tomás Silva", "Mia Wong")
FIRST_DAY = date(2026, 1, 1)


def generate(root: Path, sessions: int, utterances: int, seed: int = 7) -> tuple[int, date]:
    rng = random.Random(seed)
    total = 0
    day = FIRST_DAY
    for number in range(sessions):
        day = FIRST_DAY + timedelta(days=number // SESSIONS_PER_DAY)
        session_id = f"s{number:06d}"
        transcript = []
        at = 0.0
        for _ in range(utterances):
            at += rng.uniform(2, 12)
            person = rng.randrange(len(PEOPLE))
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 24)))
            if rng.random() < 0.002:
                text += " the quarterly forecast slipped"
            transcript.append(
                {
                    "participant": {"id": person + 1, "name": PEOPLE[person]},
                    "words": [
                        {"text": text, "start_timestamp": {"relative": round(at, 3), "absolute": None}}
                    ],
                }
            )
        rows = utterance_rows(
            meeting_id=f"m{number % 50:03d}",
            session_id=session_id,
            title=f"Meeting {number}",
            session_started_at=f"{day.isoformat()}T10:00:00Z",
            transcript=transcript,
            page_key=f"meetings/m{number % 50:03d}/sessions/{session_id}/index.html",
        )
        path = root / utterance_index_key(day, session_id).removeprefix("index/utterances/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rows)
        total += len(rows)
    return total, day


def bytes_read(root: Path, since: date | None) -> int:
    return sum(
        f.stat().st_size
        for f in root.glob("date=*/*.jsonl")
        if since is None or f.parent.name.removeprefix("date=") >= since.isoformat()
    )


def python_scan(root: Path, query: SearchQuery) -> int:
    """The baseline: read every needed file, parse every row, filter, sort, cut."""
    phrase = query.phrase.lower()
    speaker = (query.speaker or "").lower()
    hits = []
    for path in root.glob("date=*/*.jsonl"):
        day = path.parent.name.removeprefix("date=")
        if query.since and day < query.since.isoformat():
            continue
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if phrase in row["text"].lower() and speaker in (row["speaker"] or "").lower():
                hits.append((day, row["session_started_at"], row["session_id"], row["start_s"]))
    hits.sort(key=lambda h: (h[0], h[1]), reverse=True)
    return len(hits[: query.limit])


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--utterances", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--per-day", type=int, default=50, help="meetings a day for the Athena estimate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        total, last_day = generate(root, args.sessions, args.utterances)
        rows = args.sessions * args.utterances
        print(
            f"index: {args.sessions:,} sessions x {args.utterances} utterances = {rows:,} rows, "
            f"{total:,} bytes ({total / rows:.0f} B/row), generated in {time.perf_counter() - started:.1f}s"
        )
        queries = {
            "phrase, all days": SearchQuery("quarterly forecast", limit=20),
            "phrase + speaker": SearchQuery("budget", speaker="josé", limit=20),
            "phrase, --since 7d": SearchQuery("budget", since=last_day - timedelta(days=7), limit=20),
        }
        print(f"{'query':<20} {'duckdb s':>9} {'python s':>9} {'ratio':>6} {'hits':>5} {'bytes read':>13}")
        for name, query in queries.items():
            duck_time, hits = timed(lambda q=query: duckdb_search(root, q), args.runs)
            python_time, count = timed(lambda q=query: python_scan(root, q), max(1, args.runs // 2))
            assert isinstance(hits, list)
            assert len(hits) == count, (name, len(hits), count)
            print(
                f"{name:<20} {duck_time:>9.3f} {python_time:>9.3f} {python_time / duck_time:>5.1f}x "
                f"{len(hits):>5} {bytes_read(root, query.since):>13,}"
            )
        per_session = total / args.sessions
        year_bytes = per_session * args.per_day * 365
        billed = max(year_bytes, ATHENA_MIN_BYTES)
        cost = billed / 1e12 * ATHENA_USD_PER_TB
        print(
            f"Athena, one query over a year at {args.per_day} meetings/day: {args.per_day} x 365 x "
            f"{per_session:,.0f} B = {year_bytes / 1e9:.2f} GB scanned x ${ATHENA_USD_PER_TB:.0f}/TB "
            f"= ${cost:.4f} per query (billed at least 10 MB)"
        )


if __name__ == "__main__":
    main()
