"""The one logger and metrics of every function (Powertools). The service name comes from
POWERTOOLS_SERVICE_NAME, set by the stack per function; every metric lands in one namespace.

The tracer lives in ``shared.core.tracing``: the X-Ray SDK costs over 100 ms of import, so the webhook
ingest function (whose cold start the sender waits on) relies on Lambda's active tracing alone."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

METRICS_NAMESPACE = "MeetingVault"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
