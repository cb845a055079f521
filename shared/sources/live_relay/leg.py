"""One leg of a relay: connect to the bot's socket, relay what arrives until the leg's deadline,
reconnecting with backoff and jitter when the socket drops.

Legs overlap by a few seconds (the chain starts the next one before this one ends), so a message can
arrive on two legs. A line is identified by its content: ``RelayStore.add_line`` is conditional, and
only the leg that records a line first puts it on the bus and in the rolling ``live/`` pieces.

Other messages carry no identity of their own, so a handover splits them by **arrival time**. A
reader thread takes each message off the socket as it arrives and stamps it then, however long the
leg later takes to handle what came before. A new leg claims ``current_leg`` with the time of its
claim; it relays the messages that arrive from then on. The older leg relays those that arrived
before that time (plus ``handoff_margin_seconds``, for the two readers' scheduling jitter), and
before it hangs up it handles everything its reader had taken in. A message that only the older leg
received (sent before the new leg connected, still waiting to be handled) is relayed by it, never
dropped; one that arrives within the margin may be relayed by both (the archive keeps one).

The socket URL is a secret (whoever has it reads the meeting): it is read from Secrets Manager by
the caller, never logged, and errors are logged by type only.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.core.exceptions import PublishError
from shared.core.observability import logger
from shared.sources.live_relay.messages import MessageError, parse_message
from shared.sources.live_relay.store import STOP_REQUESTED, Connection, LegReport, RelayStore

RECORDED_TYPES = frozenset({"participant-tracked", "started-speaking", "stopped-speaking", "chat-message"})
# websockets logs handshakes (with the URL) at DEBUG: keep it quiet whatever the function's level.
logging.getLogger("websockets").setLevel(logging.WARNING)


class Socket(Protocol):
    def recv(self, timeout: float | None = None) -> str | bytes: ...

    def close(self) -> None: ...


class Publisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class PieceWriter(Protocol):
    def put_piece(self, name: str, data: bytes) -> None: ...


def default_connect(url: str, timeout: float) -> Socket:
    from websockets.sync.client import connect

    # legacy=True: a plain connection object whose close() we call ourselves (``Leg._relay``).
    return connect(url, open_timeout=timeout, close_timeout=1, max_size=2**20, legacy=True)


@dataclass
class LegSettings:
    leg_seconds: float
    piece_seconds: float = 30.0
    give_up_seconds: float = 600.0
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 15.0
    meta_refresh_seconds: float = 0.25
    heartbeat_seconds: float = 2.0
    # Past its deadline a connected leg stays on until the next leg has connected (make before
    # break), for at most this long and never past its function's timeout.
    handoff_grace_seconds: float = 60.0
    # A message that arrives this soon after the next leg's claim is still relayed by this leg too:
    # the two legs' readers stamp one message at slightly different times.
    handoff_margin_seconds: float = 0.5


@dataclass
class _Tally:
    lines: int = 0
    messages: int = 0
    invalid: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


_DROPPED = object()


class _Reader:
    """Takes messages off the socket as they arrive, stamped with their arrival time, for the leg
    to handle in order (``get``). ``read_to``: every message that arrived before it has been taken."""

    POLL_SECONDS = 0.1

    def __init__(self, socket: Socket, now: Callable[[], datetime]) -> None:
        self._socket = socket
        self._now = now
        self._items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self.read_to = datetime.min.replace(tzinfo=UTC)
        self._thread = threading.Thread(target=self._run, name="live-relay-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                text = self._socket.recv(timeout=self.POLL_SECONDS)
            except TimeoutError:
                self.read_to = self._now()
                continue
            except Exception:  # noqa: BLE001 - a closed or broken socket: the leg reconnects
                self._items.put(_DROPPED)
                return
            arrived = self._now()
            self._items.put((text, arrived))
            self.read_to = arrived

    def get(self, timeout: float) -> Any:
        """The next ``(text, arrived)``, ``_DROPPED`` once the socket broke, or None after ``timeout``."""
        try:
            return self._items.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> list[Any]:
        """Stop reading (the caller closes the socket); what was taken in and not yet handled."""
        self._stopping.set()
        self._thread.join(timeout=2 * self.POLL_SECONDS + 1.0)
        left = []
        while True:
            try:
                left.append(self._items.get_nowait())
            except queue.Empty:
                return left


class Leg:
    def __init__(
        self,
        *,
        relay_id: str,
        leg: int,
        url: str,
        store: RelayStore,
        publisher: Publisher,
        pieces: PieceWriter,
        settings: LegSettings,
        connect: Callable[[str, float], Socket] = default_connect,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.relay_id = relay_id
        self.leg = leg
        self._url = url
        self._store = store
        self._publisher = publisher
        self._pieces = pieces
        self._settings = settings
        self._connect = connect
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        self._tally = _Tally()
        self._buffer: list[bytes] = []
        self._piece_count = 0
        self._connections = 0
        self._current_leg = 0
        self._meta_checked = -1e9
        self._meta_read_at = datetime.min.replace(tzinfo=UTC)
        self._relays_from: datetime | None = None  # when this leg's claim took effect
        self._handed_over_at: datetime | None = None  # when a newer leg's claim took effect
        self._reader: _Reader | None = None
        self._heartbeat_at = -1e9
        self._piece_due = 0.0
        self._hard_deadline = 0.0
        self._ended: str | None = None  # why the relay (not just this leg) ended
        self._meeting: dict[str, str] = {}

    # -- the leg ------------------------------------------------------------------------------------
    def run(self, *, time_left: Callable[[], float] | None = None) -> LegReport:
        started = self._now()
        deadline = self._monotonic() + self._settings.leg_seconds
        if time_left is not None:  # never past the function's own timeout, with a margin to report
            deadline = min(deadline, self._monotonic() + max(0.0, time_left() - 5.0))
        self._hard_deadline = deadline + self._settings.handoff_grace_seconds
        if time_left is not None:
            self._hard_deadline = min(self._hard_deadline, self._monotonic() + max(0.0, time_left() - 5.0))
        self._piece_due = self._monotonic() + self._settings.piece_seconds
        meta = self._store.meta(self.relay_id)
        if meta is None or meta.ended:
            return self._finish(started, "relay_ended")
        self._meeting = {"meetingId": meta.meeting_id, "sessionId": meta.session_id}
        attempt = 0
        reason = "leg_deadline"
        while self._monotonic() < deadline:
            if stop := self._check_meta(force=True):
                reason = stop
                break
            try:
                socket = self._connect(self._url, min(10.0, max(0.5, deadline - self._monotonic())))
            except Exception as error:  # noqa: BLE001 - any failure to connect is retried with backoff
                logger.warning(
                    "live relay: cannot connect",
                    extra={"relay_id": self.relay_id, "leg": self.leg, "error": type(error).__name__},
                )
                if self._gave_up():
                    reason = "gave_up"
                    break
                attempt += 1
                self._sleep(min(self._backoff(attempt), max(0.0, deadline - self._monotonic())))
                continue
            attempt = 0
            reason = self._relay(socket, deadline)
            if reason != "dropped":
                break
            logger.warning(
                "live relay: connection dropped", extra={"relay_id": self.relay_id, "leg": self.leg}
            )
        return self._finish(started, self._ended or reason)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(
            self._settings.backoff_max_seconds, self._settings.backoff_base_seconds * 2 ** (attempt - 1)
        )
        return random.uniform(ceiling / 2, ceiling)

    def _gave_up(self) -> bool:
        meta = self._store.meta(self.relay_id)
        if meta is None or meta.ended:
            return False
        heard = self._store.last_heard(self.relay_id) or meta.created_at
        if (self._now() - heard).total_seconds() < self._settings.give_up_seconds:
            return False
        if self._store.end(self.relay_id, "gave_up", self._now()):
            self._ended = "gave_up"
            logger.error(
                "live relay: no connection for too long; finalizing with what was received",
                extra={"relay_id": self.relay_id, "give_up_seconds": self._settings.give_up_seconds},
            )
        return True

    def _relay(self, socket: Socket, deadline: float) -> str:
        opened = self._now()
        reader = self._reader = _Reader(socket, self._now)
        claimed_at = self._now()  # before the claim: what arrives from now on is ours
        claimed = self._store.claim_current_leg(self.relay_id, self.leg, claimed_at)
        self._check_meta(force=True)
        if self._relays_from is None and (claimed or self._current_leg == self.leg):
            self._relays_from = claimed_at  # (not claimed: a retry of this leg, which had claimed)
        reason = "leg_deadline"
        try:
            while self._connected_until(deadline):
                item = reader.get(timeout=min(self._settings.meta_refresh_seconds, 0.5))
                if item is _DROPPED:
                    reason = "dropped"
                    break
                if item is not None:
                    self._handle(*item)
                if self._ended:
                    reason = self._ended
                    break
                self._heartbeat()
                if stop := self._check_meta():
                    reason = stop
                    break
                if self._monotonic() >= self._piece_due:
                    self._flush_piece()
        finally:
            try:
                socket.close()
            except Exception:  # noqa: BLE001 - closing a dead socket
                logger.debug("live relay: close failed", extra={"relay_id": self.relay_id})
            closed = self._now()
            try:
                # What arrived before we hung up is still ours to handle: a handover leaves no
                # message that only this leg received unrelayed.
                for item in reader.close():
                    if item is not _DROPPED and not self._ended:
                        self._handle(*item)
            finally:
                self._reader = None
                self._connections += 1
                self._store.add_connection(
                    self.relay_id,
                    Connection(leg=self.leg, opened_at=opened, closed_at=closed),
                    self._connections,
                )
        return reason

    def _connected_until(self, deadline: float) -> bool:
        """Before the deadline: stay. After it: stay until a newer leg has connected (it claims
        ``current_leg`` once connected), so the two overlap even when the next leg starts late (a
        cold start, a delayed asynchronous invoke), and until this leg's reader has taken in every
        message that arrived before the handover (and its margin). Never past the hard deadline."""
        now = self._monotonic()
        if now < deadline:
            return True
        if now >= self._hard_deadline:
            return False
        self._check_meta()
        if self._current_leg <= self.leg or self._ended:
            return not self._ended
        handed_over = self._handed_over_at
        return (
            handed_over is not None
            and self._reader is not None
            and self._reader.read_to < handed_over + timedelta(seconds=self._settings.handoff_margin_seconds)
        )

    def _heartbeat(self) -> None:
        if (
            self._current_leg == self.leg
            and self._monotonic() - self._heartbeat_at >= self._settings.heartbeat_seconds
        ):
            self._heartbeat_at = self._monotonic()
            self._store.heard(self.relay_id, self._now())

    def _check_meta(self, *, force: bool = False) -> str | None:
        """The relay's status, every ``meta_refresh_seconds``: why to stop, or None."""
        if not force and self._monotonic() - self._meta_checked < self._settings.meta_refresh_seconds:
            return None
        self._meta_checked = self._monotonic()
        read_at = self._now()  # the meta read below shows every claim made before this
        meta = self._store.meta(self.relay_id)
        if meta is None:
            return "relay_ended"
        self._meta_read_at = read_at
        self._current_leg = meta.current_leg
        if meta.current_leg > self.leg and self._handed_over_at is None:
            self._handed_over_at = meta.current_leg_since or read_at
        if meta.status == STOP_REQUESTED:
            if self._store.end(self.relay_id, "stopped_by_operator", self._now()):
                logger.info("live relay stopped by the operator", extra={"relay_id": self.relay_id})
            self._ended = "stopped_by_operator"
            return self._ended
        if meta.ended:
            self._ended = meta.end_reason or "relay_ended"
            return self._ended
        return None

    def _relays(self, arrived: datetime) -> bool:
        """Whether this leg relays a non-line message that arrived at ``arrived``: from its own claim
        until a newer leg's claim (plus the margin). A claim that could make this leg skip the
        message was made at least the margin before it arrived; if the relay's meta was last read
        more than half the margin before the message arrived, it is read again first. (The loop
        reads it every ``meta_refresh_seconds`` anyway, so this is rarely an extra read; a claim
        whose write took longer than half the margin to land can only cause a duplicate.)"""
        if self._relays_from is None or arrived < self._relays_from:
            return False
        margin = timedelta(seconds=self._settings.handoff_margin_seconds)
        if self._handed_over_at is None and self._meta_read_at < arrived - margin / 2:
            self._check_meta(force=True)
        if self._handed_over_at is None:
            return True
        return arrived < self._handed_over_at + margin

    # -- one message --------------------------------------------------------------------------------
    def _handle(self, text: str | bytes, received: datetime) -> None:
        try:
            message = parse_message(text)
            lines = message.lines()
        except MessageError as error:
            self._tally.invalid += 1
            logger.warning(
                "live relay: message ignored",
                extra={"relay_id": self.relay_id, "reason": str(error), "bytes": len(text)},
            )
            return
        self._tally.messages += 1
        self._tally.by_type[message.type] = self._tally.by_type.get(message.type, 0) + 1
        if message.type == "ping":
            return
        if message.type == "start":
            self._store.mark_started(self.relay_id, received)
        for line in lines:
            if self._store.add_line(self.relay_id, line, received_at=received, leg=self.leg):
                self._tally.lines += 1
                detail = self._detail("ts", line.to_json(), received)
                if message.type == "connected":
                    detail["replayed"] = True  # sent again on connect: this leg had missed it
                self._publish("ts", detail)
                self._buffer.append(
                    json.dumps({**line.to_json(), "receivedAt": detail["receivedAt"]}).encode()
                )
        if message.type in ("ts", "connected"):
            return
        if message.terminal:
            if self._store.end(self.relay_id, message.type, received):
                self._publish(message.type, self._detail(message.type, message.data, received))
                logger.info(
                    "live relay: the bot ended the stream",
                    extra={"relay_id": self.relay_id, "type": message.type},
                )
            self._ended = message.type
            return
        if not self._relays(received):
            return  # another leg relays it: it arrived before this leg's claim, or after a newer one's
        if message.type in RECORDED_TYPES:
            self._store.add_event(
                self.relay_id,
                leg=self.leg,
                seq=self._tally.messages,
                type_=message.type,
                data=message.data if isinstance(message.data, dict) else {},
                received_at=received,
            )
        self._publish(message.type, self._detail(message.type, message.data, received))

    def _detail(self, type_: str, data: Any, received: datetime) -> dict[str, Any]:
        return {
            "relayId": self.relay_id,
            **self._meeting,
            "leg": self.leg,
            "type": type_,
            "receivedAt": received.isoformat(timespec="milliseconds"),
            "data": data,
        }

    def _publish(self, type_: str, detail: dict[str, Any]) -> None:
        for attempt in range(3):
            try:
                self._publisher.publish(type_, detail)
                return
            except PublishError as error:
                if attempt == 2:
                    # The fact is recorded (the archive has it); only the live copy is missing.
                    logger.error(
                        "live relay: not on the bus",
                        extra={"relay_id": self.relay_id, "type": type_, "error": str(error)},
                    )
                    return
                self._sleep(0.2 * (attempt + 1))

    # -- pieces and the report ----------------------------------------------------------------------
    def _flush_piece(self) -> None:
        self._piece_due = self._monotonic() + self._settings.piece_seconds
        if not self._buffer:
            return
        self._piece_count += 1
        data = b"\n".join(self._buffer) + b"\n"
        self._buffer = []
        self._pieces.put_piece(f"{self.leg:05d}-{self._piece_count:05d}.jsonl", data)

    def _finish(self, started: datetime, reason: str) -> LegReport:
        self._flush_piece()
        report = LegReport(
            leg=self.leg,
            started_at=started,
            ended_at=self._now(),
            reason=reason,
            lines=self._tally.lines,
            messages=self._tally.messages,
        )
        self._store.add_leg(self.relay_id, report)
        logger.info(
            "live relay leg ended",
            extra={
                "relay_id": self.relay_id,
                "leg": self.leg,
                "reason": reason,
                "lines": self._tally.lines,
                "messages": self._tally.messages,
                "invalid": self._tally.invalid,
                "by_type": self._tally.by_type,
            },
        )
        return report
