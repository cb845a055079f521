"""API Gateway's account-wide CloudWatch logging role, set only where none is set.

API Gateway refuses a stage with access or execution logging while the account's
``cloudwatchRoleArn`` (one per account and region) is empty. ``AWS::ApiGateway::Account`` would
overwrite another stack's setting (aws-cdk issues 10878, 12769), so instead a custom resource
(``infra.api_logging_role_handler``, inline: no asset, no Docker) reads the setting and sets it to
a role this stack creates (RETAIN) only when it is empty. Delete changes nothing: other APIs in
the region may log with the role by then. The stage depends on the custom resource."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.lambda_defaults import ARCHITECTURE, LOG_RETENTION
from infra.nag import acknowledge

HANDLER_SOURCE = Path(__file__).with_name("api_logging_role_handler.py")
# Inline code runs on the newest Python runtime: no shipped bytecode to tie it to the build's.
SETTER_RUNTIME = lambda_.Runtime.PYTHON_3_14
PUSH_TO_CLOUDWATCH_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
PUSH_TO_CLOUDWATCH_REASON = (
    "AmazonAPIGatewayPushToCloudWatchLogs is the AWS policy for API Gateway's account-level "
    "logging role; it only allows writing logs."
)


def account_arn() -> str:
    return f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::/account"


class ApiLoggingRole(Construct):
    """``role``: the logging role offered to the account; ``setting``: the custom resource."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="meeting-vault: API Gateway's account-level CloudWatch logging role",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_CLOUDWATCH_POLICY)],
        )
        # The account may point at it after this stack is gone: never delete it with the stack.
        self.role.apply_removal_policy(RemovalPolicy.RETAIN)
        acknowledge(
            self.role,
            "IAM4",
            PUSH_TO_CLOUDWATCH_REASON,
            findings=[f"Policy::arn:<AWS::Partition>:iam::aws:policy/{PUSH_TO_CLOUDWATCH_POLICY}"],
        )
        log_group = logs.LogGroup(
            self, "SetterLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        setter_role = iam.Role(
            self,
            "SetterRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="meeting-vault: reads and sets API Gateway's account logging role",
            inline_policies={
                "SetAccountLoggingRole": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["apigateway:GET", "apigateway:PATCH"], resources=[account_arn()]
                        ),
                        iam.PolicyStatement(actions=["iam:PassRole"], resources=[self.role.role_arn]),
                        iam.PolicyStatement(
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[log_group.log_group_arn],
                        ),
                    ]
                )
            },
        )
        self.function = lambda_.Function(
            self,
            "Setter",
            description="meeting-vault: sets API Gateway's account logging role when none is set",
            runtime=SETTER_RUNTIME,
            architecture=ARCHITECTURE,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER_SOURCE.read_text()),
            timeout=Duration.minutes(2),  # up to a minute of retries while a new role propagates
            memory_size=128,  # MB
            role=setter_role,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
        )
        self.setting = CustomResource(
            self,
            "Setting",
            service_token=self.function.function_arn,
            resource_type="Custom::ApiGatewayAccountLoggingRole",
            properties={"RoleArn": self.role.role_arn},
        )
