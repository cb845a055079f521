"""POST /webhooks/meeting-bot: authenticate (signature or token), one durable write, 202.

Logs name the event, ids and outcome; never the query string (it may hold the token)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.core.exceptions import IngestRejected
from shared.core.observability import logger, metrics
from shared.fanout.routing import BOT_WEBHOOK_PATH
from shared.ingest.http import proxy_response, rejected_response, request_from_proxy_event
from shared.wiring.meeting_bot_ingest import bot_ingestor


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = request_from_proxy_event(event, path=BOT_WEBHOOK_PATH)
        ack = bot_ingestor().accept(request, event.get("queryStringParameters"))
    except IngestRejected as error:
        logger.warning(
            "bot webhook rejected",
            extra={"reason": error.reason, "status": error.status_code, "error": str(error)},
        )
        metrics.add_metric(name=f"BotWebhookRejected_{error.reason}", unit=MetricUnit.Count, value=1)
        return rejected_response(error)
    logger.debug(
        "bot webhook accepted",
        extra={
            "event": ack.event,
            "outcome": ack.outcome,
            "auth": ack.auth,
            "meeting_id": ack.meeting_id,
            "session_id": ack.session_id,
        },
    )
    metrics.add_metric(name=f"BotWebhookAccepted_{ack.outcome}", unit=MetricUnit.Count, value=1)
    return proxy_response(202, {"accepted": True, "bodySha256": ack.body_sha256, "outcome": ack.outcome})
