"""Who took part in a session: join/leave webhooks and transcript speakers folded into people.

RealtimeKit gives a person a new ``peerId`` each time they (re)join; ``customParticipantId`` (set by
the app) and ``userId`` stay the same. Two records are the same person when they share any of
custom participant id, user id or peer id (transitively). A record with none of them is matched
by display name only.

The seed wants a small integer ``id`` per person. Ids are positions (from 1) in a deterministic
order that does not depend on the order events arrive in:

1. people with a timed webhook event, by their earliest event time;
2. then people known only from the transcript, in order of their first utterance;
3. then people whose events carry no time;

ties broken by the person's identity keys. RealtimeKit's own ids are kept in ``extra_data``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.normalize.seed_models import (
    PLATFORM,
    Participant,
    ParticipantEvent,
    ParticipantEventsDocument,
    ParticipantsDocument,
    as_utc,
    dump_document,
    iso_utc,
    parse_iso,
    seconds_between,
)
from shared.normalize.seed_models import Timestamp as SeedTimestamp

PresenceAction = Literal["join", "leave"]

_WEBHOOK_ACTIONS: dict[str, PresenceAction] = {
    "meeting.participantJoined": "join",
    "meeting.participantLeft": "leave",
}

IdentityKey = tuple[str, str]


def clean_field(value: object) -> str | None:
    """A non-empty id or name as a string (numbers too); "", whitespace and other types become None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True, slots=True)
class Speaker:
    """A participant as one source names them. Any field may be missing."""

    peer_id: str | None = None
    user_id: str | None = None
    custom_participant_id: str | None = None
    name: str | None = None

    def identity_keys(self) -> tuple[IdentityKey, ...]:
        keys: list[IdentityKey] = []
        if self.custom_participant_id:
            keys.append(("custom_participant_id", self.custom_participant_id))
        if self.user_id:
            keys.append(("user_id", self.user_id))
        if self.peer_id:
            keys.append(("peer_id", self.peer_id))
        if not keys:
            # Without any id, the display name is all there is; with no name either, all such
            # records are one "unknown" person.
            keys.append(("name", self.name or ""))
        return tuple(keys)

    @property
    def label(self) -> str:
        """What human formats print for this speaker."""
        return self.name or self.custom_participant_id or self.user_id or self.peer_id or "Unknown speaker"


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """One ``meeting.participantJoined`` / ``meeting.participantLeft`` webhook, reduced to what matters."""

    action: PresenceAction
    at: datetime | None
    speaker: Speaker

    @classmethod
    def from_webhook(cls, body: Mapping[str, Any]) -> PresenceEvent:
        """Read a verified webhook body (camelCase, as RealtimeKit sends it).

        ``at`` is ``participant.joinedAt`` for a join and ``participant.leftAt`` for a leave (None
        when absent: the time is not guessed). Raises ``ValueError`` for any other event."""
        event = body.get("event")
        action = _WEBHOOK_ACTIONS.get(event) if isinstance(event, str) else None
        if action is None:
            raise ValueError(f"not a participant join/leave webhook: event={event!r}")
        participant = body.get("participant")
        if not isinstance(participant, Mapping):
            raise ValueError(f"{event}: no 'participant' object")
        time_text = clean_field(participant.get("joinedAt" if action == "join" else "leftAt"))
        speaker = Speaker(
            peer_id=clean_field(participant.get("peerId")),
            user_id=clean_field(participant.get("userId")),
            # clientSpecificId is the deprecated name of customParticipantId.
            custom_participant_id=clean_field(participant.get("customParticipantId"))
            or clean_field(participant.get("clientSpecificId")),
            name=clean_field(participant.get("userDisplayName"))
            or clean_field(participant.get("displayName")),
        )
        return cls(action=action, at=parse_iso(time_text) if time_text else None, speaker=speaker)

    def sort_key(self) -> tuple[Any, ...]:
        s = self.speaker
        return (
            self.at is None,
            as_utc(self.at).timestamp() if self.at else 0.0,
            self.action != "join",
            s.peer_id or "",
            s.custom_participant_id or "",
            s.user_id or "",
            s.name or "",
        )

    @property
    def event_id(self) -> str:
        """Deterministic id: the action plus a digest of everything else in the event."""
        s = self.speaker
        parts = [self.action, iso_utc(self.at) if self.at else "", s.peer_id, s.user_id]
        parts += [s.custom_participant_id, s.name]
        digest = hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8")).hexdigest()
        return f"{self.action}-{digest[:16]}"


