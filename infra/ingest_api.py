"""The public webhook endpoint: REST API ``POST /webhooks/realtimekit`` -> ingest function.

API Gateway passes every body as binary (``binaryMediaTypes: */*``), so the function gets the exact
bytes base64-encoded: the RSA signature is over the raw bytes, and a text round-trip could change
them (charset, line endings).

RealtimeKit never retries a 4xx. API Gateway's own answer to a request over the stage throttle is
``THROTTLED`` with 429: a burst of genuine webhooks would be lost. It answers 503 with
``Retry-After`` instead, which RealtimeKit retries."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.api_logging_role import PUSH_TO_CLOUDWATCH_REASON, ApiLoggingRole
from infra.lambda_defaults import LOG_RETENTION, FunctionSpec, LambdaPackaging, python_function
from infra.nag import acknowledge
from shared.fanout.routing import INGEST_HANDLER, INGEST_MEMORY_MB, INGEST_TIMEOUT_SECONDS

WEBHOOK_PATH = ("webhooks", "realtimekit")
STAGE_NAME = "v1"
# Seconds a throttled sender is asked to wait: the stage's token bucket refills every second, a few
# seconds spread a burst's retries instead of replaying it at once.
THROTTLED_RETRY_AFTER_SECONDS = 5


class IngestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        packaging: LambdaPackaging,
        public_key_url: str,
        max_body_bytes: int,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        log_level: str,
        create_account_role: bool = False,
        reserved_concurrency: int = 0,
        environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            spec=FunctionSpec(
                name="ingest",
                handler=INGEST_HANDLER,
                timeout_seconds=INGEST_TIMEOUT_SECONDS,
                memory_mb=INGEST_MEMORY_MB,
                description="meeting-vault ingest: verify the RealtimeKit signature, PutEvents, 202",
                environment={
                    "EVENT_BUS_NAME": bus.event_bus_name,
                    "WEBHOOK_PUBLIC_KEY_URL": public_key_url,
                    "MAX_BODY_BYTES": str(max_body_bytes),
                    **(environment or {}),
                },
            ),
            packaging=packaging,
            log_level=log_level,
            reserved_concurrency=reserved_concurrency or None,
        )

        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        self.api = apigateway.RestApi(
            self,
            "Api",
            # The alarms' ApiName dimension: unique per stack, so two stacks (or another API called
            # "Api") in the account and region do not add up in one metric and fire each other's alarms.
            rest_api_name=rest_api_name(Stack.of(self).stack_name),
            description="meeting-vault: RealtimeKit webhook receiver",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            binary_media_types=["*/*"],
            # API Gateway writes logs with ONE role per account and region (AWS::ApiGateway::Account).
            # A stack that creates it and is deleted with it breaks logging of every REST API in
            # the region, and a second stack overwrites it (aws-cdk issues 10878, 12769): by default
            # ApiLoggingRole (below) sets it only where none is set; createApiGatewayAccountRole
            # replaces it, with RETAIN (docs/deploy.md).
            cloud_watch_role=create_account_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if create_account_role else None,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
                tracing_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log webhook bodies (participant names, URLs)
                metrics_enabled=True,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=access_log_format(),
            ),
        )
        # Of the gateway responses that mean "try again", THROTTLED is the only 4xx this API can
        # give: QUOTA_EXCEEDED needs a usage plan with API keys, which RealtimeKit cannot send, and
        # the integration failures (DEFAULT_5XX, INTEGRATION_FAILURE/TIMEOUT) are 5xx already.
        self.throttled_response = self.api.add_gateway_response(
            "ThrottledResponse",
            type=apigateway.ResponseType.THROTTLED,
            status_code="503",
            response_headers={"Retry-After": f"'{THROTTLED_RETRY_AFTER_SECONDS}'"},
            templates={
                "application/json": '{"accepted":false,"error":"throttled",'
                '"message":$context.error.messageString}'
            },
        )
        resource = self.api.root
        for part in WEBHOOK_PATH:
            resource = resource.add_resource(part)
        self.webhook_method = resource.add_method(
            "POST",
            apigateway.LambdaIntegration(self.function, proxy=True),
            authorization_type=apigateway.AuthorizationType.NONE,
        )
        acknowledge(
            self.webhook_method,
            "APIG4",
            "RealtimeKit signs the body with RSA and sends no credentials; the ingest function "
            "verifies the signature; API Gateway authorizers cannot see the body.",
        )
        acknowledge(
            self.webhook_method,
            "COG4",
            "The caller is RealtimeKit, not a Cognito user; requests are authenticated by the body "
            "signature the ingest function verifies.",
        )
        acknowledge(
            self.api,
            "APIG2",
            "The body must reach the function byte for byte to verify its signature, and a signed "
            "body that fails a schema must still be archived (answered 202), so request validation "
            "would drop data the contract keeps.",
        )
        acknowledge(
            self.api.deployment_stage,
            "APIG3",
            "No WAF by default: the stage is throttled and only correctly signed bodies are "
            "accepted; attach a web ACL to the stage if your policy requires one.",
        )
        self.account_logging: ApiLoggingRole | None = None
        if not create_account_role:
            # The stage enables logging, which API Gateway refuses while the account has no role.
            self.account_logging = ApiLoggingRole(self, "AccountLogging")
            self.api.deployment_stage.node.add_dependency(self.account_logging.setting)
        if create_account_role:
            acknowledge(
                self.api,
                "IAM4",
                PUSH_TO_CLOUDWATCH_REASON,
                findings=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                ],
            )

    @property
    def webhook_url(self) -> str:
        return self.api.url_for_path("/" + "/".join(WEBHOOK_PATH))


# One JSON line per request: who, what, the answer, and why it failed (the error message, the
# integration's error and status, its latency) with the X-Ray trace id to find the trace.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "errorMessage": "$context.error.message",
    "errorType": "$context.error.responseType",
    "integrationError": "$context.integration.error",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "xrayTraceId": "$context.xrayTraceId",
}


def rest_api_name(stack_name: str) -> str:
    return f"{stack_name}-webhooks"


def access_log_format() -> apigateway.AccessLogFormat:
    # Every value quoted, so a field API Gateway leaves empty still parses ("" not a bare -).
    return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")))
