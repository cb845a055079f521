"""RealtimeKit webhook signatures: RSASSA-PKCS1-v1_5 with SHA-256 over the raw body bytes,
base64 in ``rtk-signature`` (legacy ``dyte-signature``). One platform-wide public key, served at a
well-known URL; there is no shared secret and no HMAC (reference section 2)."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.core.exceptions import KeyUnavailableError, SignatureError

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
    def get(self, *, refresh: bool = False) -> rsa.RSAPublicKey: ...


class StaticPublicKey:
    """A PEM given in configuration (local mode, tests, or pinning the key)."""

    def __init__(self, pem: str) -> None:
        self._key = load_public_key(pem)

    def get(self, *, refresh: bool = False) -> rsa.RSAPublicKey:
        return self._key


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

    - ``refresh=True`` re-fetches (a failed check may mean the key rotated), but at most once per
      ``min_refresh_seconds``, so a flood of forged requests cannot become a flood of fetches.
    - After a failed fetch, no fetch is tried again for ``backoff_seconds``, doubling with each
      failure in a row up to ``max_backoff_seconds``. Meanwhile the key already held keeps
      verifying: a forged request gets its 401 at once instead of waiting on the key URL.
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
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_error: str | None = None
        self._lock = threading.Lock()

    @property
    def fetch_failures(self) -> int:
        """Failed fetches in a row (0 after a good one)."""
        return self._failures

    def get(self, *, refresh: bool = False) -> rsa.RSAPublicKey:
        with self._lock:
            now = self._clock()
            age = now - self._fetched_at
            expired = self._key is None or age >= self._ttl
            just_failed = False
            if (expired or (refresh and age >= self._min_refresh)) and now >= self._retry_at:
                try:
                    key = self._download()
                except KeyUnavailableError as exc:
                    self._failures += 1
                    just_failed = True
                    self._last_error = str(exc)
                    self._retry_at = now + min(self._max_backoff, self._backoff * 2 ** (self._failures - 1))
                    if self._key is None:
                        raise
                else:
                    self._key, self._fetched_at = key, now
                    self._failures, self._retry_at, self._last_error = 0, float("-inf"), None
                    return key
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
    """Verifies a body against the current key; on failure re-fetches the key once and retries."""

    def __init__(self, keys: PublicKeySource) -> None:
        self._keys = keys

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """Return the header name that carried a valid signature, else raise ``SignatureError``.
        Raises ``KeyUnavailableError`` when no key can be had (the sender should retry)."""
        header, signature = signature_from_headers(headers)
        if is_valid_signature(self._keys.get(), body, signature):
            return header
        if is_valid_signature(self._keys.get(refresh=True), body, signature):
            return header
        raise SignatureError(f"{header} does not verify against the webhook public key")