@dataclass(frozen=True, slots=True)
class Person:
    """One human in the session (all their peer ids)."""

    id: int
    name: str | None
    custom_participant_id: str | None
    user_id: str | None
    peer_ids: tuple[str, ...]
    display_names: tuple[str, ...]
    keys: frozenset[IdentityKey] = field(repr=False)

    def to_seed(self) -> Participant:
        return Participant(
            id=self.id,
            name=self.name,
            is_host=None,  # RealtimeKit's webhooks and transcripts do not say who hosts.
            platform=PLATFORM,
            extra_data={
                "custom_participant_id": self.custom_participant_id,
                "user_id": self.user_id,
                "peer_ids": list(self.peer_ids),
                "display_names": list(self.display_names),
            },
            email=None,  # Never in RealtimeKit's payloads.
        )

    def to_reference(self, peer_id: str | None) -> Participant:
        """The participant object that files repeating it per entry embed (participant events,
        transcript, speaker timeline, chat): the person's seed id and name, and the ids of this one
        record (``peer_id``: the join it names), not the lists that grow with every rejoin. So each
        of those files grows linearly with rejoins; ``participants.json`` has the full lists."""
        return Participant(
            id=self.id,
            name=self.name,
            is_host=None,
            platform=PLATFORM,
            extra_data={
                "custom_participant_id": self.custom_participant_id,
                "user_id": self.user_id,
                "peer_id": peer_id if peer_id and ("peer_id", peer_id) in self.keys else None,
            },
            email=None,
        )


class UnknownParticipantError(LookupError):
    """A speaker that the roster was not built with."""


@dataclass(frozen=True)
class Roster:
    """Everyone in a session, with seed ids; build it with ``build_roster``."""

    people: tuple[Person, ...]
    _by_key: Mapping[IdentityKey, Person] = field(repr=False)
    _seeds: dict[tuple[int, str | None], Participant] = field(default_factory=dict, repr=False, compare=False)

    def participant_for(self, speaker: Speaker) -> Participant:
        """The participant object embedded for ``speaker``'s entries (``Person.to_reference``),
        built once per person and peer id: big transcripts repeat it on every utterance."""
        person = self.person_for(speaker)
        seed = self._seeds.get((person.id, speaker.peer_id))
        if seed is None:
            seed = self._seeds[(person.id, speaker.peer_id)] = person.to_reference(speaker.peer_id)
        return seed

    def person_for(self, speaker: Speaker) -> Person:
        for key in speaker.identity_keys():
            person = self._by_key.get(key)
            if person is not None:
                return person
        raise UnknownParticipantError(
            f"{speaker!r} is not in the roster; build it with the transcript's speakers"
        )

    def find_by_any_id(self, value: str | None) -> Person | None:
        """The person whose custom participant id, user id or peer id is ``value`` (chat exports
        give one unnamed 'participantId')."""
        if not value:
            return None
        for kind in ("user_id", "peer_id", "custom_participant_id"):
            person = self._by_key.get((kind, value))
            if person is not None:
                return person
        return None


class _Groups:
    """Union-find over identity keys."""

    def __init__(self) -> None:
        self._parent: dict[IdentityKey, IdentityKey] = {}

    def find(self, key: IdentityKey) -> IdentityKey:
        root = self._parent.setdefault(key, key)
        while self._parent[root] != root:
            root = self._parent[root]
        while key != root:  # path compression, iteratively (no recursion limit on big sessions)
            key, self._parent[key] = self._parent[key], root
        return root

    def union(self, keys: Iterable[IdentityKey]) -> None:
        roots = sorted({self.find(k) for k in keys})
        for other in roots[1:]:
            self._parent[other] = roots[0]

    def components(self) -> dict[IdentityKey, set[IdentityKey]]:
        members: dict[IdentityKey, set[IdentityKey]] = {}
        for key in list(self._parent):
            members.setdefault(self.find(key), set()).add(key)
        return members


