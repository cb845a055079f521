"""Wiring: the adapters a running function uses, each built once per execution environment, and
the consumers' record handlers composed from them. Nothing in the domain imports this package back.

Handlers get their collaborators here instead of building clients at import time, so the
ingest path imports only what it uses and tests or local mode can ``reset()`` everything
after changing the environment (endpoint, bucket, key)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.adapters.realtimekit import RealtimeKitClient
    from shared.adapters.s3 import ArchiveStore
    from shared.archive.fetch import ArtifactFetcher
    from shared.archive.ownership import SessionOwnership
    from shared.archive.recordings import RecordingArchiver
    from shared.archive.session_artifacts import SessionArtifactArchiver
    from shared.core.idempotency import Once
    from shared.fanout.records import WebhookQueueRecord
    from shared.ingest.ack import WebhookIngestor
    from shared.ingest.envelope import WebhookDetail
    from shared.ingest.events import ChatSynced, MeetingSummary, MeetingTranscript
    from shared.session.model import ArtifactRecord
    from shared.session.recorder import SessionRecorder


# Settings are imported inside each builder: ``shared.core.config`` is pydantic, which the ingest
# function does without (its settings are ``shared.ingest.settings``).
@cache
def ingestor() -> WebhookIngestor:
    from shared.ingest.ack import ingestor_from_settings
    from shared.ingest.settings import IngestSettings
    from shared.ingest.telemetry import telemetry

    return ingestor_from_settings(IngestSettings.from_env(), notes=telemetry)


@cache
def archive_store() -> ArchiveStore:
    from shared.adapters.s3 import ArchiveStore
    from shared.core import config

    return ArchiveStore(config.archive_settings().archive_bucket)


@cache
def session_recorder() -> SessionRecorder:
    from shared.core import config
    from shared.session.announce import SessionAnnouncer
    from shared.session.rebuild import RebuildSettings, SqsRebuildQueue
    from shared.session.recorder import SessionRecorder
    from shared.session.store import SessionStore

    settings = config.session_settings()
    store = SessionStore(settings.sessions_table)
    announcer = SessionAnnouncer(store, settings.event_bus_name) if settings.event_bus_name else None
    rebuild = RebuildSettings.from_env()
    return SessionRecorder(
        store,
        archive_store(),
        announcer,
        requests=SqsRebuildQueue(rebuild.rebuild_queue_url) if rebuild.rebuild_queue_url else None,
        window_seconds=rebuild.window_seconds,
        stale_after_seconds=rebuild.stale_after_seconds,
    )


@cache
def s3_client() -> Any:
    import boto3

    return boto3.client("s3")


@cache
def secrets_client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


@cache
def artifact_fetcher() -> ArtifactFetcher:
    from shared.archive.fetch import ArtifactFetcher
    from shared.archive.url_policy import UrlPolicy
    from shared.core import config

    settings = config.worker_settings()
    environ = {"DOWNLOAD_HOST_ALLOWLIST": settings.download_host_allowlist or ""}
    return ArtifactFetcher(
        s3_client=s3_client(), policy=UrlPolicy.from_env(environ, local=settings.local_mode)
    )


def realtimekit() -> RealtimeKitClient:
    """Built on first use only: most deliveries carry a valid URL and never need the REST API."""
    from shared.adapters.realtimekit import realtimekit_client_from_env

    return realtimekit_client_from_env()


@cache
def recording_archiver() -> RecordingArchiver:
    from shared.archive.recordings import RecordingArchiver
    from shared.core import config

    return RecordingArchiver(
        bucket=config.worker_settings().archive_bucket,
        s3_client=s3_client(),
        fetcher=artifact_fetcher(),
        rest=realtimekit,
    )


@cache
def archive_recording_once() -> Once:
    from shared.core import config
    from shared.core.idempotency import RECORDING_WORK, Once

    archiver = recording_archiver()
    return Once(
        lambda job: {"records": [r.model_dump(mode="json") for r in archiver.archive(job)]},
        name=RECORDING_WORK,
        key="recording_id",
        table=config.worker_settings().idempotency_table,
    )


@cache
def session_artifact_archiver() -> SessionArtifactArchiver:
    from shared.archive.session_artifacts import SessionArtifactArchiver

    return SessionArtifactArchiver(fetcher=artifact_fetcher(), archive=archive_store(), rest=realtimekit)


@cache
def archive_session_artifact_once() -> Once:
    """Transcript, chat and summary: once per (kind, session)."""
    from shared.core import config
    from shared.core.idempotency import SESSION_ARTIFACT_WORK, Once

    archiver = session_artifact_archiver()
    return Once(
        lambda job: {"record": archiver.archive(job).model_dump(mode="json")},
        name=SESSION_ARTIFACT_WORK,
        key="[kind, session_id]",
        table=config.worker_settings().idempotency_table,
    )


@cache
def sqs_client() -> Any:
    import boto3

    return boto3.client("sqs")


def retry_failed(event: dict[str, Any], response: dict[str, Any], route_name: str) -> dict[str, Any]:
    """A consumer's batch response, after scheduling its failed records' next attempts."""
    from shared.fanout.retry import defer_failed_records
    from shared.fanout.routing import RECONCILE, ROUTES_BY_NAME

    route = RECONCILE if route_name == RECONCILE.name else ROUTES_BY_NAME[route_name]
    if response.get("batchItemFailures"):
        defer_failed_records(event, response, sqs_client=sqs_client(), delays=route.retry_delays_seconds)
    return response


@cache
def session_ownership() -> SessionOwnership:
    from shared.archive.ownership import SessionOwnership

    return SessionOwnership(realtimekit)


_CACHED = [
    sqs_client,
    ingestor,
    session_ownership,
    archive_store,
    session_recorder,
    s3_client,
    secrets_client,
    artifact_fetcher,
    recording_archiver,
    archive_recording_once,
    session_artifact_archiver,
    archive_session_artifact_once,
]


def register(builder: object) -> None:
    """Let later adapters join ``reset()`` (each is a ``functools.cache``'d builder)."""
    _CACHED.append(builder)  # type: ignore[arg-type]


def reset() -> None:
    from shared.core import config

    config.clear_settings_cache()
    from shared.adapters.realtimekit import clear_realtimekit_cache

    clear_realtimekit_cache()
    for builder in _CACHED:
        builder.cache_clear()


def erased(detail: WebhookDetail) -> bool:
    """The session was erased (``meeting-vault forget``): its files are not downloaded again."""
    if not (detail.meeting_id and detail.session_id):
        return False
    if not session_recorder().is_erased(detail.meeting_id, detail.session_id):
        return False
    from shared.core.observability import logger

    logger.info(
        "session erased: nothing archived",
        extra={"meeting_id": detail.meeting_id, "session_id": detail.session_id, "event": detail.event},
    )
    return True


def detail_of(record: WebhookQueueRecord) -> WebhookDetail:
    """A queue record's bus detail. For a claim check (a body too large for the bus, see
    ``shared.ingest.ack``) the body is read back from the archive bucket and checked against the
    SHA-256 ingest verified."""
    detail = record.body.detail
    if detail.body_ref is None:
        return detail
    from shared.ingest.envelope import with_body

    return with_body(detail, archive_store().get_bytes(detail.body_ref))


def foreign(detail: WebhookDetail, *, consumer: str) -> bool:
    """A body without an app id whose session RealtimeKit does not know under our app: noted beside
    its raw body, logged, counted; the caller downloads and requests nothing."""
    from shared.archive.ownership import is_foreign, record_foreign

    if not is_foreign(detail, session_ownership()):
        return False
    from aws_lambda_powertools.metrics import MetricUnit

    from shared.core.observability import logger, metrics

    note = record_foreign(detail, archive_store(), consumer=consumer) if detail.session_id else None
    logger.warning(
        "delivery is not this app's: nothing downloaded",
        extra={
            "verdict": "foreign",
            "meeting_id": detail.meeting_id,
            "session_id": detail.session_id,
            "event": detail.event,
            "note": note.key if note else None,
        },
    )
    metrics.add_metric(name="DeliveryForeign", unit=MetricUnit.Count, value=1)
    return True


def archive_recording(detail: WebhookDetail) -> list[ArtifactRecord]:
    """The recordings consumer's record handler, wired. A legacy update without a meeting id is
    first placed in its session through the REST API (``shared.session.attribution``)."""
    from shared.archive.recordings import archive_and_report
    from shared.session.attribution import awaits_attribution, take_in_legacy_update, uploaded
    from shared.session.intake import take_in_event

    if awaits_attribution(detail):
        resolved = take_in_legacy_update(
            detail,
            client=realtimekit(),
            take_in=lambda d: take_in_event(
                d, store=archive_store(), recorder=session_recorder(), defer_legacy=False
            ),
        )
        if resolved is None or not uploaded(resolved):
            return []
        detail = resolved

    if erased(detail) or foreign(detail, consumer="recordings"):
        return []

    return archive_and_report(
        detail,
        once=archive_recording_once(),
        archiver=recording_archiver(),
        record=session_recorder().record_artifact,
    )


def archive_session_artifact(
    detail: WebhookDetail, *, expected: type[MeetingTranscript | ChatSynced | MeetingSummary]
) -> ArtifactRecord | None:
    """The transcript, chat and summary consumers' record handler, wired (None: session erased)."""
    from shared.archive.session_artifacts import archive_and_report

    if erased(detail):
        return None
    if foreign(detail, consumer=expected.__name__):
        from shared.session.model import ArtifactRecord, ArtifactState

        # Not recorded anywhere but the note beside the raw body.
        return ArtifactRecord(
            name="foreign", kind=expected.__name__, state=ArtifactState.FAILED, reason="foreign"
        )

    return archive_and_report(
        detail,
        expected=expected,
        once=archive_session_artifact_once(),
        archiver=session_artifact_archiver(),
        record=session_recorder().record_artifact,
    )
