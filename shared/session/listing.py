"""The session listing: one summary item per session in the sessions table, indexed by session time.

``session.json`` stays the manifest users read; the summary item is what the operator CLI lists,
so ``sessions``, ``show SESSION_ID`` and ``status`` read a bounded page of an index, never the bucket
and never a scan. Pure: the summary is computed from the manifest the recorder just rendered.

The table has one global secondary index, ``listing`` (``SESSION_INDEX``, read by the CDK stack and
local mode): partition ``listPk``, sort ``listKey`` = ``{started, fixed-width UTC}#{meetingId}/{sessionId}``,
so a ``BETWEEN`` on the sort key is a time window and ``ScanIndexForward=False`` gives newest first.
Each session writes four copies of its summary, one per way to list (one index: a stack update can
add only one index at a time to a table that already holds data):

- ``listPk = "all"``: every session;
- ``listPk = "meeting#{meetingId}"``: one meeting's sessions;
- ``listPk = "state#{failed|pending|complete}"``: the sessions in one state (``status`` counts failures);
- ``listPk = "session#{sessionId}"``: a session id alone resolves to its meeting."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

ListState = Literal["failed", "pending", "complete"]
LIST_STATES: tuple[ListState, ...] = ("failed", "pending", "complete")
LIST_PK = "listPk"
LIST_KEY = "listKey"
KEY_HIGH = "~"  # sorts after every character of a safe id, closes a BETWEEN on a time prefix


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str


SESSION_INDEX = IndexSpec("listing", LIST_PK, LIST_KEY)
# The session's listing items: sort key in the session's partition -> index partition.
LISTING_SORT_KEYS = ("list#all", "list#meeting", "list#state", "list#session")
ROW_SORT_KEY = "list#all"  # the copy ``show`` and ``forget`` read


def all_partition() -> str:
    return "all"


def meeting_partition(meeting_id: str) -> str:
    return f"meeting#{meeting_id}"


def state_partition(state: str) -> str:
    return f"state#{state}"


def session_partition(session_id: str) -> str:
    return f"session#{session_id}"


# session.json artifact kinds -> the short labels the CLI prints, in the order it prints them.
KIND_LABELS = {
    "recording": "recording",
    "recording_audio": "audio",
    "transcript_source": "transcript",
    "summary": "summary",
    "chat_source": "chat",
}
_LABEL_ORDER = {label: index for index, label in enumerate(KIND_LABELS.values())}
# Events that announce a file: seen without a record of that file, the session is still pending.
_ANNOUNCED = {
    "meeting.transcript": "transcript/source",
    "meeting.chatSynced": "chat/source",
    "meeting.summary": "summary/summary",
}


def time_key(moment: datetime) -> str:
    """``2026-06-03T10:00:00.000Z``: fixed width, so text order is time order."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_key(started: datetime, meeting_id: str, session_id: str) -> str:
    return f"{time_key(started)}#{meeting_id}/{session_id}"


def _labels(artifacts: list[dict[str, Any]], state: str) -> list[str]:
    found: list[str] = []
    for artifact in artifacts:
        if (artifact.get("state") == "archived") != (state == "archived"):
            continue
        label = KIND_LABELS.get(str(artifact.get("kind")), str(artifact.get("kind")))
        if label not in found:
            found.append(label)
    return sorted(found, key=lambda label: (_LABEL_ORDER.get(label, len(_LABEL_ORDER)), label))


def list_state(manifest: dict[str, Any]) -> ListState:
    """``failed``: a file's last outcome is failed. ``pending``: the session is live, or a file was
    announced (recording UPLOADED, transcript, chat, summary event) and has no record yet.
    ``complete``: ended, and every announced file archived."""
    artifacts = manifest.get("artifacts") or []
    if any(a.get("state") == "failed" for a in artifacts):
        return "failed"
    if (manifest.get("session") or {}).get("state") != "ended":
        return "pending"
    names = {str(a.get("name")) for a in artifacts}
    for recording in manifest.get("recordings") or []:
        if recording.get("status") == "UPLOADED" and f"recording/{recording.get('id')}/video" not in names:
            return "pending"
    by_type = (manifest.get("events") or {}).get("byType") or {}
    if any(name not in names for event, name in _ANNOUNCED.items() if by_type.get(event)):
        return "pending"
    return "complete"


@dataclass(frozen=True)
class SessionSummary:
    """What one row of ``meeting-vault sessions`` shows, and the keys that index it."""

    meeting_id: str
    session_id: str
    started: datetime  # the session's start; else the meeting's creation; else when first recorded
    row: dict[str, Any]  # the CLI's JSON row
    state: ListState

    @property
    def list_key(self) -> str:
        return list_key(self.started, self.meeting_id, self.session_id)

    @property
    def digest(self) -> str:
        """SHA-256 of everything the listing items hold: equal digests, equal items."""
        items = {"row": self.row, "key": self.list_key, "state": self.state, "partitions": self.partitions()}
        return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()

    def partitions(self) -> dict[str, str]:
        """Listing item sort key -> its index partition."""
        return dict(
            zip(
                LISTING_SORT_KEYS,
                (
                    all_partition(),
                    meeting_partition(self.meeting_id),
                    state_partition(self.state),
                    session_partition(self.session_id),
                ),
                strict=True,
            )
        )


def summarize(manifest: dict[str, Any], *, now: datetime) -> SessionSummary:
    """The summary of a rendered ``session.json``; ``now`` stands in for a session with no time yet."""
    meeting = manifest.get("meeting") or {}
    session = manifest.get("session") or {}
    artifacts = manifest.get("artifacts") or []
    started_at = parse_time(session.get("startedAt"))
    started = started_at or parse_time(meeting.get("createdAt")) or now
    state = list_state(manifest)
    row = {
        "meetingId": str(meeting.get("id")),
        "sessionId": str(session.get("id")),
        "title": meeting.get("title"),
        "startedAt": started_at.astimezone(UTC).isoformat().replace("+00:00", "Z") if started_at else None,
        "durationSeconds": session.get("durationSeconds"),
        "state": session.get("state"),
        "status": state,
        "participants": len(manifest.get("participants") or []),
        "archived": _labels(artifacts, "archived"),
        "failed": _labels(artifacts, "failed"),
        "failures": [
            {"name": a.get("name"), "reason": a.get("reason"), "message": a.get("message")}
            for a in artifacts
            if a.get("state") == "failed"
        ],
    }
    return SessionSummary(
        meeting_id=str(meeting.get("id")),
        session_id=str(session.get("id")),
        started=started,
        row=row,
        state=state,
    )