def build_roster(events: Iterable[PresenceEvent] = (), speakers: Iterable[Speaker] = ()) -> Roster:
    """Fold join/leave events and transcript speakers into people with stable seed ids.

    ``speakers`` in order of first utterance (``Transcript.speakers`` gives that order); events in
    any order, duplicates allowed: the result is the same."""
    ordered_events = sorted(set(events), key=PresenceEvent.sort_key)
    speaker_list = list(dict.fromkeys(speakers))
    groups = _Groups()
    for speaker in [e.speaker for e in ordered_events] + speaker_list:
        groups.union(speaker.identity_keys())

    # Everything about one group, in a deterministic order: timed events first, then speakers.
    sightings: dict[IdentityKey, list[Speaker]] = {}
    first_time: dict[IdentityKey, float] = {}
    first_speech: dict[IdentityKey, int] = {}
    for event in ordered_events:
        root = groups.find(event.speaker.identity_keys()[0])
        sightings.setdefault(root, []).append(event.speaker)
        if event.at is not None:
            first_time.setdefault(root, as_utc(event.at).timestamp())
    for index, speaker in enumerate(speaker_list):
        root = groups.find(speaker.identity_keys()[0])
        sightings.setdefault(root, []).append(speaker)
        first_speech.setdefault(root, index)

    members = groups.components()

    def order(root: IdentityKey) -> tuple[Any, ...]:
        identity = tuple(sorted(members[root]))
        if root in first_time:
            return (0, first_time[root], 0, identity)
        if root in first_speech:
            return (1, 0.0, first_speech[root], identity)
        return (2, 0.0, 0, identity)

    people: list[Person] = []
    by_key: dict[IdentityKey, Person] = {}
    for number, root in enumerate(sorted(sightings, key=order), start=1):
        seen = sightings[root]
        names = _distinct(s.name for s in seen)
        person = Person(
            id=number,
            name=names[0] if names else None,
            custom_participant_id=_first(s.custom_participant_id for s in seen),
            user_id=_first(s.user_id for s in seen),
            peer_ids=_distinct(s.peer_id for s in seen),
            display_names=names,
            keys=frozenset(members[root]),
        )
        people.append(person)
        by_key.update(dict.fromkeys(person.keys, person))
    return Roster(people=tuple(people), _by_key=by_key)


def _distinct(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


# --- renderers ------------------------------------------------------------------------------------


def participants_document(roster: Roster) -> list[Participant]:
    return [person.to_seed() for person in roster.people]


def participants_to_json(roster: Roster) -> bytes:
    """``participants.json``: seed "Participant" list, ordered by id."""
    return dump_document(ParticipantsDocument, participants_document(roster))


def participant_events_document(
    events: Iterable[PresenceEvent], roster: Roster, *, session_started_at: datetime | None
) -> list[ParticipantEvent]:
    documents: list[ParticipantEvent] = []
    for event in sorted(set(events), key=PresenceEvent.sort_key):
        relative = None
        if event.at is not None and session_started_at is not None:
            relative = seconds_between(session_started_at, event.at)
        documents.append(
            ParticipantEvent(
                id=event.event_id,
                action=event.action,
                participant=roster.participant_for(event.speaker),
                timestamp=SeedTimestamp(
                    absolute=iso_utc(event.at) if event.at is not None else None, relative=relative
                ),
                data=None,
            )
        )
    return documents


def participant_events_to_json(
    events: Iterable[PresenceEvent], roster: Roster, *, session_started_at: datetime | None
) -> bytes:
    """``participant_events.json``: seed "Participant Event" list (join/leave), in time order,
    duplicates removed. ``relative`` is null when the session start is unknown; both parts are
    null for a leave webhook without ``leftAt``."""
    events = list(events)
    return dump_document(
        ParticipantEventsDocument,
        participant_events_document(events, roster, session_started_at=session_started_at),
    )
