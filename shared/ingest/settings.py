"""The ingest function's settings, read from environment variables by hand.

Not a pydantic model like the consumers' settings (``shared.core.config``): importing pydantic and
building a model is most of what a cold start of the webhook endpoint would cost beyond boto3, and the
sender waits on it (bench/ingest.py). The rules are the same: a setting that must be given has no
default, a bad value is a ``ConfigurationError`` naming the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.core.exceptions import ConfigurationError

# EventBridge takes at most 256 KB per entry; the detail carries the body twice (parsed and raw).
# Bodies whose entry would still be too large go to S3 first (a claim check, see ``ack``).
MAX_BODY_BYTES_LIMIT = 100 * 1024
# What the stack sets as REALTIMEKIT_API_BASE_URL for the meeting lookup (the consumers' default too).
REALTIMEKIT_API_BASE_URL = "https://api.cloudflare.com/client/v4"


def _number(environ: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={raw!r} must be between {low:g} and {high:g}")
    return value


def app_ids_from(environ: Mapping[str, str]) -> tuple[str, ...]:
    """``REALTIMEKIT_APP_IDS`` (comma-separated, for a stack serving several apps), else
    ``REALTIMEKIT_APP_ID``."""
    raw = environ.get("REALTIMEKIT_APP_IDS") or environ.get("REALTIMEKIT_APP_ID") or ""
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


@dataclass(frozen=True)
class IngestSettings:
    event_bus_name: str
    app_ids: tuple[str, ...]
    public_key_url: str | None = None
    public_key_pem: str | None = None
    max_body_bytes: int = 64 * 1024
    key_cache_seconds: float = 3600.0
    key_min_refresh_seconds: float = 60.0
    # Where oversize bodies are parked before their pointer goes on the bus (claim check).
    archive_bucket: str | None = None
    # RealtimeKit's REST API, to ask whether a meeting whose body names another app id is ours.
    # Asked only when all three are set (the stack sets them; local mode only with --api-base-url):
    # with nobody to ask, a differing app id is refused outright.
    account_id: str | None = None
    api_token_secret_arn: str | None = None
    api_base_url: str | None = None
    api_timeout_seconds: float = 3.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngestSettings:
        env = os.environ if environ is None else environ
        bus = env.get("EVENT_BUS_NAME", "").strip()
        if not bus:
            raise ConfigurationError("IngestSettings: EVENT_BUS_NAME is required")
        url = env.get("WEBHOOK_PUBLIC_KEY_URL") or None
        pem = env.get("WEBHOOK_PUBLIC_KEY_PEM") or None
        if not (url or pem):
            raise ConfigurationError("IngestSettings: set WEBHOOK_PUBLIC_KEY_URL or WEBHOOK_PUBLIC_KEY_PEM")
        app_ids = app_ids_from(env)
        if not app_ids:
            raise ConfigurationError(
                "IngestSettings: REALTIMEKIT_APP_IDS (or REALTIMEKIT_APP_ID) is required: the stack "
                "accepts webhooks of these RealtimeKit apps only"
            )
        return cls(
            event_bus_name=bus,
            app_ids=app_ids,
            public_key_url=url,
            public_key_pem=pem,
            max_body_bytes=int(
                _number(env, "MAX_BODY_BYTES", 64 * 1024, low=1024, high=MAX_BODY_BYTES_LIMIT)
            ),
            key_cache_seconds=_number(env, "PUBLIC_KEY_CACHE_SECONDS", 3600, low=1, high=7 * 86400),
            key_min_refresh_seconds=_number(env, "PUBLIC_KEY_MIN_REFRESH_SECONDS", 60, low=0, high=86400),
            archive_bucket=env.get("ARCHIVE_BUCKET") or None,
            account_id=env.get("REALTIMEKIT_ACCOUNT_ID") or None,
            api_token_secret_arn=env.get("REALTIMEKIT_API_TOKEN_SECRET_ARN") or None,
            api_base_url=(env.get("REALTIMEKIT_API_BASE_URL") or "").rstrip("/") or None,
            api_timeout_seconds=_number(env, "REALTIMEKIT_LOOKUP_TIMEOUT_SECONDS", 3.0, low=0.1, high=20),
        )
