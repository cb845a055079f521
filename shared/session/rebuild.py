"""Rebuild requests: how a change to a session's record becomes, at most once per window, a rebuild
of its derived files (docs/rebuilds.md).

A fact is recorded with one DynamoDB write that also sets the session's "rebuild pending" flag if
it was clear (``SessionStore.mark_changed``); only the writer that set it sends a request, delayed
(SQS ``DelaySeconds``) to the end of the session's current window, so a burst of facts costs one
rebuild and a session costs at most one windowed rebuild per window. ``meeting.ended`` and every archived
or failed artifact send an immediate request (no delay). The rebuild consumer clears the flag only
if the record did not move on while it worked, and otherwise asks again.

Nothing is lost when a rebuild fails or its function times out: its message comes back after the
visibility timeout, then goes to the DLQ (alarmed). The flag stays set until a rebuild succeeds, so
the reconcile sweep finds sessions pending for longer than the window (plus the rebuild function's
timeout) and requests their rebuild again (``request_stale_rebuilds``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import Field

from shared.core.config import _Settings
from shared.fanout.routing import (
    REBUILD_WINDOW_DEFAULT_SECONDS,
    REBUILD_WINDOW_MAX_SECONDS,
    REBUILDS,
)


class RebuildSettings(_Settings):
    """Where rebuild requests go and how long a window is. Without a queue (unit tests, scripts),
    the recorder rebuilds at once, after every change, as a single process would."""

    rebuild_queue_url: str | None = Field(default=None, alias="REBUILD_QUEUE_URL")
    window_seconds: int = Field(
        default=REBUILD_WINDOW_DEFAULT_SECONDS,
        alias="REBUILD_WINDOW_SECONDS",
        ge=0,
        le=REBUILD_WINDOW_MAX_SECONDS,
    )

    @property
    def stale_after_seconds(self) -> int:
        """A flag older than this has lost its request (or its rebuild failed for good)."""
        return self.window_seconds + REBUILDS.timeout_seconds


class RebuildRequests(Protocol):
    def request(
        self, meeting_id: str, session_id: str, *, delay_seconds: int, recheck: bool = False
    ) -> None: ...


@dataclass(frozen=True)
class RebuildRequest:
    """``recheck``: rebuild even if the record says the files are current, and compare each file
    with the stored object rather than with the digests last saved. Asked for when a rebuild may
    have left files older than the record says (see ``SessionRecorder.rebuild``)."""

    meeting_id: str
    session_id: str
    recheck: bool = False

    def to_body(self) -> str:
        body: dict[str, object] = {"meetingId": self.meeting_id, "sessionId": self.session_id}
        if self.recheck:
            body["recheck"] = True
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_body(cls, body: str) -> RebuildRequest:
        data = json.loads(body)
        meeting_id, session_id = data.get("meetingId"), data.get("sessionId")
        if not (isinstance(meeting_id, str) and isinstance(session_id, str) and meeting_id and session_id):
            raise ValueError(f"not a rebuild request: {body[:200]!r}")
        return cls(meeting_id, session_id, recheck=data.get("recheck") is True)


class SqsRebuildQueue:
    """Rebuild requests as SQS messages, delayed by up to 15 minutes (SQS ``DelaySeconds``)."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def request(self, meeting_id: str, session_id: str, *, delay_seconds: int, recheck: bool = False) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=RebuildRequest(meeting_id, session_id, recheck=recheck).to_body(),
            DelaySeconds=max(0, min(delay_seconds, REBUILD_WINDOW_MAX_SECONDS)),
        )


class PendingSessions(Protocol):
    def pending_since(self, older_than: float, *, limit: int = 500) -> list[tuple[str, str, float]]: ...


def request_stale_rebuilds(
    store: PendingSessions,
    requests: RebuildRequests,
    *,
    now: float,
    stale_after_seconds: float,
    limit: int = 500,
) -> list[tuple[str, str]]:
    """Ask again, at once, for the rebuild of every session whose flag is older than
    ``stale_after_seconds`` (its request was lost, or its rebuild ended in the DLQ). A recheck: a
    rebuild that died may have written some files and not saved their digests."""
    stale = store.pending_since(now - stale_after_seconds, limit=limit)
    for meeting_id, session_id, _ in stale:
        requests.request(meeting_id, session_id, delay_seconds=0, recheck=True)
    return [(m, s) for m, s, _ in stale]
