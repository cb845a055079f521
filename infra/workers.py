"""One consumer per route of ``shared.fanout.routing.ROUTES``: rule on the bus -> queue (+ DLQ) -> function.

The rule's event pattern is the route's pattern, unchanged, so the cloud routes exactly like
local mode. Grants are not made here: the stack wires them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.lambda_defaults import FunctionSpec, LambdaPackaging, python_function
from infra.nag import acknowledge
from shared.fanout.routing import DLQ_RETENTION_DAYS, QUEUE_RETENTION_DAYS, ConsumerRoute

# EventBridge pattern fields that ``events.EventPattern`` spells in snake case.
_PATTERN_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def event_pattern_of(pattern: Mapping[str, Any]) -> events.EventPattern:
    """The L2 pattern that renders exactly ``pattern`` (tests compare the rendered JSON)."""
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"event pattern fields not supported: {sorted(unknown)}")
    return events.EventPattern(
        **{_PATTERN_FIELDS[key]: _with_null_matchers(value) for key, value in pattern.items()}
    )


def _with_null_matchers(value: Any) -> Any:
    """``[None]`` (match a null value) as CDK's ``Match.null_value()``: CDK drops a bare None."""
    if value == [None]:
        return events.Match.null_value()
    if isinstance(value, Mapping):
        return {key: _with_null_matchers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_null_matchers(item) for item in value]
    return value


def queue_encryption(key: kms.IKey | None) -> dict[str, Any]:
    """SSE-SQS by default (EventBridge can send to it without a key policy); the customer key in
    archiveEncryption=kms mode (``infra.encryption`` lets EventBridge use it)."""
    if key is None:
        return {"encryption": sqs.QueueEncryption.SQS_MANAGED}
    return {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": key}


@dataclass(frozen=True)
class Consumer:
    route: ConsumerRoute
    queue: sqs.Queue
    dead_letter_queue: sqs.Queue
    rule: events.Rule | None  # None: fed by our own code, not by a bus rule (the rebuild queue)
    function: lambda_.Function


class ConsumerWorker(Construct):
    """Rule, queue, DLQ and function of one route."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        route: ConsumerRoute,
        bus: events.IEventBus,
        packaging: LambdaPackaging,
        environment: Mapping[str, str],
        log_level: str,
        delivery_delay_seconds: int = 0,  # hold each event back this long (SQS max 900 s)
        max_concurrency: int | None = None,  # of the SQS event source; the route's default
        encryption_key: kms.IKey | None = None,  # archiveEncryption=kms: the customer key
    ) -> None:
        super().__init__(scope, construct_id)
        self.route = route
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            **queue_encryption(encryption_key),
            enforce_ssl=True,
            retention_period=Duration.days(DLQ_RETENTION_DAYS),
        )
        acknowledge(
            self.dead_letter_queue,
            "SQS3",
            "This queue is the dead-letter queue of the route's queue; it has a depth alarm and is "
            "redriven by hand after a fix.",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            **queue_encryption(encryption_key),
            enforce_ssl=True,
            retention_period=Duration.days(QUEUE_RETENTION_DAYS),
            delivery_delay=Duration.seconds(delivery_delay_seconds) if delivery_delay_seconds else None,
            visibility_timeout=Duration.seconds(route.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=route.max_receive_count
            ),
        )
        self.rule = (
            None
            if not route.event_pattern
            else events.Rule(
                self,
                "Rule",
                event_bus=bus,
                description=route.description[:512],
                event_pattern=event_pattern_of(route.event_pattern),
                # An event EventBridge could not deliver goes to the same DLQ as one that failed
                # processing: both are bus events, so a redrive to the queue handles either.
                targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letter_queue)],
            )
        )
        self.function = python_function(
            self,
            "Function",
            spec=FunctionSpec(
                name=route.name,
                handler=route.lambda_handler,
                timeout_seconds=route.timeout_seconds,
                memory_mb=route.memory_mb,
                description=f"meeting-vault {route.name}: {route.description}",
                environment=environment,
            ),
            packaging=packaging,
            log_level=log_level,
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=route.batch_size,
                report_batch_item_failures=True,  # one bad record does not retry the whole batch
                max_concurrency=max_concurrency or route.max_concurrency,
            )
        )

    @property
    def consumer(self) -> Consumer:
        return Consumer(self.route, self.queue, self.dead_letter_queue, self.rule, self.function)


class Workers(Construct):
    """All consumers; ``consumers`` maps route name -> its resources."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: tuple[ConsumerRoute, ...],
        bus: events.IEventBus,
        packaging: LambdaPackaging,
        environment_of: Mapping[str, Mapping[str, str]],
        log_level: str,
        max_concurrency_of: Mapping[str, int] | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.consumers: dict[str, Consumer] = {}
        for route in routes:
            worker = ConsumerWorker(
                self,
                route.name.capitalize(),
                route=route,
                bus=bus,
                packaging=packaging,
                environment=environment_of[route.name],
                log_level=log_level,
                max_concurrency=(max_concurrency_of or {}).get(route.name),
                encryption_key=encryption_key,
            )
            self.consumers[route.name] = worker.consumer
