"""S3 object key naming. Pure functions; every key is deterministic so that a repeated
delivery overwrites the same object instead of adding a copy.

Ids reach keys only after ``safe_id`` accepted them (no path traversal through ids)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypeGuard

# Matched with ``fullmatch``: ``$`` would also match before a final newline ("abc\n").
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SAFE_EVENT = re.compile(r"[^A-Za-z0-9._-]")
_SAFE_FILE = re.compile(r"[^A-Za-z0-9._ ()+-]")

MEETINGS_PREFIX = "meetings"
UNATTRIBUTED_PREFIX = "unattributed"


def is_safe_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _SAFE_ID.fullmatch(value) is not None and ".." not in value


def safe_id(value: str) -> str:
    """Return ``value`` if it is usable as one key segment, else raise ``UnsafeIdError``."""
    from shared.core.exceptions import UnsafeIdError

    if not is_safe_id(value):
        raise UnsafeIdError(f"unsafe id for an object key: {value!r}")
    return value


def safe_file_name(name: str, *, fallback: str) -> str:
    """A file name from the sender reduced to a harmless last path segment."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_FILE.sub("_", base).strip(" .")
    if not base or base in {".", ".."}:
        return fallback
    return base[:200]


def session_prefix(meeting_id: str, session_id: str) -> str:
    return f"{MEETINGS_PREFIX}/{safe_id(meeting_id)}/sessions/{safe_id(session_id)}/"


def compact_time(moment: datetime) -> str:
    """``20260603T100500.000Z``: sorts lexically in time order, no characters S3 dislikes."""
    return moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"


def event_file_name(*, event: str | None, digest: str, event_time: datetime | None) -> str:
    name = _SAFE_EVENT.sub("_", event or "unknown")[:64] or "unknown"
    stamp = compact_time(event_time) if event_time else "undated"
    return f"{stamp}_{name}_{digest[:16]}.json"


def event_key(
    *,
    meeting_id: str | None,
    session_id: str | None,
    event: str | None,
    digest: str,
    event_time: datetime | None,
) -> str:
    """Key of one raw webhook body. Built from the body only (its digest and the time the event
    describes), never from when it was received, so every delivery of the same body lands on
    the same key. Events whose ids are missing or unsafe go under ``unattributed/``."""
    file_name = event_file_name(event=event, digest=digest, event_time=event_time)
    if (
        isinstance(meeting_id, str)
        and isinstance(session_id, str)
        and is_safe_id(meeting_id)
        and is_safe_id(session_id)
    ):
        return f"{session_prefix(meeting_id, session_id)}events/{file_name}"
    return f"{UNATTRIBUTED_PREFIX}/events/{file_name}"


# Suffix of the note a consumer leaves beside a raw body it found foreign (``shared.archive.ownership``):
# under ``events/`` but not a body, so replay skips it.
FOREIGN_NOTE_SUFFIX = ".foreign.json"

# Where ``event_key`` puts raw bodies: the only keys the ingest function may write (claim checks of
# bodies too large for the bus, see ``shared.ingest.ack``). IAM patterns: ``*`` spans ``/``.
RAW_EVENT_KEY_PATTERNS = (f"{MEETINGS_PREFIX}/*/sessions/*/events/*", f"{UNATTRIBUTED_PREFIX}/events/*")
