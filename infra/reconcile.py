"""The reconciliation sweep (``shared.reconcile``): a rule on ``meeting.ended`` feeds a queue whose
delivery delay gives the webhooks time to arrive; the function then asks RealtimeKit's REST API
what the session should have and puts what the archive lacks on the bus. A schedule invokes the
same function as a backstop that sweeps every session RealtimeKit lists as ended within its 7-day
retention (also the sessions whose every webhook was lost). Grants are made by the stack."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.lambda_defaults import FunctionSpec, LambdaPackaging, python_function
from infra.nag import acknowledge
from infra.workers import Consumer, event_pattern_of
from shared.routing import DLQ_RETENTION_DAYS, RECONCILE


class ReconcileSweep(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        packaging: LambdaPackaging,
        environment: Mapping[str, str],
        delay_seconds: int,
        schedule_minutes: int,
        log_level: str,
    ) -> None:
        super().__init__(scope, construct_id)
        route = RECONCILE
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(DLQ_RETENTION_DAYS),
        )
        acknowledge(
            self.dead_letter_queue,
            "SQS3",
            "This queue is the dead-letter queue of the reconcile queue; it has a depth alarm and is "
            "redriven by hand after a fix.",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            delivery_delay=Duration.seconds(delay_seconds),
            visibility_timeout=Duration.seconds(route.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=route.max_receive_count
            ),
        )
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=bus,
            description=route.description[:512],
            event_pattern=event_pattern_of(route.event_pattern),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letter_queue)],
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
                self.queue, batch_size=route.batch_size, report_batch_item_failures=True
            )
        )
        self.schedule: events.Rule | None = None
        if schedule_minutes > 0:
            # On the default bus: scheduled rules cannot live on a custom bus.
            self.schedule = events.Rule(
                self,
                "Schedule",
                description="meeting-vault: backstop sweep of sessions ended within RealtimeKit's retention",
                schedule=events.Schedule.rate(Duration.minutes(schedule_minutes)),
                targets=[targets.LambdaFunction(self.function, retry_attempts=2)],
            )

    @property
    def consumer(self) -> Consumer:
        return Consumer(RECONCILE, self.queue, self.dead_letter_queue, self.rule, self.function)
