"""A handover between two relay legs, step by step: the test decides what each leg's socket
receives and when, and holds the older leg back while the newer one claims. Non-line messages have
no identity, so which leg relays one is decided by when it arrived (shared/sources/live_relay/leg.py).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from local.relay import provision_relay
from shared.sources.live_relay.leg import Leg, LegSettings
from shared.sources.live_relay.store import RelayStore
from tests.integration.conftest import MotoStack
from tests.support.moto_atomic import serialize_dynamodb

RELAY = "relay-handover"
ALICE = {"participantId": "Alice Ng", "participantName": "Alice Ng"}


@pytest.fixture(autouse=True)
def _atomic_item_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    serialize_dynamodb(monkeypatch)


class HandedSocket:
    """A bot socket whose messages the test hands it, one by one."""

    def __init__(self) -> None:
        self._messages: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.closed = threading.Event()

    def give(self, type_: str, data: Any = None) -> None:
        if not self.closed.is_set():  # sent to a socket that has hung up: that client missed it
            self._messages.put(json.dumps({"type": type_, "data": data}))

    def recv(self, timeout: float | None = None) -> str:
        if self.closed.is_set():
            raise ConnectionError("closed")
        try:
            message = self._messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if message is None:
            raise ConnectionError("closed")
        return message

    def close(self) -> None:
        self.closed.set()
        self._messages.put(None)


class Bus:
    """What the legs put on the bus; the older leg's first publish waits until ``release``."""

    def __init__(self) -> None:
        self.relayed: list[tuple[str, int, Any]] = []
        self.release = threading.Event()
        self.held = threading.Event()
        self._lock = threading.Lock()

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        if detail["leg"] == 1 and not self.release.is_set():
            self.held.set()
            assert self.release.wait(timeout=20)
        with self._lock:
            self.relayed.append((detail_type, detail["leg"], detail["data"]))


class NoPieces:
    def put_piece(self, name: str, data: bytes) -> None:
        return None


def _leg(store: RelayStore, bus: Bus, number: int, socket: HandedSocket, leg_seconds: float) -> Leg:
    settings = LegSettings(leg_seconds=leg_seconds, piece_seconds=60.0, handoff_margin_seconds=0.2)
    return Leg(
        relay_id=RELAY,
        leg=number,
        url="wss://bot.invalid/socket",
        store=store,
        publisher=bus,
        pieces=NoPieces(),
        settings=settings,
        connect=lambda _url, _timeout: socket,
    )


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_message_only_the_older_leg_received_is_relayed_even_if_it_handles_it_after_the_handover(
    moto_stack: MotoStack,
) -> None:
    """GIVEN leg 1 busy (its publish held) while the bot sends ``stopped-speaking``, before leg 2
    connects, WHEN leg 2 then connects and claims, and only after that leg 1 handles the message
    THEN leg 1 relays it (only it received it); a message both legs receive after the claim is
    relayed by leg 2 only; every message on the bus and in the relay record exactly once."""
    provision_relay(moto_stack.client, moto_stack.names)
    store = RelayStore(moto_stack.names.relay_table, client=moto_stack.client("dynamodb"))
    store.create(
        relay_id=RELAY,
        meeting_id="bot-meeting-1",
        session_id=RELAY,
        title=None,
        secret_id="unused",
        now=datetime.now(UTC),
    )
    bus = Bus()
    first, second = HandedSocket(), HandedSocket()

    def run(number: int, socket: HandedSocket, leg_seconds: float) -> None:
        _leg(store, bus, number, socket, leg_seconds).run()

    leg1 = threading.Thread(target=run, args=(1, first, 0.2))
    leg1.start()
    _wait_for(lambda: (meta := store.meta(RELAY)) is not None and meta.current_leg == 1, "leg 1 claims")
    first.give("started-speaking", ALICE)
    _wait_for(bus.held.is_set, "leg 1 is busy publishing")
    first.give("stopped-speaking", ALICE)  # nobody else is connected: only leg 1 has it
    time.sleep(0.2)

    leg2 = threading.Thread(target=run, args=(2, second, 30.0))
    leg2.start()
    _wait_for(lambda: (meta := store.meta(RELAY)) is not None and meta.current_leg == 2, "leg 2 claims")
    time.sleep(0.5)  # longer than leg 1's meta refresh and the handover margin
    for socket in (first, second):
        socket.give("chat-message", {"username": "Bob Stone", "content": "After the handover."})
    time.sleep(0.2)
    bus.release.set()
    leg1.join(timeout=20)
    assert not leg1.is_alive()
    second.give("stop")
    leg2.join(timeout=20)
    assert not leg2.is_alive()

    assert sorted((type_, leg) for type_, leg, _ in bus.relayed) == [
        ("chat-message", 2),
        ("started-speaking", 1),
        ("stop", 2),
        ("stopped-speaking", 1),
    ]
    _, record, _, legs = store.load(RELAY)
    assert Counter(event.type for event in record.events) == {
        "started-speaking": 1,
        "stopped-speaking": 1,
        "chat-message": 1,
    }
    assert {report.leg: report.reason for report in legs} == {1: "leg_deadline", 2: "stop"}
