"""The search query, written once and run unchanged by Athena (deployed) and DuckDB (local).

Both engines see a relation named ``utterances`` with the columns of ``shared.search.index.COLUMNS``
plus the partition column ``date`` (``YYYY-MM-DD`` text): in Athena the Glue table of that name in the
search database (the workgroup's default catalog, given as the query's database), in DuckDB a view
over the JSON Lines files. Parameters are positional ``?`` in both. The one difference is how values
travel: DuckDB binds them, Athena's ``ExecutionParameters`` are SQL literals (``athena_parameters``
quotes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.core.text import one_line

MAX_LIMIT = 1000


@dataclass(frozen=True)
class SearchQuery:
    phrase: str
    speaker: str | None = None
    since: date | None = None
    limit: int = 20

    def __post_init__(self) -> None:
        if not self.phrase.strip():
            raise ValueError("the search phrase is empty")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"the limit must be between 1 and {MAX_LIMIT}")


def _like(value: str) -> str:
    """A LIKE pattern that matches ``value`` anywhere, its own % and _ taken literally. Its
    whitespace is collapsed as the indexed text's is (``one_line``)."""
    escaped = one_line(value).lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_sql(query: SearchQuery) -> tuple[str, list[str]]:
    """The SQL and its parameters (all text). The limit is an int checked above, put in the SQL
    (Athena does not take a parameter there)."""
    where = ["lower(text) LIKE ? ESCAPE '\\'"]
    parameters = [_like(query.phrase)]
    if query.speaker:
        where.append("lower(speaker) LIKE ? ESCAPE '\\'")
        parameters.append(_like(query.speaker))
    if query.since:
        where.append('"date" >= ?')
        parameters.append(query.since.isoformat())
    sql = (
        'SELECT "date", meeting_id, session_id, title, session_started_at, speaker, start_s, text, page_key\n'
        "FROM utterances\n"
        f"WHERE {' AND '.join(where)}\n"
        'ORDER BY "date" DESC, session_started_at DESC, session_id, start_s\n'
        f"LIMIT {int(query.limit)}"
    )
    return sql, parameters


def athena_parameters(parameters: list[str]) -> list[str]:
    """Athena substitutes ``ExecutionParameters`` as SQL text: each value as a quoted literal."""
    return ["'" + value.replace("'", "''") + "'" for value in parameters]


RESULT_COLUMNS = (
    "date",
    "meeting_id",
    "session_id",
    "title",
    "session_started_at",
    "speaker",
    "start_s",
    "text",
    "page_key",
)
