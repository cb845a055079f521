from __future__ import annotations

import base64
import json

import pytest

from local.signing import WebhookSigner
from shared.core.exceptions import KeyRefreshPendingError, KeyUnavailableError, SignatureError
from shared.ingest.signature import SignatureVerifier, StaticPublicKey, WellKnownPublicKey

BODY = b'{"event":"meeting.started","meeting":{"id":"m-1","sessionId":"s-1"}}'


def verifier_for(signer: WebhookSigner) -> SignatureVerifier:
    return SignatureVerifier(StaticPublicKey(signer.public_pem()))


def test_valid_signature_over_raw_bytes_verifies(signer: WebhookSigner) -> None:
    assert verifier_for(signer).verify(BODY, {"rtk-signature": signer.sign(BODY)}) == "rtk-signature"


def test_reserialized_body_does_not_verify(signer: WebhookSigner) -> None:
    # Same JSON, other bytes: the signature is over the bytes, not the document.
    reserialized = json.dumps(json.loads(BODY), indent=1).encode()
    with pytest.raises(SignatureError):
        verifier_for(signer).verify(reserialized, {"rtk-signature": signer.sign(BODY)})


def test_tampered_body_is_rejected(signer: WebhookSigner) -> None:
    with pytest.raises(SignatureError):
        verifier_for(signer).verify(BODY.replace(b"m-1", b"m-2"), {"rtk-signature": signer.sign(BODY)})


def test_signature_from_another_key_is_rejected(signer: WebhookSigner, other_signer: WebhookSigner) -> None:
    with pytest.raises(SignatureError):
        verifier_for(signer).verify(BODY, {"rtk-signature": other_signer.sign(BODY)})


def test_missing_header_is_rejected(signer: WebhookSigner) -> None:
    with pytest.raises(SignatureError, match="no rtk-signature"):
        verifier_for(signer).verify(BODY, {})


@pytest.mark.parametrize("bad", ["not base64!!", "", "   ", "YWJj$"])
def test_malformed_base64_is_rejected(signer: WebhookSigner, bad: str) -> None:
    with pytest.raises(SignatureError):
        verifier_for(signer).verify(BODY, {"rtk-signature": bad})


def test_legacy_dyte_header_is_accepted(signer: WebhookSigner) -> None:
    assert verifier_for(signer).verify(BODY, {"dyte-signature": signer.sign(BODY)}) == "dyte-signature"


def test_pem_with_escaped_newlines_loads(signer: WebhookSigner) -> None:
    escaped = signer.public_pem().replace("\n", "\\n")
    verifier = SignatureVerifier(StaticPublicKey(escaped))
    assert verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)}) == "rtk-signature"


def test_garbage_pem_is_a_key_error() -> None:
    with pytest.raises(KeyUnavailableError):
        StaticPublicKey("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")


class FakeWellKnown:
    """Serves the well-known document; the key can be swapped to simulate a rotation."""

    def __init__(self, signer: WebhookSigner) -> None:
        self.pem = signer.public_pem().replace("\n", "\\n")
        self.calls = 0
        self.fail = False

    def __call__(self, url: str, timeout: float) -> bytes:
        self.calls += 1
        if self.fail:
            raise OSError("connection refused")
        return json.dumps({"success": True, "data": {"publicKey": self.pem}, "message": ""}).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_well_known_key_is_fetched_once_and_cached(signer: WebhookSigner) -> None:
    fetch = FakeWellKnown(signer)
    verifier = SignatureVerifier(WellKnownPublicKey("https://keys.test/wk", fetch=fetch))
    for _ in range(5):
        verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    assert fetch.calls == 1


def test_rotated_key_is_refetched_once_on_failed_check(
    signer: WebhookSigner, other_signer: WebhookSigner
) -> None:
    fetch, clock = FakeWellKnown(signer), Clock()
    verifier = SignatureVerifier(WellKnownPublicKey("https://keys.test/wk", fetch=fetch, clock=clock))
    verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    fetch.pem = other_signer.public_pem()  # RealtimeKit rotates its key
    clock.now += 120
    assert verifier.verify(BODY, {"rtk-signature": other_signer.sign(BODY)}) == "rtk-signature"
    assert fetch.calls == 2


