"""Logs and business metrics of an artifact consumer's outcome, the same for every kind."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.core.observability import logger, metrics
from shared.ingest.envelope import WebhookDetail
from shared.session.model import ArtifactRecord, ArtifactState


def log_keys(detail: WebhookDetail, **extra: Any) -> dict[str, Any]:
    """The keys every log line of a delivery carries."""
    return {
        "meeting_id": detail.meeting_id,
        "session_id": detail.session_id,
        "delivery_id": detail.delivery.delivery_id,
        "event": detail.event,
        **extra,
    }


def report_gone(keys: dict[str, Any], error: Exception) -> None:
    logger.error("artifact is gone from RealtimeKit", extra={**keys, "error": str(error)})
    metrics.add_metric(name="ArtifactFailed", unit=MetricUnit.Count, value=1)


def report(artifact: ArtifactRecord, keys: dict[str, Any]) -> None:
    if artifact.state is ArtifactState.ARCHIVED:
        logger.info(
            "artifact archived",
            extra={**keys, "artifact": artifact.name, "key": artifact.key, "bytes": artifact.bytes},
        )
        metrics.add_metric(name="ArtifactArchived", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="BytesArchived", unit=MetricUnit.Bytes, value=artifact.bytes or 0)
    else:
        logger.error(
            "artifact failed",
            extra={**keys, "artifact": artifact.name, "reason": artifact.reason, "error": artifact.message},
        )
        metrics.add_metric(name="ArtifactFailed", unit=MetricUnit.Count, value=1)
