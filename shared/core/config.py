"""Runtime settings, one model per function, read from environment variables once.

No defaults stand in for a setting that must be given (bus name, bucket); defaults exist only
for documented tunables (body cap, cache times)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core.exceptions import ConfigurationError

# The ingest function reads its own settings without pydantic (``shared.ingest.settings``).
from shared.ingest.settings import MAX_BODY_BYTES_LIMIT as MAX_BODY_BYTES_LIMIT


class _Settings(BaseModel):
    # defer_build: each function builds only the settings model it reads (cold start).
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        try:
            return cls.model_validate(dict(os.environ if environ is None else environ))
        except ValidationError as exc:
            raise ConfigurationError(f"{cls.__name__}: {exc}") from exc


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
    archive_settings.cache_clear()
    session_settings.cache_clear()
    worker_settings.cache_clear()
