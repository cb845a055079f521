"""Signing-key outages, against a key server on 127.0.0.1 that fails on command: back off after a
failed fetch, answer a check that fails against the key held 503 with ``Retry-After`` (the key may have
rotated and cannot be re-fetched now), keep verifying with the last good key past its TTL
(stale-while-error), and ``key_unavailable`` only while no key was ever fetched. The clock is a test
clock, so TTL and back-off are exercised without waiting."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.lambda_runtime import invoke, load_handler
from local.signing import WebhookSigner
from shared import wiring
from shared.core.exceptions import KeyRefreshPendingError, KeyUnavailableError
from shared.ingest.signature import SignatureVerifier, WellKnownPublicKey
from tests.conftest import event_body
from tests.integration.conftest import MotoStack
from tests.support.webhooks import api_event, response_json, signed_headers

BODY = b'{"event":"meeting.started","meeting":{"id":"m-1","sessionId":"s-1"}}'


class KeyServer:
    """Serves the well-known document; ``failing = True`` makes it answer 503 (``hang`` seconds late)."""

    def __init__(self, pem: str) -> None:
        self.pem = pem
        self.failing = False
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.hits += 1
                if server.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                data = json.dumps({"success": True, "data": {"publicKey": server.pem}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/.well-known/webhooks.json"

    def __enter__(self) -> KeyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Notes:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.counts: dict[str, float] = {}

    def warning(self, message: str, **fields: object) -> None:
        self.warnings.append(message)

    def count(self, name: str, value: float = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


@pytest.fixture
def key_server(signer: WebhookSigner) -> Iterator[KeyServer]:
    with KeyServer(signer.public_pem()) as server:
        yield server


def keys_for(server: KeyServer, clock: Clock, notes: Notes) -> WellKnownPublicKey:
    return WellKnownPublicKey(server.url, ttl_seconds=3600, min_refresh_seconds=60, clock=clock, notes=notes)


def test_a_failed_check_during_an_outage_is_503_at_once_and_backs_off(
    key_server: KeyServer, signer: WebhookSigner, other_signer: WebhookSigner
) -> None:
    clock, notes = Clock(), Notes()
    keys = keys_for(key_server, clock, notes)
    verifier = SignatureVerifier(keys)
    assert verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)}) == "rtk-signature"
    assert key_server.hits == 1
    key_server.failing = True
    # A signature from another key: a forgery, or a webhook signed with a key rotated during the
    # outage. The key cannot be re-fetched, so the answer is one RealtimeKit retries.
    other = {"rtk-signature": other_signer.sign(BODY)}
    clock.now += 61  # past the refresh limit: the failed check may re-fetch once
    with pytest.raises(KeyRefreshPendingError) as pending:
        verifier.verify(BODY, other)
    assert pending.value.retry_after_seconds == 30
    assert key_server.hits == 2
    for _ in range(50):  # a flood inside the back-off: no fetch, all 503 at once
        clock.now += 0.5
        with pytest.raises(KeyRefreshPendingError):
            verifier.verify(BODY, other)
    assert key_server.hits == 2
    assert verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)}) == "rtk-signature"


def test_back_off_doubles_from_30_s_to_5_min(key_server: KeyServer, signer: WebhookSigner) -> None:
    clock, notes = Clock(), Notes()
    keys = keys_for(key_server, clock, notes)
    keys.get()
    key_server.failing = True
    clock.now += 3600  # the key expires: every get() wants a fetch
    attempts_at = []
    start = clock.now
    while clock.now < start + 1200:
        before = key_server.hits
        keys.get()  # stale-while-error: never raises, a key was fetched once
        if key_server.hits > before:
            attempts_at.append(clock.now - start)
        clock.now += 1
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert gaps[:4] == [30, 60, 120, 240]
    assert set(gaps[4:]) == {300}


def test_past_the_ttl_the_last_good_key_keeps_verifying_and_it_is_counted(
    key_server: KeyServer, signer: WebhookSigner
) -> None:
    clock, notes = Clock(), Notes()
    verifier = SignatureVerifier(keys_for(key_server, clock, notes))
    verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    key_server.failing = True
    clock.now += 2 * 3600
    for _ in range(3):
        assert verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)}) == "rtk-signature"
    assert notes.counts["WebhookKeyStale"] == 3
    assert len(notes.warnings) == 1  # one line per failed fetch, not per request
    key_server.failing = False
    clock.now += 30
    verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})  # fetched again, fresh
    assert notes.counts["WebhookKeyStale"] == 3


def test_503_only_while_no_key_was_ever_fetched(key_server: KeyServer, signer: WebhookSigner) -> None:
    clock, notes = Clock(), Notes()
    key_server.failing = True
    verifier = SignatureVerifier(keys_for(key_server, clock, notes))
    with pytest.raises(KeyUnavailableError):
        verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    with pytest.raises(KeyUnavailableError, match="next try in"):  # inside the back-off: no fetch
        verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    assert key_server.hits == 1
    key_server.failing = False
    clock.now += 30
    assert verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)}) == "rtk-signature"


def test_through_the_ingest_function(
    moto_stack: MotoStack,
    key_server: KeyServer,
    signer: WebhookSigner,
    other_signer: WebhookSigner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deployed shape: the key URL in the settings, the endpoint's answers during an outage."""
    monkeypatch.delenv("WEBHOOK_PUBLIC_KEY_PEM")
    monkeypatch.setenv("WEBHOOK_PUBLIC_KEY_URL", key_server.url)
    monkeypatch.setenv("PUBLIC_KEY_MIN_REFRESH_SECONDS", "0")
    wiring.reset()
    ingest = load_handler("functions.ingest.handler.handler")
    body = event_body("meeting_started.json")

    def post(headers: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = invoke(ingest, api_event(body, headers), function_name="ingest")
        return result

    assert post(signed_headers(signer, body))["statusCode"] == 202
    key_server.failing = True
    hits = key_server.hits
    forged = signed_headers(other_signer, body)
    answers = [post(forged) for _ in range(20)]
    assert {a["statusCode"] for a in answers} == {503}
    assert {response_json(a)["error"] for a in answers} == {"key_refresh_pending"}
    assert answers[0]["headers"]["retry-after"] == "30"  # the back-off after the failed fetch
    assert key_server.hits == hits + 1  # one failed re-fetch, then the back-off
    assert post(signed_headers(signer, body))["statusCode"] == 202