def test_a_key_rotated_since_the_last_fetch_gets_a_retryable_503_not_a_final_401(
    signer: WebhookSigner, other_signer: WebhookSigner
) -> None:
    # GIVEN an instance that fetched the key at t=0, and RealtimeKit rotating it at t=30
    fetch, clock = FakeWellKnown(signer), Clock()
    verifier = SignatureVerifier(
        WellKnownPublicKey("https://keys.test/wk", fetch=fetch, clock=clock, min_refresh_seconds=60)
    )
    verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    fetch.pem = other_signer.public_pem()
    clock.now += 30
    new_key = {"rtk-signature": other_signer.sign(BODY)}
    # WHEN a webhook signed with the new key arrives inside the refresh limit
    with pytest.raises(KeyRefreshPendingError) as pending:
        verifier.verify(BODY, new_key)
    # THEN it is a 503 asking to come back when a re-fetch is allowed, and nothing was fetched
    assert pending.value.status_code == 503
    assert pending.value.retry_after_seconds == 30
    assert fetch.calls == 1
    clock.now += 20
    with pytest.raises(KeyRefreshPendingError) as pending:
        verifier.verify(BODY, new_key)
    assert pending.value.retry_after_seconds == 10
    # and the retry after the limit fetches the new key and verifies
    clock.now += 15
    assert verifier.verify(BODY, new_key) == "rtk-signature"
    assert fetch.calls == 2


def test_a_failure_against_the_key_fetched_for_the_check_is_final(
    signer: WebhookSigner, other_signer: WebhookSigner
) -> None:
    fetch = FakeWellKnown(signer)
    verifier = SignatureVerifier(WellKnownPublicKey("https://keys.test/wk", fetch=fetch))
    with pytest.raises(SignatureError):  # the first check fetched the key: it is current
        verifier.verify(BODY, {"rtk-signature": other_signer.sign(BODY)})
    assert fetch.calls == 1


def test_forged_signatures_cannot_force_a_fetch_each(
    signer: WebhookSigner, other_signer: WebhookSigner
) -> None:
    fetch, clock = FakeWellKnown(signer), Clock()
    verifier = SignatureVerifier(
        WellKnownPublicKey("https://keys.test/wk", fetch=fetch, clock=clock, min_refresh_seconds=60)
    )
    verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    clock.now += 61
    forged = {"rtk-signature": other_signer.sign(BODY)}
    with pytest.raises(SignatureError):  # checked against a key fetched for it: 401
        verifier.verify(BODY, forged)
    for _ in range(20):  # inside the limit the key cannot be re-fetched: 503, and no fetch
        with pytest.raises(KeyRefreshPendingError):
            verifier.verify(BODY, forged)
    assert fetch.calls == 2  # the first fetch plus one refresh in the window


def test_a_failure_while_the_key_url_fails_is_retryable(
    signer: WebhookSigner, other_signer: WebhookSigner
) -> None:
    fetch, clock = FakeWellKnown(signer), Clock()
    verifier = SignatureVerifier(WellKnownPublicKey("https://keys.test/wk", fetch=fetch, clock=clock))
    verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})
    fetch.fail = True
    clock.now += 61
    with pytest.raises(KeyRefreshPendingError, match="key URL is failing") as pending:
        verifier.verify(BODY, {"rtk-signature": other_signer.sign(BODY)})
    assert pending.value.retry_after_seconds == 30  # the back-off after a failed fetch
    assert verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)}) == "rtk-signature"


def test_unreachable_key_url_is_key_unavailable(signer: WebhookSigner) -> None:
    fetch = FakeWellKnown(signer)
    fetch.fail = True
    verifier = SignatureVerifier(WellKnownPublicKey("https://keys.test/wk", fetch=fetch))
    with pytest.raises(KeyUnavailableError, match="could not fetch"):
        verifier.verify(BODY, {"rtk-signature": signer.sign(BODY)})


def test_document_without_key_is_key_unavailable() -> None:
    def fetch(url: str, timeout: float) -> bytes:
        return b'{"success": true, "data": {}}'

    with pytest.raises(KeyUnavailableError, match="no publicKey"):
        WellKnownPublicKey("https://keys.test/wk", fetch=fetch).get()


def test_signature_header_value_is_base64(signer: WebhookSigner) -> None:
    raw = base64.b64decode(signer.sign(BODY))
    assert len(raw) == 256  # RSA-2048
