"""The adapters a running function uses, each built once per execution environment.

Handlers get their collaborators here instead of building clients at import time, so the
ingest path imports only what it uses and tests or local mode can ``reset()`` everything
after changing the environment (endpoint, bucket, key)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from shared import config

if TYPE_CHECKING:
    from shared.adapters.s3 import ArchiveStore
    from shared.ingest import WebhookIngestor
    from shared.session_recorder import SessionRecorder


@cache
def ingestor() -> WebhookIngestor:
    from shared.ingest import ingestor_from_settings

    return ingestor_from_settings(config.ingest_settings())


@cache
def archive_store() -> ArchiveStore:
    from shared.adapters.s3 import ArchiveStore

    return ArchiveStore(config.archive_settings().archive_bucket)


@cache
def session_recorder() -> SessionRecorder:
    from shared.adapters.session_store import SessionStore
    from shared.session_recorder import SessionRecorder

    return SessionRecorder(SessionStore(config.session_settings().sessions_table), archive_store())


_CACHED = [ingestor, archive_store, session_recorder]


def register(builder: object) -> None:
    """Let later adapters join ``reset()`` (each is a ``functools.cache``'d builder)."""
    _CACHED.append(builder)  # type: ignore[arg-type]


def reset() -> None:
    config.clear_settings_cache()
    for builder in _CACHED:
        builder.cache_clear()
