"""POST /webhooks/realtimekit: verify, parse, PutEvents, answer 202 (or the contract's error)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import wiring
from shared.core.exceptions import IngestRejected
from shared.core.observability import logger, metrics
from shared.ingest.http import accepted_response, rejected_response, request_from_proxy_event


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        detail = wiring.ingestor().accept(request_from_proxy_event(event))
    except IngestRejected as error:
        logger.warning(
            "webhook rejected",
            extra={"reason": error.reason, "status": error.status_code, "error": str(error)},
        )
        metrics.add_metric(name=f"WebhookRejected_{error.reason}", unit=MetricUnit.Count, value=1)
        return rejected_response(error)
    logger.info(
        "webhook accepted",
        extra={
            "event": detail.event,
            "meeting_id": detail.meeting_id,
            "session_id": detail.session_id,
            "delivery_id": detail.delivery.delivery_id,
            "valid": detail.valid,
            "parse_error": detail.parse_error,
        },
    )
    metrics.add_metric(name="WebhookAccepted", unit=MetricUnit.Count, value=1)
    if not detail.valid:
        metrics.add_metric(name="WebhookAcceptedUnparsed", unit=MetricUnit.Count, value=1)
    return accepted_response(detail)
