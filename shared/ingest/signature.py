"""RealtimeKit webhook signatures: RSASSA-PKCS1-v1_5 with SHA-256 over the raw body bytes,
base64 in ``rtk-signature`` (legacy ``dyte-signature``). One platform-wide public key, served at a
well-known URL; there is no shared secret and no HMAC (reference section 2)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.core.exceptions import KeyRefreshPendingError, KeyUnavailableError, SignatureError

SIGNATURE_HEADERS = ("rtk-signature", "dyte-signature")
DEFAULT_PUBLIC_KEY_URL = "https://api.realtime.cloudflare.com/.well-known/webhooks.json"


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Load an SPKI PEM; tolerates the literal ``\\n`` sequences the well-known document may hold."""
    text = pem.replace("\\n", "\n").strip()
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise KeyUnavailableError(f"public key is not a valid PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyUnavailableError("public key is not an RSA key")
    return key


def signature_from_headers(headers: Mapping[str, str]) -> tuple[str, bytes]:
    """Return (header name used, decoded signature). ``headers`` keys must be lower-case."""
    for name in SIGNATURE_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError(f"{name} is not valid base64") from exc
        if not raw:
            raise SignatureError(f"{name} is empty")
        return name, raw
    raise SignatureError("no rtk-signature header")


def is_valid_signature(key: rsa.RSAPublicKey, body: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class PublicKeySource(Protocol):
    def get(self) -> rsa.RSAPublicKey:
        """The key to check a signature with."""
        ...

    def after_failed_check(self, failed: rsa.RSAPublicKey) -> rsa.RSAPublicKey | None:
        """A signature did not verify against ``failed`` (what ``get`` gave): a newer key to try,
        or None when ``failed`` is current (the failure is final, 401). Raises
        ``KeyRefreshPendingError`` (503) when ``failed`` may be out of date and no fresh key can be
        had now."""
        ...


class StaticPublicKey:
    """A PEM given in configuration (local mode, tests, or pinning the key)."""

    def __init__(self, pem: str) -> None:
        self._key = load_public_key(pem)

    def get(self) -> rsa.RSAPublicKey:
        return self._key

    def after_failed_check(self, failed: rsa.RSAPublicKey) -> rsa.RSAPublicKey | None:
        return None  # a configured key does not rotate behind our back


def _http_get(url: str, timeout: float) -> bytes:
    import urllib.request  # only on a key fetch: keeps it off the ingest cold start

    request = urllib.request.Request(url, headers={"accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https URL from settings)
        data: bytes = response.read(256 * 1024)
        return data


class KeyNotes(Protocol):
    def warning(self, message: str, **fields: object) -> None: ...

    def count(self, name: str, value: float = 1) -> None: ...


class WellKnownPublicKey:
    """Fetches ``{"data": {"publicKey": PEM}}`` from the well-known URL and caches it.

    - After a failed check (the key may have rotated), the key is fetched again, but at most once
      per ``min_refresh_seconds``, so a flood of forged requests cannot become a flood of fetches.
      Only a failure against a key fetched for that very check is final (401). When no fresh key
      can be had (the re-fetch is rate limited, or the key URL fails), the answer is a 503 with
      ``Retry-After`` (``KeyRefreshPendingError``): a genuine webhook signed with a key rotated
      since the last fetch is retried, not lost.
    - After a failed fetch, no fetch is tried again for ``backoff_seconds``, doubling with each
      failure in a row up to ``max_backoff_seconds``. Meanwhile the key already held keeps
      verifying, and a check that fails against it gets its 503 at once instead of waiting on the
      key URL.
    - Stale-while-error: past the TTL, while the key URL fails, the last good key is still used
      (logged and counted as ``WebhookKeyStale``). Only when no key was ever fetched is the key
      unavailable (503, the sender retries).
    """

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 3600.0,
        min_refresh_seconds: float = 60.0,
        timeout_seconds: float = 3.0,
        backoff_seconds: float = 30.0,
        max_backoff_seconds: float = 300.0,
        fetch: Callable[[str, float], bytes] = _http_get,
        clock: Callable[[], float] = time.monotonic,
        notes: KeyNotes | None = None,
    ) -> None:
        self._url = url
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._timeout = timeout_seconds
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._fetch = fetch
        self._clock = clock
        self._notes = notes
        self._key: rsa.RSAPublicKey | None = None
        self._fetched_at = float("-inf")
        # The last ``get`` fetched the key it gave: a check that fails against it has the current key.
        self._fetched_for_check = False
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_error: str | None = None
        self._lock = threading.Lock()

    @property
    def fetch_failures(self) -> int:
        """Failed fetches in a row (0 after a good one)."""
        return self._failures

    def get(self) -> rsa.RSAPublicKey:
        with self._lock:
            now = self._clock()
            age = now - self._fetched_at
            expired = self._key is None or age >= self._ttl
            self._fetched_for_check = False
            just_failed = False
            if expired and now >= self._retry_at:
                key = self._try_fetch(now)
                if key is not None:
                    self._fetched_for_check = True
                    return key
                just_failed = True
            if self._key is None:
                raise KeyUnavailableError(
                    f"no webhook public key yet; the last fetch from {self._url} failed "
                    f"({self._last_error}); next try in {max(0.0, self._retry_at - now):.0f} s"
                )
            if expired and self._notes is not None:
                self._notes.count("WebhookKeyStale")
            if expired and just_failed and self._notes is not None:  # one line per failed fetch
                self._notes.warning(
                    "webhook public key is past its TTL and the key URL is failing: verifying with the "
                    "last good key",
                    key_age_seconds=round(age),
                    failures=self._failures,
                    error=self._last_error,
                )
            return self._key

    def after_failed_check(self, failed: rsa.RSAPublicKey) -> rsa.RSAPublicKey | None:
        with self._lock:
            if self._key is not failed:  # another check fetched a newer key meanwhile
                return self._key
            if self._fetched_for_check:  # fetched for the check that failed: it decides
                return None
            now = self._clock()
            if now - self._fetched_at >= self._min_refresh and now >= self._retry_at:
                key = self._try_fetch(now)
                if key is not None:
                    return key
            next_try = max(self._fetched_at + self._min_refresh, self._retry_at)
            wait = max(1, math.ceil(next_try - now))
            why = (
                f"the key URL is failing ({self._last_error})"
                if self._failures
                else f"the key was fetched {now - self._fetched_at:.0f} s ago"
            )
            raise KeyRefreshPendingError(
                f"the signature does not verify against the key held, which may have been rotated; {why}, "
                f"and it may be fetched again in {wait} s",
                retry_after_seconds=wait,
            )

    def _try_fetch(self, now: float) -> rsa.RSAPublicKey | None:
        """Fetch and keep the key; None (and the back-off moved on) when the fetch fails.
        Raises ``KeyUnavailableError`` only when no key was ever fetched."""
        try:
            key = self._download()
        except KeyUnavailableError as exc:
            self._failures += 1
            self._last_error = str(exc)
            self._retry_at = now + min(self._max_backoff, self._backoff * 2 ** (self._failures - 1))
            if self._key is None:
                raise
            return None
        self._key, self._fetched_at = key, now
        self._failures, self._retry_at, self._last_error = 0, float("-inf"), None
        return key

    def _download(self) -> rsa.RSAPublicKey:
        try:
            document = json.loads(self._fetch(self._url, self._timeout))
        except (OSError, ValueError) as exc:
            raise KeyUnavailableError(
                f"could not fetch the webhook public key from {self._url}: {exc}"
            ) from exc
        pem = None
        if isinstance(document, dict):
            data = document.get("data")
            pem = data.get("publicKey") if isinstance(data, dict) else document.get("publicKey")
        if not isinstance(pem, str):
            raise KeyUnavailableError(f"no publicKey in the document at {self._url}")
        return load_public_key(pem)


class SignatureVerifier:
    """Verifies a body against the current key; on failure asks the key source for a newer key
    (it may have rotated) and checks once more."""

    def __init__(self, keys: PublicKeySource) -> None:
        self._keys = keys

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """Return the header name that carried a valid signature, else raise ``SignatureError``
        (401). Raises ``KeyUnavailableError`` when no key can be had and ``KeyRefreshPendingError``
        when the key held may be out of date (both 503: the sender should retry)."""
        header, signature = signature_from_headers(headers)
        key = self._keys.get()
        if is_valid_signature(key, body, signature):
            return header
        newer = self._keys.after_failed_check(key)
        if newer is not None and is_valid_signature(newer, body, signature):
            return header
        raise SignatureError(f"{header} does not verify against the webhook public key")
