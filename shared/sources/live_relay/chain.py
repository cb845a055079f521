"""The chain of legs, step by step: what the state machine (deployed) or local mode's driver calls.

``begin`` records the relay; then, until ``check`` says it is done: ``leg`` (started without waiting
for it), a wait of ``leg_seconds - overlap_seconds``, ``check``. So each leg starts a few seconds
before the previous one disconnects, and nothing falls between them. Once done: a wait for the last
legs to end, then ``finalize``. The chain ends on ``stop`` or ``error`` from the bot, on an
operator's ``relay stop``, after ``max_seconds``, or when the socket stayed unreachable for
``give_up_seconds``.

Every step takes and returns small JSON: the relay id and numbers, never the socket URL (it stays in
Secrets Manager; the state machine's input and history hold only the secret's name)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from shared.adapters.s3 import ArchiveStore
from shared.core.config import _Settings
from shared.core.observability import logger
from shared.sources.live_relay.bus import LivePublisher
from shared.sources.live_relay.finalize import PieceStore, finalize_relay
from shared.sources.live_relay.leg import Leg, LegSettings, Socket, default_connect
from shared.sources.live_relay.request import RelayRequest, RelayRequestError
from shared.sources.live_relay.store import RelayStore


class RelaySettings(_Settings):
    relay_table: str = Field(alias="RELAY_TABLE", min_length=3)
    archive_bucket: str = Field(alias="ARCHIVE_BUCKET", min_length=3)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    # A Lambda invocation lasts at most 15 minutes: 13-minute legs leave room to report and hand over.
    leg_seconds: float = Field(default=780, alias="RELAY_LEG_SECONDS", gt=0, le=840)
    overlap_seconds: float = Field(default=10, alias="RELAY_OVERLAP_SECONDS", ge=0)
    max_seconds: float = Field(default=6 * 3600, alias="RELAY_MAX_SECONDS", gt=0)
    give_up_seconds: float = Field(default=600, alias="RELAY_GIVE_UP_SECONDS", gt=0)
    piece_seconds: float = Field(default=30, alias="RELAY_PIECE_SECONDS", gt=0)


class RelayChain:
    def __init__(
        self,
        *,
        settings: RelaySettings,
        store: RelayStore,
        archive: ArchiveStore,
        publisher: LivePublisher,
        read_secret: Callable[[str], str],
        delete_secret: Callable[[str], None],
        connect: Callable[[str, float], Socket] = default_connect,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._store = store
        self._archive = archive
        self._publisher = publisher
        self._read_secret = read_secret
        self._delete_secret = delete_secret
        self._connect = connect
        self._now = now

    def _next(self, relay_id: str, leg: int, *, done: bool) -> dict[str, Any]:
        s = self.settings
        return {
            "relayId": relay_id,
            "leg": leg,
            "done": done,
            "waitSeconds": max(1, round(s.leg_seconds - s.overlap_seconds)),
            "drainSeconds": max(1, round(s.overlap_seconds + 5)),
        }

    def begin(self, event: dict[str, Any]) -> dict[str, Any]:
        request = RelayRequest.from_event(event)
        created = self._store.create(
            relay_id=request.relay_id,
            meeting_id=request.meeting_id,
            session_id=request.session_id,
            title=request.title,
            secret_id=request.secret_id,
            now=self._now(),
        )
        logger.info(
            "live relay begins" if created else "live relay already known",
            extra={"relay_id": request.relay_id, "meeting_id": request.meeting_id},
        )
        return self._next(request.relay_id, 1, done=False)

    def leg(self, event: dict[str, Any], time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        relay_id, leg = str(event["relayId"]), int(event["leg"])
        meta = self._store.meta(relay_id)
        if meta is None:
            raise RelayRequestError(f"no relay {relay_id}")
        s = self.settings
        runner = Leg(
            relay_id=relay_id,
            leg=leg,
            url=self._read_secret(meta.secret_id),
            store=self._store,
            publisher=self._publisher,
            pieces=PieceStore(self._archive, meta.meeting_id, meta.session_id),
            settings=LegSettings(
                leg_seconds=s.leg_seconds, piece_seconds=s.piece_seconds, give_up_seconds=s.give_up_seconds
            ),
            connect=self._connect,
            now=self._now,
        )
        report = runner.run(time_left=time_left)
        return {"relayId": relay_id, "leg": leg, "reason": report.reason, "lines": report.lines}

    def check(self, event: dict[str, Any]) -> dict[str, Any]:
        relay_id, leg = str(event["relayId"]), int(event["leg"])
        meta = self._store.meta(relay_id)
        if meta is None:
            raise RelayRequestError(f"no relay {relay_id}")
        if not meta.ended and (self._now() - meta.created_at).total_seconds() >= self.settings.max_seconds:
            if self._store.end(relay_id, "max_duration", self._now()):
                logger.info("live relay reached its maximum duration", extra={"relay_id": relay_id})
            meta = self._store.meta(relay_id) or meta
        return self._next(relay_id, leg + 1, done=meta.ended)

    def finalize(self, event: dict[str, Any]) -> dict[str, Any]:
        relay_id = str(event["relayId"])
        meta = self._store.meta(relay_id)
        if meta is None:
            raise RelayRequestError(f"no relay {relay_id}")
        manifest = finalize_relay(
            store=self._store, archive=self._archive, relay_id=relay_id, now=self._now()
        )
        self._delete_secret(meta.secret_id)  # the URL is no longer needed: do not keep it around
        relay = manifest["liveRelay"]
        logger.info(
            "live relay archived",
            extra={
                "relay_id": relay_id,
                "meeting_id": meta.meeting_id,
                "lines": relay["lines"],
                "gaps": len(relay["gaps"]),
                "end_reason": relay["endReason"],
            },
        )
        return {"relayId": relay_id, "done": True, "lines": relay["lines"], "complete": relay["complete"]}

    def handle(self, event: dict[str, Any], time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        action = event.get("action")
        if action == "leg":
            return self.leg(event, time_left)
        steps: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "begin": self.begin,
            "check": self.check,
            "finalize": self.finalize,
        }
        if action not in steps:
            raise RelayRequestError(f"unknown relay action {action!r}")
        return steps[str(action)](event)
