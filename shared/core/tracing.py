"""The one Powertools tracer, for the consumer functions (see ``shared.core.observability``)."""

from __future__ import annotations

from aws_lambda_powertools import Tracer

tracer = Tracer()
