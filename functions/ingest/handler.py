"""POST /webhooks/realtimekit: verify, parse, bind to our app, PutEvents, answer 202 (or the
contract's error).

Logs and metrics go through ``shared.ingest.telemetry`` (Powertools' format, without its import
cost) and the detail is built without pydantic: the sender waits on this function's cold start."""

from __future__ import annotations

from typing import Any

from shared import wiring
from shared.core.exceptions import IngestRejected
from shared.ingest.http import accepted_response, rejected_response, request_from_proxy_event
from shared.ingest.telemetry import telemetry


@telemetry.handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        detail = wiring.ingestor().accept(request_from_proxy_event(event))
    except IngestRejected as error:
        telemetry.warning("webhook rejected", reason=error.reason, status=error.status_code, error=str(error))
        telemetry.count(f"WebhookRejected_{error.reason}")
        return rejected_response(error)
    document = detail.document
    telemetry.info(
        "webhook accepted",
        event=detail.event,
        meeting_id=detail.meeting_id,
        session_id=detail.session_id,
        delivery_id=detail.delivery_id,
        valid=detail.valid,
        parse_error=detail.parse_error,
        app_id=document.get("appId"),
        tenancy=document.get("tenancy"),
        claim_check=document.get("bodyRef"),
    )
    telemetry.count("WebhookAccepted")
    if not detail.valid:
        telemetry.count("WebhookAcceptedUnparsed")
    if document.get("bodyRef"):
        telemetry.count("WebhookClaimChecked")
    if document.get("tenancy") == "unverified":
        telemetry.count("WebhookWithoutAppId")
    return accepted_response(detail)
