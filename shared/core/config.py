"""Runtime settings, one model per function, read from environment variables once.

No defaults stand in for a setting that must be given (bus name, bucket); defaults exist only
for documented tunables (body cap, cache times)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.core.exceptions import ConfigurationError

# EventBridge takes at most 256 KB per entry; the detail carries the body twice (parsed and raw).
MAX_BODY_BYTES_LIMIT = 100 * 1024


class _Settings(BaseModel):
    # defer_build: each function builds only the settings model it reads (cold start).
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        try:
            return cls.model_validate(dict(os.environ if environ is None else environ))
        except ValidationError as exc:
            raise ConfigurationError(f"{cls.__name__}: {exc}") from exc


class IngestSettings(_Settings):
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    public_key_url: str | None = Field(default=None, alias="WEBHOOK_PUBLIC_KEY_URL")
    public_key_pem: str | None = Field(default=None, alias="WEBHOOK_PUBLIC_KEY_PEM")
    max_body_bytes: int = Field(default=64 * 1024, alias="MAX_BODY_BYTES", ge=1024, le=MAX_BODY_BYTES_LIMIT)
    key_cache_seconds: float = Field(default=3600, alias="PUBLIC_KEY_CACHE_SECONDS", gt=0)
    key_min_refresh_seconds: float = Field(default=60, alias="PUBLIC_KEY_MIN_REFRESH_SECONDS", ge=0)

    @model_validator(mode="after")
    def _one_key_source(self) -> IngestSettings:
        if not (self.public_key_url or self.public_key_pem):
            raise ValueError("set WEBHOOK_PUBLIC_KEY_URL or WEBHOOK_PUBLIC_KEY_PEM")
        return self


class ArchiveSettings(_Settings):
    archive_bucket: str = Field(alias="ARCHIVE_BUCKET", min_length=3)


class SessionSettings(ArchiveSettings):
    sessions_table: str = Field(alias="SESSIONS_TABLE", min_length=3)
    # Where session.archived is published; unset, no such event (the stack always sets it).
    event_bus_name: str | None = Field(default=None, alias="EVENT_BUS_NAME", min_length=1)


class DownloadSettings(_Settings):
    """Where files may be fetched from (see ``shared.archive.url_policy``)."""

    download_host_allowlist: str | None = Field(default=None, alias="DOWNLOAD_HOST_ALLOWLIST")
    # Local mode only: plain http to loopback (the RealtimeKit stand-in).
    local_mode: bool = Field(default=False, alias="DOWNLOAD_ALLOW_LOOPBACK")


class WorkerSettings(SessionSettings, DownloadSettings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings.from_env()


@cache
def archive_settings() -> ArchiveSettings:
    return ArchiveSettings.from_env()


@cache
def session_settings() -> SessionSettings:
    return SessionSettings.from_env()


@cache
def worker_settings() -> WorkerSettings:
    return WorkerSettings.from_env()


def clear_settings_cache() -> None:
    """For tests and local mode, which change the environment between runs."""
    ingest_settings.cache_clear()
    archive_settings.cache_clear()
    session_settings.cache_clear()
    worker_settings.cache_clear()
