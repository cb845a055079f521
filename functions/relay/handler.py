"""Live relay: the steps of the chain of legs (begin, leg, check, finalize) that the state machine
invokes; a leg relays the bot's transcription socket onto the bus for up to ~13 minutes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.core.observability import logger, metrics
from shared.wiring.live_relay import relay_chain


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return relay_chain().handle(event, time_left=lambda: context.get_remaining_time_in_millis() / 1000)
