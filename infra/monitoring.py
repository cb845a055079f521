"""Alarms on what needs a human: a message in any DLQ, ingest errors, API 5xx answers (which
make RealtimeKit retry). They notify one SNS topic; an e-mail subscription is optional."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.workers import Consumer

ALARM_PERIOD = Duration.minutes(5)


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
                alarm_description="webhook endpoint answered 5xx (signing key or PutEvents failing)",
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
