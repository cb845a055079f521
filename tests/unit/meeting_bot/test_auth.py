"""Standard Webhooks signatures and query tokens for /webhooks/meeting-bot."""

from __future__ import annotations

import base64

import pytest

from shared.sources.meeting_bot.auth import BotAuthError, BotCredentials, authenticate, sign, signing_key

# The scheme's published test vector (standard-webhooks spec; svix libraries' "sign" tests).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"another-32-byte-secret-for-tests!").decode()


def headers(
    signature: str, *, prefix: str = "webhook", msg_id: str = VECTOR_ID, ts: int = VECTOR_TIMESTAMP
) -> dict[str, str]:
    return {f"{prefix}-id": msg_id, f"{prefix}-timestamp": str(ts), f"{prefix}-signature": signature}


def test_sign_reproduces_the_published_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_published_vector_verifies_with_webhook_and_svix_headers() -> None:
    creds = BotCredentials(signing_secrets=(VECTOR_SECRET,))
    for prefix in ("webhook", "svix"):
        assert (
            authenticate(
                creds, VECTOR_BODY, headers(VECTOR_SIGNATURE, prefix=prefix), None, now=VECTOR_TIMESTAMP + 10
            )
            == "signature"
        )


def test_any_one_of_several_signatures_passes() -> None:
    creds = BotCredentials(signing_secrets=(VECTOR_SECRET,))
    header = f"v1,bm9wZQ== v2,ignored {VECTOR_SIGNATURE}"
    assert authenticate(creds, VECTOR_BODY, headers(header), None, now=VECTOR_TIMESTAMP) == "signature"


@pytest.mark.parametrize(
    ("body", "signature", "now"),
    [
        (b'{"test": 2432232315}', VECTOR_SIGNATURE, VECTOR_TIMESTAMP),  # body changed
        (VECTOR_BODY, "v1,bm9wZQ==", VECTOR_TIMESTAMP),  # wrong signature
        (VECTOR_BODY, VECTOR_SIGNATURE.replace("v1,", "v2,"), VECTOR_TIMESTAMP),  # unknown version
        (VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TIMESTAMP + 301),  # stale
        (VECTOR_BODY, VECTOR_SIGNATURE, VECTOR_TIMESTAMP - 301),  # from the future
    ],
    ids=["tampered-body", "bad-signature", "unknown-version", "stale", "future"],
)
def test_bad_or_stale_signatures_are_refused(body: bytes, signature: str, now: int) -> None:
    creds = BotCredentials(signing_secrets=(VECTOR_SECRET,))
    with pytest.raises(BotAuthError) as caught:
        authenticate(creds, body, headers(signature), None, now=now)
    assert caught.value.status_code == 401
    assert VECTOR_SECRET not in str(caught.value)


def test_during_a_rotation_either_secret_passes_and_a_retired_one_does_not() -> None:
    body = b'{"event":"transcript.data"}'
    old = headers(sign(VECTOR_SECRET, "m1", 1000, body), msg_id="m1", ts=1000)
    new = headers(sign(OTHER_SECRET, "m1", 1000, body), msg_id="m1", ts=1000)
    rotating = BotCredentials(signing_secrets=(OTHER_SECRET, VECTOR_SECRET))
    assert authenticate(rotating, body, old, None, now=1000) == "signature"
    assert authenticate(rotating, body, new, None, now=1000) == "signature"
    after = BotCredentials(signing_secrets=(OTHER_SECRET,))
    with pytest.raises(BotAuthError):
        authenticate(after, body, old, None, now=1000)


def test_query_token_passes_and_wrong_or_missing_token_is_refused() -> None:
    creds = BotCredentials(tokens=("tok-new", "tok-old"))
    assert authenticate(creds, b"{}", {}, {"token": "tok-old"}, now=0) == "token"
    for query in ({"token": "tok-ol"}, {"token": ""}, {}, None, {"other": "tok-new"}):
        with pytest.raises(BotAuthError):
            authenticate(creds, b"{}", {}, query, now=0)


def test_a_bad_signature_still_passes_with_a_valid_token() -> None:
    creds = BotCredentials(signing_secrets=(VECTOR_SECRET,), tokens=("tok",))
    assert (
        authenticate(creds, b"{}", headers("v1,bm9wZQ=="), {"token": "tok"}, now=VECTOR_TIMESTAMP) == "token"
    )


def test_secret_prefix_is_optional_and_garbage_secrets_fail_at_configuration() -> None:
    assert signing_key(VECTOR_SECRET) == signing_key(VECTOR_SECRET.removeprefix("whsec_"))
    with pytest.raises(ValueError, match="base64"):
        BotCredentials(signing_secrets=("whsec_not base64!",))
    with pytest.raises(ValueError, match="at least one"):
        BotCredentials()
