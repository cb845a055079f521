"""Participants as RealtimeKit's REST API lists them (``GET /sessions/{session_id}/participants``,
API reference "Fetch participants list of a session": ``id`` = the peer id, ``user_id``,
``custom_participant_id``, ``display_name``, ``joined_at``, ``left_at``, ``duration``,
``preset_name``), folded into the same people as the join/leave webhooks.

The reconciliation sweep and the backfill read the list and put it on the bus as a synthesized
``rest.sessionParticipants`` event (one per page of up to ``PAGE_SIZE`` people, so an event stays
far below EventBridge's 256 KB). The session record keeps it like any event, and the files are
derived from webhooks and REST together:

- a REST participant is one stint (one peer id): a ``join`` at ``joined_at`` and a ``leave`` at
  ``left_at``, written only when no webhook said the same (same action, same peer id), so a
  session whose webhooks all arrived gets no duplicate event;
- identity is the webhooks' (custom participant id, user id, peer id), so webhook and REST facts
  about one person make one participant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.normalize.participants import PresenceEvent, Speaker, clean_field
from shared.normalize.seed_models import iso_utc, parse_iso

PARTICIPANTS_EVENT = "rest.sessionParticipants"
PAGE_SIZE = 100


class ListedParticipant(Protocol):
    """What ``shared.adapters.realtimekit.SessionParticipant`` carries."""

    @property
    def id(self) -> str | None: ...

    @property
    def user_id(self) -> str | None: ...

    @property
    def custom_participant_id(self) -> str | None: ...

    @property
    def display_name(self) -> str | None: ...

    @property
    def preset_name(self) -> str | None: ...

    @property
    def joined_at(self) -> datetime | None: ...

    @property
    def left_at(self) -> datetime | None: ...

    @property
    def duration(self) -> float | None: ...


def _iso(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment is not None else None


def participants_payloads(
    meeting_id: str, session_id: str, people: Sequence[ListedParticipant], *, page_size: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    """The synthesized event bodies for a session's participant list (none for an empty list).
    Deterministic: the same list gives the same bodies, so a second sweep changes nothing."""
    entries = [
        {
            "id": p.id,
            "user_id": p.user_id,
            "custom_participant_id": p.custom_participant_id,
            "display_name": p.display_name,
            "preset_name": p.preset_name,
            "joined_at": _iso(p.joined_at),
            "left_at": _iso(p.left_at),
            "duration": p.duration,
        }
        for p in sorted(people, key=lambda p: (_iso(p.joined_at) or "", p.id or ""))
    ]
    pages = [entries[start : start + page_size] for start in range(0, len(entries), page_size)]
    return [
        {
            "event": PARTICIPANTS_EVENT,
            "meeting": {"id": meeting_id, "sessionId": session_id},
            "page": number,
            "pages": len(pages),
            "participants": page,
        }
        for number, page in enumerate(pages, start=1)
    ]


def _speaker(entry: Mapping[str, Any]) -> Speaker:
    return Speaker(
        peer_id=clean_field(entry.get("id")),
        user_id=clean_field(entry.get("user_id")),
        custom_participant_id=clean_field(entry.get("custom_participant_id")),
        name=clean_field(entry.get("display_name")),
    )


def _time(entry: Mapping[str, Any], key: str) -> datetime | None:
    text = clean_field(entry.get(key))
    return parse_iso(text) if text else None


def rest_presence(
    payloads: Iterable[Mapping[str, Any]], webhook_events: Iterable[PresenceEvent]
) -> tuple[list[PresenceEvent], list[Speaker]]:
    """(join/leave events the webhooks did not give, every listed person).

    Every listed person goes to the roster (so their REST ids, e.g. a ``user_id`` the webhooks
    lack, join the same participant), even when the webhooks already gave their join and leave.

    ``payloads``: the recorded ``rest.sessionParticipants`` bodies; ``webhook_events``: the
    presence events from the join/leave webhooks."""
    said = {(e.action, e.speaker.peer_id) for e in webhook_events if e.speaker.peer_id}
    events: list[PresenceEvent] = []
    people: list[Speaker] = []
    for payload in payloads:
        listed = payload.get("participants")
        for entry in listed if isinstance(listed, list) else ():
            if not isinstance(entry, Mapping):
                continue
            speaker = _speaker(entry)
            joined, left = _time(entry, "joined_at"), _time(entry, "left_at")
            people.append(speaker)
            for action, at in (("join", joined), ("leave", left)):
                if at is not None and (action, speaker.peer_id) not in said:
                    events.append(PresenceEvent(action=action, at=at, speaker=speaker))  # type: ignore[arg-type]
    return events, people
