"""``meeting-vault search``: find what was said, across every archived meeting.

Deployed: Athena runs ``shared.search.query.search_sql`` in the stack's workgroup over the Glue
table on ``index/utterances/``. Local mode (or ``--index-dir``): DuckDB runs the same SQL over the
index's JSON Lines files (from local mode's bucket, copied to a temporary folder first)."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cli.errors import CliError
from cli.target import Target
from shared.core.text import one_line
from shared.page.render import clock
from shared.search.index import COLUMNS, INDEX_PREFIX, PARTITION
from shared.search.query import RESULT_COLUMNS, SearchQuery, athena_parameters, search_sql

_DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "double": "DOUBLE"}
_RELATIVE = re.compile(r"^(\d{1,5})([dw])$")
ATHENA_POLL_SECONDS = 0.5
ATHENA_TIMEOUT_SECONDS = 300


def parse_since(value: str | None, *, today: date | None = None) -> date | None:
    """``30d``, ``2w`` (back from today, UTC) or a date ``2026-06-01``."""
    if not value:
        return None
    today = today or datetime.now(UTC).date()
    match = _RELATIVE.match(value.strip())
    if match:
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        return today - timedelta(days=days)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CliError(
            f"--since {value!r}: use a number of days like 30d, weeks like 2w, or 2026-06-01"
        ) from None


@dataclass(frozen=True)
class Hit:
    day: str
    meeting_id: str
    session_id: str
    title: str | None
    session_started_at: str | None
    speaker: str | None
    start_s: float | None
    text: str
    page_key: str

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> Hit:
        values = dict(zip(RESULT_COLUMNS, row, strict=True))
        start = values["start_s"]
        return cls(
            day=str(values["date"]),
            meeting_id=str(values["meeting_id"]),
            session_id=str(values["session_id"]),
            title=values["title"] or None,
            session_started_at=values["session_started_at"] or None,
            speaker=values["speaker"] or None,
            start_s=float(start) if start not in (None, "") else None,
            text=str(values["text"] or ""),
            page_key=str(values["page_key"]),
        )


# -- DuckDB -------------------------------------------------------------------------------------------
def duckdb_search(index_dir: Path, query: SearchQuery) -> list[Hit]:
    """The search SQL over ``index_dir`` (a copy of ``index/utterances/``: ``date=.../*.jsonl``)."""
    import duckdb

    files = f"{index_dir.as_posix().rstrip('/')}/{PARTITION}=*/*.jsonl"
    if not any(index_dir.glob(f"{PARTITION}=*/*.jsonl")):
        return []
    columns = ", ".join(f"'{name}': '{_DUCKDB_TYPES[kind]}'" for name, kind in COLUMNS)
    sql, parameters = search_sql(query)
    with duckdb.connect(":memory:") as connection:
        path = files.replace("'", "''")
        connection.execute(
            "CREATE VIEW utterances AS SELECT * FROM read_json("  # noqa: S608 - DDL takes no parameters: the path is quoted, the rest constant
            f"'{path}', format = 'newline_delimited', columns = {{{columns}}}, "
            f"hive_partitioning = true, hive_types = {{'{PARTITION}': 'VARCHAR'}})"
        )
        rows = connection.execute(sql, parameters).fetchall()
    return [Hit.of(tuple(row)) for row in rows]


def copy_index(s3: Any, bucket: str, into: Path, since: date | None) -> int:
    """Copy the index files (of the days from ``since``) out of the bucket; returns their bytes."""
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=INDEX_PREFIX):
        for item in page.get("Contents", []):
            relative = str(item["Key"])[len(INDEX_PREFIX) :]
            folder, _, name = relative.partition("/")
            if not folder.startswith(f"{PARTITION}=") or "/" in name or not name.endswith(".jsonl"):
                continue
            if since and folder.removeprefix(f"{PARTITION}=") < since.isoformat():
                continue
            path = into / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            total += int(item["Size"])
    return total


# -- Athena -------------------------------------------------------------------------------------------
def athena_search(athena: Any, *, workgroup: str, database: str, query: SearchQuery) -> tuple[list[Hit], int]:
    """Run the search SQL in the workgroup; the hits and the bytes Athena scanned."""
    sql, parameters = search_sql(query)
    started = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database},
        WorkGroup=workgroup,
        ExecutionParameters=athena_parameters(parameters),
    )
    execution_id = started["QueryExecutionId"]
    deadline = time.monotonic() + ATHENA_TIMEOUT_SECONDS
    while True:
        execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        state = execution["Status"]["State"]
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "CANCELLED"):
            reason = execution["Status"].get("StateChangeReason", "no reason given")
            raise CliError(f"Athena query {execution_id} {state.lower()}: {reason}")
        if time.monotonic() > deadline:
            raise CliError(f"Athena query {execution_id} still {state} after {ATHENA_TIMEOUT_SECONDS}s")
        time.sleep(ATHENA_POLL_SECONDS)
    scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
    hits: list[Hit] = []
    header_skipped = False
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
        for row in page["ResultSet"]["Rows"]:
            values = tuple(cell.get("VarCharValue") for cell in row["Data"])
            if not header_skipped:
                header_skipped = True
                if values == RESULT_COLUMNS:
                    continue
            hits.append(Hit.of(values))
    return hits, scanned


# -- output -------------------------------------------------------------------------------------------
def render_hits(hits: list[Hit]) -> list[str]:
    lines: list[str] = []
    current: tuple[str, str] | None = None
    for hit in hits:
        if (hit.meeting_id, hit.session_id) != current:
            current = (hit.meeting_id, hit.session_id)
            when = (hit.session_started_at or hit.day)[:16].replace("T", " ")
            lines.append(f"{when}  {one_line(hit.title or '(untitled)')}  {hit.meeting_id}/{hit.session_id}")
        at = clock(hit.start_s) if hit.start_s is not None else "--:--"
        # One line per hit, also for rows indexed before the text was (line breaks in an utterance).
        lines.append(f"  [{at}] {one_line(hit.speaker or 'Unknown speaker')}: {one_line(hit.text)}")
    return lines


def search_command(
    target: Target | None,
    phrase: str,
    *,
    speaker: str | None,
    since: str | None,
    limit: int,
    index_dir: Path | None,
    echo: Callable[[str], None],
    note: Callable[[str], None] = lambda _: None,
) -> list[Hit]:
    try:
        query = SearchQuery(phrase=phrase, speaker=speaker, since=parse_since(since), limit=limit)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if index_dir is not None:
        hits = duckdb_search(index_dir, query)
        engine = f"DuckDB over {index_dir}"
    elif target is None:
        raise CliError("no target: pass --index-dir, --local or --stack")
    elif target.local:
        with tempfile.TemporaryDirectory(prefix="meeting-vault-index-") as folder:
            copied = copy_index(target.client("s3"), target.bucket, Path(folder), query.since)
            hits = duckdb_search(Path(folder), query)
        engine = f"DuckDB over s3://{target.bucket}/{INDEX_PREFIX} ({copied:,} bytes read)"
    else:
        if not (target.search_workgroup and target.search_database):
            raise CliError(
                f"{target.description} has no search outputs (SearchWorkGroup, SearchDatabase): "
                "deploy the current version of the stack"
            )
        hits, scanned = athena_search(
            target.client("athena"),
            workgroup=target.search_workgroup,
            database=target.search_database,
            query=query,
        )
        engine = f"Athena workgroup {target.search_workgroup} ({scanned:,} bytes scanned)"
    for line in render_hits(hits):
        echo(line)
    note(f"{len(hits)} matching lines; {engine}")
    return hits
