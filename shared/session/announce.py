"""Publishes ``session.archived`` to the bus, once per state of the session: the session record
holds the signature of the last state announced, replaced only by a conditional write, so two
consumers finishing at once, or a repeated delivery, publish nothing twice."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.core.exceptions import PublishError
from shared.session.completion import EVENT_SOURCE, SESSION_ARCHIVED, SessionArchived, session_archived
from shared.session.model import SessionFacts, build_outputs
from shared.session.store import SessionStore


class SessionAnnouncer:
    def __init__(self, store: SessionStore, bus_name: str, client: Any = None) -> None:
        self._store = store
        self._bus_name = bus_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("events")
        return self._client

    def announce(
        self, facts: SessionFacts, manifest: dict[str, Any], *, confirmed: bool = False
    ) -> SessionArchived | None:
        """Publish the event if the session is complete in a state not announced yet."""
        archived = session_archived(facts, manifest, confirmed=confirmed)
        if archived is None:
            return None
        if not self._store.claim_announcement(facts.meeting_id, facts.session_id, archived.signature):
            return None
        try:
            self._put(archived)
        except PublishError:
            self._store.release_announcement(facts.meeting_id, facts.session_id, archived.signature)
            raise
        return archived

    def announce_session(
        self, meeting_id: str, session_id: str, *, confirmed: bool
    ) -> SessionArchived | None:
        """From the reconcile sweep: the session as recorded, with RealtimeKit's inventory checked."""
        facts, _ = self._store.load(meeting_id, session_id)
        manifest = json.loads(build_outputs(facts).manifest)
        return self.announce(facts, manifest, confirmed=confirmed)

    def _put(self, archived: SessionArchived) -> None:
        entry = {
            "EventBusName": self._bus_name,
            "Source": EVENT_SOURCE,
            "DetailType": SESSION_ARCHIVED,
            "Detail": json.dumps(archived.detail, ensure_ascii=False),
        }
        try:
            response = self.client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as exc:
            raise PublishError(f"PutEvents failed: {exc}") from exc
        if response.get("FailedEntryCount", 0):
            entries = response.get("Entries") or [{}]
            raise PublishError(f"PutEvents did not store {SESSION_ARCHIVED}: {entries[0].get('ErrorCode')}")
