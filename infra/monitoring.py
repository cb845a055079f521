"""Alarms on what needs a human: a message in any DLQ, ingest and consumer errors, API 5xx answers
(which make RealtimeKit retry), a high rate of 4xx answers (which it never retries), messages
waiting too long. They notify one SNS topic; an e-mail subscription is optional. A dashboard shows
the business counts (Powertools metrics) next to the AWS ones. docs/runbook.md says what to do
about each alarm."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.lambda_defaults import METRICS_NAMESPACE, SERVICE_PREFIX
from infra.workers import Consumer
from shared.fanout.routing import (
    INGEST_TIMEOUT_SECONDS,
    REBUILD_WINDOW_MAX_SECONDS,
    RECONCILE_MAX_DELAY_SECONDS,
    ConsumerRoute,
)

ALARM_PERIOD = Duration.minutes(5)
DASHBOARD_PERIOD = Duration.minutes(5)
CLIENT_ERROR_RATE_PERCENT = 5
# The ``reason`` of every ``IngestRejected`` (shared.core.exceptions, shared.ingest.http): the ingest
# function counts ``WebhookRejected_<reason>``.
REJECTION_REASONS = (
    "bad_signature",
    "body_too_large",
    "not_json",
    "key_unavailable",
    "key_refresh_pending",
    "publish_failed",
    "not_found",
    "bad_encoding",
    "foreign_app",
    "app_check_unavailable",
)
KINDS = ("recordings", "transcripts", "summaries", "chat")  # consumers that archive artifacts
DURATION_ALARM_FRACTION = 0.8  # p99 duration above 80% of the timeout: about to time out
UNAUTHORIZED_PER_PERIOD = 20  # 401/403 answers per 5 minutes: a foreign sender or an attack
UNAUTHORIZED_METRIC = "WebhookUnauthorized"  # from the API access log (infra.monitoring)


@dataclass(frozen=True)
class MonitoredFunction:
    """A function fed by neither a consumer queue nor the webhook route (the meeting-bot endpoint,
    the live relay): errors, throttles and p99 duration alarms like the others."""

    label: str  # alarm id prefix, e.g. "MeetingBotIngest"
    function: lambda_.IFunction
    timeout_seconds: int
    # p99 duration alarm threshold; default DURATION_ALARM_FRACTION of the timeout. A relay leg
    # runs for its planned length by design, so its threshold sits between that and the timeout.
    duration_threshold_seconds: float | None = None

    @property
    def duration_threshold_ms(self) -> float:
        seconds = self.duration_threshold_seconds
        return (DURATION_ALARM_FRACTION * self.timeout_seconds if seconds is None else seconds) * 1000


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        consumers: Iterable[Consumer],
        ingest_function: lambda_.IFunction,
        api: apigateway.RestApi,
        alarm_email: str | None,
        access_logs: logs.ILogGroup | None = None,
        extra_dead_letter_queues: Mapping[str, sqs.IQueue] | None = None,
        functions: Sequence[MonitoredFunction] = (),
        state_machines: Mapping[str, sfn.IStateMachine] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Alarm notifications carry alarm names and metric values only, no meeting data, so the
        # topic uses SNS's own encryption at rest and TLS-only access instead of a customer key.
        self.topic = sns.Topic(self, "Alarms", display_name="meeting-vault alarms", enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        action = cloudwatch_actions.SnsAction(self.topic)

        self.alarms: list[cloudwatch.Alarm] = []
        for consumer in consumers:
            self.alarms.append(
                consumer.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=ALARM_PERIOD, statistic="Maximum"
                ).create_alarm(
                    self,
                    f"{consumer.route.name.capitalize()}DeadLetters",
                    alarm_description=f"{consumer.route.name}: messages in the dead-letter queue; "
                    "fix the cause, then redrive the DLQ to its queue",
                    threshold=0,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        self.alarms.append(
            ingest_function.metric_errors(period=ALARM_PERIOD).create_alarm(
                self,
                "IngestErrors",
                alarm_description="ingest function errors: RealtimeKit gets 5xx and retries",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        self.alarms.append(
            api.metric_server_error(period=ALARM_PERIOD, statistic="Sum").create_alarm(
                self,
                "Api5xx",
                alarm_description="webhook endpoint answered 5xx (signing key or PutEvents failing, or over the "
                "stage throttle)",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        consumers = list(consumers)
        for consumer in consumers:
            label = consumer.route.name.capitalize()
            self.alarms.append(
                consumer.function.metric_errors(period=ALARM_PERIOD, statistic="Sum").create_alarm(
                    self,
                    f"{label}Errors",
                    alarm_description=f"{consumer.route.name} function errors (whole batches retried); "
                    "see its logs, messages end in the DLQ after the route's maxReceiveCount",
                    threshold=0,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
            self.alarms.append(
                consumer.queue.metric_approximate_age_of_oldest_message(
                    period=ALARM_PERIOD, statistic="Maximum"
                ).create_alarm(
                    self,
                    f"{label}OldestMessage",
                    alarm_description=f"{consumer.route.name}: a message waits longer than "
                    f"{oldest_message_threshold_seconds(consumer.route)} s (consumer stuck, throttled "
                    "or failing); RealtimeKit's download URLs expire",
                    threshold=oldest_message_threshold_seconds(consumer.route),
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=2,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        self.alarms.append(
            cloudwatch.MathExpression(
                # 4xx are final for RealtimeKit (never retried): a burst of them is lost data or an
                # attack. Below 20 requests in the period the rate says little: report 0.
                expression="IF(requests >= 20, 100 * client_errors / requests, 0)",
                using_metrics={
                    "client_errors": api.metric_client_error(period=ALARM_PERIOD, statistic="Sum"),
                    "requests": api.metric_count(period=ALARM_PERIOD, statistic="Sum"),
                },
                label="webhook 4xx %",
                period=ALARM_PERIOD,
            ).create_alarm(
                self,
                "Api4xxRate",
                alarm_description=f"more than {CLIENT_ERROR_RATE_PERCENT}% of webhooks answered 4xx "
                "(bad signatures, oversize or non-JSON bodies); RealtimeKit does not retry them",
                threshold=CLIENT_ERROR_RATE_PERCENT,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        self._more_alarms(consumers, ingest_function, access_logs, extra_dead_letter_queues or {})
        self._other_function_alarms(functions)
        self._state_machine_alarms(state_machines or {})
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)  # the all-clear reaches the same people
        self.dashboard = self._dashboard(consumers, ingest_function, api)

    def _alarm(
        self, construct_id: str, metric: cloudwatch.Metric, description: str, threshold: float
    ) -> None:
        self.alarms.append(
            metric.create_alarm(
                self,
                construct_id,
                alarm_description=description,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _more_alarms(
        self,
        consumers: list[Consumer],
        ingest_function: lambda_.IFunction,
        access_logs: logs.ILogGroup | None,
        extra_dead_letter_queues: Mapping[str, sqs.IQueue],
    ) -> None:
        """Per-record failures (partial batch failures are no Lambda Errors), throttles, durations
        near the timeout, 401/403 bursts, and the extra DLQs."""
        for consumer in consumers:
            name, label = consumer.route.name, consumer.route.name.capitalize()
            service = f"{SERVICE_PREFIX}-{name}"
            if name in KINDS:
                self._alarm(
                    f"{label}ArtifactFailed",
                    business_metric("ArtifactFailed", service),
                    f"{name}: an artifact could not be archived (gone from RealtimeKit, refused URL, "
                    "integrity); `meeting-vault status` lists it",
                    0,
                )
            if consumer.route.reports_retries_exhausted:  # an alarm on a metric never emitted never fires
                self._alarm(
                    f"{label}RetriesExhausted",
                    business_metric("RecordRetriesExhausted", service),
                    f"{name}: a record failed its last attempt and goes to the DLQ (docs/retries.md)",
                    0,
                )
        functions = [MonitoredFunction("Ingest", ingest_function, INGEST_TIMEOUT_SECONDS)] + [
            MonitoredFunction(c.route.name.capitalize(), c.function, c.route.timeout_seconds)
            for c in consumers
        ]
        for watched in functions:
            self._throttle_and_duration_alarms(watched)
        for label, queue in extra_dead_letter_queues.items():
            self._alarm(
                f"{label}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD, statistic="Maximum"),
                f"{label}: messages in the dead-letter queue; see docs/runbook.md",
                0,
            )
        if access_logs is not None:
            logs.MetricFilter(
                self,
                "UnauthorizedFilter",
                log_group=access_logs,
                metric_namespace=METRICS_NAMESPACE,
                metric_name=UNAUTHORIZED_METRIC,
                filter_pattern=logs.FilterPattern.any(
                    logs.FilterPattern.string_value("$.status", "=", "401"),
                    logs.FilterPattern.string_value("$.status", "=", "403"),
                ),
                metric_value="1",
                default_value=0,
            )
            self._alarm(
                "ApiUnauthorized",
                cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name=UNAUTHORIZED_METRIC,
                    statistic="Sum",
                    period=ALARM_PERIOD,
                ),
                f"more than {UNAUTHORIZED_PER_PERIOD} webhooks answered 401/403 in 5 minutes: a foreign "
                "app sending to the URL, a rotated signing key, or an attack",
                UNAUTHORIZED_PER_PERIOD,
            )

    def _throttle_and_duration_alarms(self, watched: MonitoredFunction) -> None:
        label, function = watched.label, watched.function
        self._alarm(
            f"{label}Throttles",
            function.metric_throttles(period=ALARM_PERIOD, statistic="Sum"),
            f"{label}: invocations throttled (reserved or maximum concurrency, or the account limit)",
            0,
        )
        self._alarm(
            f"{label}DurationNearTimeout",
            function.metric_duration(period=ALARM_PERIOD, statistic="p99"),
            f"{label}: p99 duration above {watched.duration_threshold_ms / 1000:g} s "
            f"(its timeout is {watched.timeout_seconds} s)",
            watched.duration_threshold_ms,
        )

    def _other_function_alarms(self, functions: Sequence[MonitoredFunction]) -> None:
        for watched in functions:
            self._alarm(
                f"{watched.label}Errors",
                watched.function.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
                f"{watched.label} function errors; see its logs (docs/runbook.md)",
                0,
            )
            self._throttle_and_duration_alarms(watched)

    def _state_machine_alarms(self, state_machines: Mapping[str, sfn.IStateMachine]) -> None:
        for label, machine in state_machines.items():
            self._alarm(
                f"{label}ExecutionsFailed",
                machine.metric_failed(period=ALARM_PERIOD, statistic="Sum"),
                f"{label}: an execution failed (a step raised after its retries); see its history",
                0,
            )
            self._alarm(
                f"{label}ExecutionsTimedOut",
                machine.metric_timed_out(period=ALARM_PERIOD, statistic="Sum"),
                f"{label}: an execution ran into the state machine's timeout",
                0,
            )

    def _dashboard(
        self, consumers: list[Consumer], ingest_function: lambda_.IFunction, api: apigateway.RestApi
    ) -> cloudwatch.Dashboard:
        def business(name: str, service: str, statistic: str = "Sum") -> cloudwatch.Metric:
            # Powertools metrics: namespace MeetingVault, dimension ``service`` = the function's
            # POWERTOOLS_SERVICE_NAME, so the service says which artifact kind a count is about.
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": f"{SERVICE_PREFIX}-{service}"},
                statistic=statistic,
                period=DASHBOARD_PERIOD,
                label=f"{name} ({service})",
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Webhooks accepted / rejected (by reason)",
                left=[
                    business("WebhookAccepted", "ingest"),
                    business("WebhookAcceptedUnparsed", "ingest"),
                    *(business(f"WebhookRejected_{reason}", "ingest") for reason in REJECTION_REASONS),
                ],
                # Tenancy, key outages and claim checks (docs/ingest.md).
                right=[
                    business("WebhookAppIdDiffersConfirmed", "ingest"),
                    business("WebhookWithoutAppId", "ingest"),
                    business("WebhookKeyStale", "ingest"),
                    business("WebhookClaimChecked", "ingest"),
                    *(business("DeliveryForeign", c.route.name) for c in consumers if c.route.name in KINDS),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Webhook endpoint (API Gateway)",
                left=[
                    api.metric_count(period=DASHBOARD_PERIOD, statistic="Sum"),
                    api.metric_client_error(period=DASHBOARD_PERIOD, statistic="Sum"),
                    api.metric_server_error(period=DASHBOARD_PERIOD, statistic="Sum"),
                ],
                right=[api.metric_latency(period=DASHBOARD_PERIOD, statistic="p99")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Artifacts archived (by kind)",
                left=[business("ArtifactArchived", c.route.name) for c in consumers if c.route.name in KINDS],
                right=[business("EventArchived", "sessions")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Artifacts failed (by kind)",
                left=[business("ArtifactFailed", c.route.name) for c in consumers if c.route.name in KINDS],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Bytes archived and reconciliation",
                left=[business("BytesArchived", c.route.name) for c in consumers if c.route.name in KINDS],
                right=[
                    business(f"ReconcileEnqueued_{kind}", "reconcile")
                    for kind in ("recording", "transcript", "summary", "chat")
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queue depth (visible) and DLQ depth",
                left=[
                    c.queue.metric_approximate_number_of_messages_visible(period=DASHBOARD_PERIOD)
                    for c in consumers
                ],
                right=[
                    c.dead_letter_queue.metric_approximate_number_of_messages_visible(period=DASHBOARD_PERIOD)
                    for c in consumers
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Age of oldest message (s)",
                left=[
                    c.queue.metric_approximate_age_of_oldest_message(period=DASHBOARD_PERIOD)
                    for c in consumers
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[
                    ingest_function.metric_errors(period=DASHBOARD_PERIOD, statistic="Sum"),
                    *(c.function.metric_errors(period=DASHBOARD_PERIOD, statistic="Sum") for c in consumers),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p99 (ms)",
                left=[
                    ingest_function.metric_duration(period=DASHBOARD_PERIOD, statistic="p99"),
                    *(
                        c.function.metric_duration(period=DASHBOARD_PERIOD, statistic="p99")
                        for c in consumers
                    ),
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )
        return dashboard


def business_metric(name: str, service: str, period: Duration = ALARM_PERIOD) -> cloudwatch.Metric:
    """A Powertools metric of one function (dimension ``service``)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=period,
    )


def oldest_message_threshold_seconds(route: ConsumerRoute) -> int:
    """Two visibility timeouts (a first attempt and a retry) plus the reconcile queue's delay,
    and never under 15 minutes."""
    delay = {"reconcile": RECONCILE_MAX_DELAY_SECONDS, "rebuilds": REBUILD_WINDOW_MAX_SECONDS}.get(
        route.name, 0
    )
    return max(15 * 60, 2 * route.visibility_timeout_seconds) + delay
