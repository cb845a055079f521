"""The reconciliation sweep (``shared.reconcile.sweep``): a rule on ``meeting.ended`` feeds a queue whose
delivery delay gives the webhooks time to arrive; the function then asks RealtimeKit's REST API
what the session should have and puts what the archive lacks on the bus. A schedule invokes the
same function as a backstop that sweeps every session RealtimeKit lists as ended within its 7-day
retention (also the sessions whose every webhook was lost). Grants are made by the stack."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.lambda_defaults import LambdaPackaging
from infra.nag import acknowledge
from infra.workers import Consumer, ConsumerWorker, queue_encryption
from shared.fanout.routing import DLQ_RETENTION_DAYS, RECONCILE

SCHEDULE_RETRY_ATTEMPTS = 2


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
        max_concurrency: int | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # The same rule -> queue (+ DLQ) -> function as every consumer, with a delivery delay.
        self.worker = ConsumerWorker(
            self,
            "Worker",
            route=RECONCILE,
            bus=bus,
            packaging=packaging,
            environment=environment,
            log_level=log_level,
            delivery_delay_seconds=delay_seconds,
            max_concurrency=max_concurrency,
            encryption_key=encryption_key,
        )
        self.queue = self.worker.queue
        self.dead_letter_queue = self.worker.dead_letter_queue
        self.rule = self.worker.rule
        self.function = self.worker.function
        self.schedule: events.Rule | None = None
        # A scheduled run EventBridge could not deliver (the function throttled or failing to start
        # after the target's retries) lands here; `meeting-vault status` counts it as
        # "reconcile-schedule", and `redrive reconcile-schedule` re-runs the sweep for each.
        self.schedule_dead_letter_queue: sqs.Queue | None = None
        if schedule_minutes > 0:
            self.schedule_dead_letter_queue = sqs.Queue(
                self,
                "ScheduleDeadLetters",
                **queue_encryption(encryption_key),
                enforce_ssl=True,
                retention_period=Duration.days(DLQ_RETENTION_DAYS),
            )
            acknowledge(
                self.schedule_dead_letter_queue,
                "SQS3",
                "This queue is the dead-letter queue of the reconcile schedule's target; it has a "
                "depth alarm.",
            )
            # On the default bus: scheduled rules cannot live on a custom bus.
            self.schedule = events.Rule(
                self,
                "Schedule",
                description="meeting-vault: backstop sweep of sessions ended within RealtimeKit's retention",
                schedule=events.Schedule.rate(Duration.minutes(schedule_minutes)),
                targets=[
                    targets.LambdaFunction(
                        self.function,
                        retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                        dead_letter_queue=self.schedule_dead_letter_queue,
                    )
                ],
            )

    @property
    def consumer(self) -> Consumer:
        return self.worker.consumer
