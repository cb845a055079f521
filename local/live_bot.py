"""A fake meeting bot's live transcription WebSocket (seed 004), for local mode, the demo and tests.

It plays a scripted meeting on its own clock, like the real one: every message goes to whoever is
connected at that moment, and a message sent while nobody is connected is lost. It can drop every
connection at a chosen time and refuse new ones for a while, and (``replay_on_connect``, the
vendor's newer behaviour) send a ``connected`` message with every line so far to each new client.
The socket URL carries a token: a client without it is refused, as a real bot's would be.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.sync.server import Server, ServerConnection, serve


@dataclass(frozen=True)
class Scripted:
    at: float  # seconds after play() starts
    message: dict[str, Any]


@dataclass
class Drop:
    at: float
    seconds: float  # new connections are refused for this long


def scripted_meeting(
    *,
    seconds: float = 30.0,
    line_every: float = 1.0,
    late_name_lines: int = 3,
    end: str = "stop",
) -> list[Scripted]:
    """A meeting of two speakers (plus a chat message and pings): speaker 0's name is unknown for
    its first ``late_name_lines`` lines, as the seed says it can be, then arrives."""
    script = [
        Scripted(0.05, {"type": "start"}),
        Scripted(
            0.10,
            {
                "type": "participant-tracked",
                "data": {"participantId": "Alice Ng", "participantName": "Alice Ng"},
            },
        ),
        Scripted(
            0.15,
            {
                "type": "participant-tracked",
                "data": {"participantId": "Bob Stone", "participantName": "Bob Stone"},
            },
        ),
    ]
    names = {0: "Alice Ng", 1: "Bob Stone"}
    spoken = {0: 0, 1: 0}
    t, n = 0.3, 0
    while t < seconds - 0.5:
        speaker = n % 2
        spoken[speaker] += 1
        name: str | None = names[speaker]
        if speaker == 0 and spoken[0] <= late_name_lines:
            name = None
        who = {"participantId": names[speaker], "participantName": names[speaker]}
        script.append(Scripted(t, {"type": "started-speaking", "data": who}))
        script.append(
            Scripted(
                t + 0.02,
                {
                    "type": "ts",
                    "data": {
                        "transcript": f"Line {n + 1} from {names[speaker]}: point number {n + 1}.",
                        "start": round(t, 3),
                        "end": round(t + line_every * 0.8, 3),
                        "speaker": speaker,
                        "speaker_name": name,
                    },
                },
            )
        )
        script.append(Scripted(t + line_every * 0.8, {"type": "stopped-speaking", "data": who}))
        if n == 4:
            script.append(
                Scripted(
                    t + 0.3,
                    {
                        "type": "chat-message",
                        "data": {"username": "Bob Stone", "content": "Slides: page 3", "user_avatar": None},
                    },
                )
            )
        t += line_every
        n += 1
    for ping in range(1, int(seconds // 10) + 1):
        script.append(Scripted(ping * 10.0 - 0.01, {"type": "ping"}))
    final: dict[str, Any] = (
        {"type": "stop"}
        if end == "stop"
        else {"type": "error", "data": {"message": "transcription provider failed"}}
    )
    script.append(Scripted(seconds, final))
    return sorted(script, key=lambda s: s.at)


@dataclass
class FakeBotSocket:
    script: list[Scripted]
    drops: list[Drop] = field(default_factory=list)
    replay_on_connect: bool = False
    host: str = "127.0.0.1"
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    sent: list[dict[str, Any]] = field(default_factory=list)  # every message played, connected or not
    delivered_to: list[int] = field(default_factory=list)  # how many clients got each message
    connections: int = 0
    refused: int = 0
    _clients: set[ServerConnection] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Server | None = None
    _refuse_until: float = 0.0
    _started: float | None = None
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        port = self._server.socket.getsockname()[1]
        return f"ws://{self.host}:{port}/bots/read-only?token={self.token}"

    def start(self) -> FakeBotSocket:
        self._server = serve(self._serve, self.host, 0, process_request=self._check)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-bot-ws").start()
        return self

    def play(self) -> FakeBotSocket:
        self._started = time.monotonic()
        threading.Thread(target=self._play, daemon=True, name="fake-bot-script").start()
        return self

    def play_when_connected(self, timeout: float = 30.0) -> None:
        """Start the meeting once a client is connected (a bot that starts before anyone listens
        loses its first lines, as the seed says)."""
        deadline = time.monotonic() + timeout
        while self.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.play()

    def wait_done(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    # -- server side ----------------------------------------------------------------------------
    def _check(self, connection: ServerConnection, request: Any) -> Any:
        query = parse_qs(urlsplit(request.path).query)
        if query.get("token") != [self.token]:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad token\n")
        if time.monotonic() < self._refuse_until:
            self.refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "bot unavailable\n")
        return None

    def _serve(self, connection: ServerConnection) -> None:
        with self._lock:
            self.connections += 1
            if self.replay_on_connect:
                lines = [m["data"] for m in self.sent if m["type"] == "ts"]
                connection.send(json.dumps({"type": "connected", "data": {"transcripts": lines}}))
            self._clients.add(connection)
        try:
            for _ in connection:  # the relay sends nothing (read-only); wait for it to go
                pass
        except Exception:  # noqa: BLE001, S110 - a client that went away
            pass
        finally:
            with self._lock:
                self._clients.discard(connection)

    def _play(self) -> None:
        assert self._started is not None
        drops = sorted(self.drops, key=lambda d: d.at)
        for item in self.script:
            while drops and drops[0].at <= item.at:
                self._wait_until(drops[0].at)
                self._drop(drops.pop(0))
            self._wait_until(item.at)
            text = json.dumps(item.message)
            with self._lock:
                self.sent.append(item.message)
                clients = list(self._clients)
            delivered = 0
            for client in clients:
                try:
                    client.send(text)
                    delivered += 1
                except Exception:  # noqa: BLE001, S112 - the client is going away
                    continue
            self.delivered_to.append(delivered)
        self._done.set()

    def _wait_until(self, at: float) -> None:
        assert self._started is not None
        delay = self._started + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _drop(self, drop: Drop) -> None:
        self._refuse_until = time.monotonic() + drop.seconds
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.close()
