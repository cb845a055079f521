"""The bot endpoint's tokens and signing secrets, read from Secrets Manager and cached.

The secret's value is JSON: ``{"tokens": ["..."], "signingSecrets": ["whsec_...", "whsec_..."]}``
(two entries of a kind during a rotation). The cache lasts ``ttl_seconds``; a request that fails
both checks re-reads the secret once (at most every ``min_refresh_seconds``), so a rotation takes
effect without waiting for the cache to expire."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.core.exceptions import KeyUnavailableError
from shared.sources.meeting_bot.auth import BotCredentials


def credentials_from_json(text: str) -> BotCredentials:
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("the bot credentials secret must be a JSON object")
    tokens = list(document.get("tokens") or [])
    if document.get("token"):  # the token the stack generates
        tokens.append(document["token"])
    secrets = document.get("signingSecrets") or []
    if not isinstance(secrets, list) or not all(isinstance(v, str) and v for v in [*tokens, *secrets]):
        raise ValueError("tokens and signingSecrets must be lists of non-empty strings")
    return BotCredentials(signing_secrets=tuple(secrets), tokens=tuple(tokens))


def credentials_to_json(credentials: BotCredentials) -> str:
    return json.dumps(
        {"tokens": list(credentials.tokens), "signingSecrets": list(credentials.signing_secrets)}
    )


class SecretCredentials:
    def __init__(
        self,
        secret_id: str,
        client: Any = None,
        *,
        ttl_seconds: float = 300,
        min_refresh_seconds: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._client = client
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._value: BotCredentials | None = None
        self._fetched_at = 0.0

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("secretsmanager")
        return self._client

    def _fetch(self) -> BotCredentials:
        try:
            text = self.client.get_secret_value(SecretId=self._secret_id)["SecretString"]
            value = credentials_from_json(text)
        except (BotoCoreError, ClientError, KeyError, ValueError) as exc:
            # 503: the sender retries; the message never carries the secret's value.
            raise KeyUnavailableError(f"bot credentials unavailable: {type(exc).__name__}") from exc
        self._value, self._fetched_at = value, self._clock()
        return value

    def current(self) -> BotCredentials:
        with self._lock:
            if self._value is None or self._clock() - self._fetched_at > self._ttl:
                return self._fetch()
            return self._value

    def refreshed(self) -> BotCredentials | None:
        """A fresh read after a failed check, unless one happened very recently (None then)."""
        with self._lock:
            if self._value is not None and self._clock() - self._fetched_at < self._min_refresh:
                return None
            return self._fetch()


class StaticCredentials:
    """Fixed credentials (tests)."""

    def __init__(self, credentials: BotCredentials) -> None:
        self._credentials = credentials

    def current(self) -> BotCredentials:
        return self._credentials

    def refreshed(self) -> BotCredentials | None:
        return None
