"""Runtime settings of the bot endpoint and its consumers (``docs/meeting-bot.md``)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from shared.core.config import MAX_BODY_BYTES_LIMIT, SessionSettings, _Settings

DEFAULT_QUIET_SECONDS = 600
DEFAULT_FRAME_INTERVAL_SECONDS = 10.0


class BotIngestSettings(_Settings):
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    archive_bucket: str = Field(alias="ARCHIVE_BUCKET", min_length=3)
    # Secrets Manager: {"tokens": [...], "signingSecrets": ["whsec_...", ...]}
    credentials_secret: str = Field(alias="BOT_CREDENTIALS_SECRET_ARN", min_length=1)
    credentials_cache_seconds: float = Field(default=300, alias="BOT_CREDENTIALS_CACHE_SECONDS", gt=0)
    # Media bodies (audio chunks, PNG frames) go to S3, not the bus: they may be larger than
    # bus-bound bodies, which EventBridge's entry size limits.
    max_body_bytes: int = Field(default=1024 * 1024, alias="BOT_MAX_BODY_BYTES", ge=1024, le=6 * 1024 * 1024)
    max_bus_body_bytes: int = Field(
        default=MAX_BODY_BYTES_LIMIT, alias="BOT_MAX_BUS_BODY_BYTES", ge=1024, le=MAX_BODY_BYTES_LIMIT
    )
    signature_tolerance_seconds: float = Field(default=300, alias="BOT_SIGNATURE_TOLERANCE_SECONDS", gt=0)
    # One frame per participant per this many seconds; 0 keeps none.
    frame_interval_seconds: float = Field(
        default=DEFAULT_FRAME_INTERVAL_SECONDS, alias="BOT_FRAME_INTERVAL_SECONDS", ge=0
    )


class BotWorkerSettings(SessionSettings):
    keep_partial_transcripts: bool = Field(default=False, alias="BOT_KEEP_PARTIAL_TRANSCRIPTS")
    audio_quiet_seconds: int = Field(default=DEFAULT_QUIET_SECONDS, alias="BOT_AUDIO_QUIET_SECONDS", ge=1)
    # The audio consumer's own queue: quiet-period timers are delayed messages on it.
    audio_queue_url: str | None = Field(default=None, alias="BOT_AUDIO_QUEUE_URL")


@cache
def bot_ingest_settings() -> BotIngestSettings:
    return BotIngestSettings.from_env()


@cache
def bot_worker_settings() -> BotWorkerSettings:
    return BotWorkerSettings.from_env()
