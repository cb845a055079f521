"""The live relay (``shared.sources.live_relay``): a Step Functions state machine that chains Lambda
legs over a meeting bot's transcription socket, the relay table, and the rule that starts a relay
on ``relay.requested``.

    Begin -> StartLeg (async invoke) -> WaitForHandoff (leg - overlap) -> Check
          -> done? ---- no ----> StartLeg
                 \\--- yes ---> WaitForLastLeg -> Finalize

A leg runs up to ``RELAY_LEG_SECONDS`` (13 minutes; a Lambda invocation lasts at most 15), and the
next starts ``overlap`` seconds before it ends. The state machine's input is the relay id, the
meeting and the *name* of the secret that holds the socket URL; the URL itself is never in the
input, the history or the template. Grants are made here: the relay function reads and deletes only
secrets under ``meeting-vault/relay/``, and writes the relay table, the archive and the bus.

Failures that would reach no one go to queues the monitoring alarms on: a leg (asynchronous
invoke) that fails every attempt (the function's on-failure destination), and a
``relay.requested`` event the rule cannot deliver (the target's DLQ)."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.grants import RELAY_TABLE_ACTIONS, grant_archive, grant_key_use, grant_table
from infra.lambda_defaults import FunctionSpec, LambdaPackaging, python_function
from infra.nag import acknowledge
from infra.workers import queue_encryption
from shared.fanout.routing import DLQ_RETENTION_DAYS
from shared.sources.live_relay.request import REQUEST_DETAIL_TYPE, REQUEST_SOURCE, SECRET_PREFIX

RELAY_FUNCTION_TIMEOUT_SECONDS = 900  # the Lambda maximum: a leg is 780 s plus its report
RELAY_MEMORY_MB = 256


class LiveRelay(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        archive_bucket: s3.IBucket,
        packaging: LambdaPackaging,
        log_level: str,
        leg_seconds: int,
        overlap_seconds: int,
        max_seconds: int,
        give_up_seconds: int,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Relays",
            partition_key=dynamodb.Attribute(name="relay", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED
            if encryption_key
            else dynamodb.TableEncryption.AWS_MANAGED,
            encryption_key=encryption_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = python_function(
            self,
            "Function",
            spec=FunctionSpec(
                name="relay",
                handler="functions.relay.handler.handler",
                timeout_seconds=RELAY_FUNCTION_TIMEOUT_SECONDS,
                memory_mb=RELAY_MEMORY_MB,
                description="meeting-vault: live relay legs of a meeting bot's transcription socket",
                environment={
                    "RELAY_TABLE": self.table.table_name,
                    "ARCHIVE_BUCKET": archive_bucket.bucket_name,
                    "EVENT_BUS_NAME": bus.event_bus_name,
                    "RELAY_LEG_SECONDS": str(leg_seconds),
                    "RELAY_OVERLAP_SECONDS": str(overlap_seconds),
                    "RELAY_MAX_SECONDS": str(max_seconds),
                    "RELAY_GIVE_UP_SECONDS": str(give_up_seconds),
                },
            ),
            packaging=packaging,
            log_level=log_level,
        )
        # Action by action (infra.grants): the relay store's calls (no Scan: ``meeting-vault relay
        # list`` scans with the operator's credentials), and the archive's put/get.
        grant_table(self.function, self.table, RELAY_TABLE_ACTIONS)
        grant_archive(self.function, archive_bucket, transfers=False)
        grant_key_use(self.function, encryption_key)
        bus.grant_put_events_to(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"],
                resources=[
                    f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{SECRET_PREFIX}*"
                ],
            )
        )
        # A leg is an asynchronous invoke (the chain does not wait for it): one that fails all of
        # Lambda's attempts, or is dropped, lands here with its request and error (an alarm on the
        # queue; the chain itself goes on and the next leg reports the gap).
        self.leg_failures = self._dead_letter_queue(
            "LegFailures", encryption_key, "the relay function's failed asynchronous invocations (legs)"
        )
        self.function.configure_async_invoke(on_failure=destinations.SqsDestination(self.leg_failures))
        # relay.requested events EventBridge could not deliver to the state machine (after 3 retries).
        self.dead_letter_queue = self._dead_letter_queue(
            "RequestedDeadLetters", encryption_key, "relay.requested events the rule could not deliver"
        )
        self.state_machine = self._state_machine()
        self.rule = events.Rule(
            self,
            "Requested",
            event_bus=bus,
            description="meeting-vault: relay.requested starts a live relay",
            event_pattern=events.EventPattern(source=[REQUEST_SOURCE], detail_type=[REQUEST_DETAIL_TYPE]),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "relayId": events.EventField.from_path("$.detail.relayId"),
                            "meetingId": events.EventField.from_path("$.detail.meetingId"),
                            "sessionId": events.EventField.from_path("$.detail.sessionId"),
                            "title": events.EventField.from_path("$.detail.title"),
                            "secretId": events.EventField.from_path("$.detail.secretId"),
                        }
                    ),
                    retry_attempts=3,
                    dead_letter_queue=self.dead_letter_queue,
                )
            ],
        )
        self._acknowledge(archive_bucket, encrypted=encryption_key is not None)

    def _dead_letter_queue(self, construct_id: str, key: kms.IKey | None, what: str) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            construct_id,
            **queue_encryption(key),
            enforce_ssl=True,
            retention_period=Duration.days(DLQ_RETENTION_DAYS),
        )
        acknowledge(
            queue,
            "SQS3",
            f"This queue is itself a dead-letter queue ({what}); it has a depth alarm.",
        )
        return queue

    def _acknowledge(self, archive_bucket: s3.IBucket, *, encrypted: bool) -> None:
        stack = Stack.of(self)
        role = self.function.role
        assert role is not None
        acknowledge(
            role,
            "IAM4",
            "AWSLambdaBasicExecutionRole only allows writing the function's own CloudWatch logs; the "
            "log group is created by the stack with a retention.",
            findings=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            ],
        )
        bucket = stack.resolve(archive_bucket.bucket_arn)["Fn::GetAtt"][0]
        acknowledge(
            role,
            "IAM5",
            "Each relay keeps its socket URL in a secret of its own under meeting-vault/relay/, named by "
            "the relay id (unknown in advance); archive objects are keyed per meeting and session (the "
            "object actions are listed one by one in infra.grants); X-Ray PutTraceSegments takes no "
            "resource.",
            findings=[
                "Resource::*",
                f"Resource::<{bucket}.Arn>/*",
                "Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
                + SECRET_PREFIX
                + "*",
            ],
        )
        if encrypted:
            acknowledge(
                role,
                "IAM5",
                "CDK's send grant on the (customer-key encrypted) leg-failure queue, the function's "
                "on-failure destination, adds these KMS action families on the stack's own key only.",
                findings=["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
            )
        function = stack.resolve(self.function.function_arn)["Fn::GetAtt"][0]
        machine_role = self.state_machine.role
        acknowledge(
            machine_role,
            "IAM5",
            "CDK's LambdaInvoke grants lambda:InvokeFunction on the relay function and its versions "
            "(<arn>:*); X-Ray and CloudWatch Logs delivery actions take no resource.",
            findings=["Resource::*", f"Resource::<{function}.Arn>:*"],
        )

    def _step(self, construct_id: str, action: str, **extra: object) -> tasks.LambdaInvoke:
        payload = {"action": action, "relayId.$": "$.relayId", **extra}
        return tasks.LambdaInvoke(
            self,
            construct_id,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )

    def _state_machine(self) -> sfn.StateMachine:
        begin = tasks.LambdaInvoke(
            self,
            "Begin",
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(
                {
                    "action": "begin",
                    "relayId.$": "$.relayId",
                    "meetingId.$": "$.meetingId",
                    "sessionId.$": "$.sessionId",
                    "title.$": "$.title",
                    "secretId.$": "$.secretId",
                }
            ),
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        start_leg = tasks.LambdaInvoke(
            self,
            "StartLeg",
            lambda_function=self.function,
            invocation_type=tasks.LambdaInvocationType.EVENT,  # the leg runs on while the chain waits
            payload=sfn.TaskInput.from_object({"action": "leg", "relayId.$": "$.relayId", "leg.$": "$.leg"}),
            result_path=sfn.JsonPath.DISCARD,
            retry_on_service_exceptions=True,
        )
        handoff = sfn.Wait(self, "WaitForHandoff", time=sfn.WaitTime.seconds_path("$.waitSeconds"))
        check = self._step("Check", "check", **{"leg.$": "$.leg"})
        drain = sfn.Wait(self, "WaitForLastLeg", time=sfn.WaitTime.seconds_path("$.drainSeconds"))
        finalize = self._step("Finalize", "finalize")
        done = sfn.Choice(self, "Done?")
        definition = (
            begin.next(start_leg)
            .next(handoff)
            .next(check)
            .next(
                done.when(sfn.Condition.boolean_equals("$.done", True), drain.next(finalize)).otherwise(
                    start_leg
                )
            )
        )
        log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return sfn.StateMachine(
            self,
            "Chain",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(25),
            tracing_enabled=True,
            # Every state transition is logged, without inputs and outputs (they hold only ids anyway).
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
