"""When a session is archived: every artifact it is known to have has settled (archived or
failed). Pure: facts in, the ``session.archived`` event detail out.

Known artifacts: the ones a webhook announced (``recording.statusUpdate`` UPLOADED, then the video
file; ``meeting.transcript``; ``meeting.summary``; ``meeting.chatSynced``) and every one with a
record. A session is complete once it ended, holds at least one artifact record, and none of its
known artifacts lacks one; when the reconcile sweep has checked RealtimeKit's inventory and found
nothing more to fetch, it is complete as it stands (``confirmed``). The detail's ``signature``
names the state (each artifact's name and state): one event per signature."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.archive.keys import session_prefix
from shared.session.model import CHAT_SOURCE, SUMMARY_SOURCE, TRANSCRIPT_SOURCE, SessionFacts

SESSION_ARCHIVED = "session.archived"
EVENT_SOURCE = "meeting-vault"  # not "realtimekit": no consumer rule matches the pipeline's own events
_ANNOUNCED_BY = {
    "meeting.transcript": TRANSCRIPT_SOURCE,
    "meeting.summary": SUMMARY_SOURCE,
    "meeting.chatSynced": CHAT_SOURCE,
}


def known_artifacts(facts: SessionFacts) -> set[str]:
    names = {artifact.name for artifact in facts.artifacts}
    for seen in facts.events:
        if seen.event in _ANNOUNCED_BY:
            names.add(_ANNOUNCED_BY[seen.event])
        elif seen.event == "recording.statusUpdate":
            recording = seen.payload.get("recording") or {}
            recording_id = recording.get("id") or recording.get("recordingId")
            if recording.get("status") == "UPLOADED" and isinstance(recording_id, str):
                names.add(f"recording/{recording_id}/video")
    return names


@dataclass(frozen=True)
class SessionArchived:
    detail: dict[str, Any]

    @property
    def signature(self) -> str:
        return str(self.detail["signature"])

    @property
    def meeting_id(self) -> str:
        return str(self.detail["meetingId"])

    @property
    def session_id(self) -> str:
        return str(self.detail["sessionId"])


def session_archived(
    facts: SessionFacts, manifest: Mapping[str, Any], *, confirmed: bool = False
) -> SessionArchived | None:
    """The event detail when the session is complete, else None. ``manifest`` is its session.json."""
    session = manifest.get("session") or {}
    recorded = {artifact.name for artifact in facts.artifacts}
    if not confirmed:
        if session.get("state") != "ended" or not recorded:
            return None
        if known_artifacts(facts) - recorded:
            return None
    artifacts = [
        {
            key: value
            for key, value in {
                "name": a.name,
                "kind": a.kind,
                "state": a.state.value,
                "key": a.key,
                "reason": a.reason,
            }.items()
            if value is not None
        }
        for a in sorted(facts.artifacts, key=lambda a: a.name)
    ]
    states = [(a["name"], a["state"]) for a in artifacts]
    signature = hashlib.sha256(json.dumps(states, separators=(",", ":")).encode()).hexdigest()[:32]
    prefix = session_prefix(facts.meeting_id, facts.session_id)
    counts = {state: sum(1 for _, s in states if s == state) for state in ("archived", "failed")}
    return SessionArchived(
        {
            "meetingId": facts.meeting_id,
            "sessionId": facts.session_id,
            "title": (manifest.get("meeting") or {}).get("title"),
            "startedAt": session.get("startedAt"),
            "endedAt": session.get("endedAt"),
            "artifacts": artifacts,
            "artifactCounts": counts,
            "pageKey": prefix + "index.html",
            "manifestKey": prefix + "session.json",
            "signature": signature,
        }
    )
