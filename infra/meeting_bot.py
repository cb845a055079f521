"""The meeting-bot endpoint on the same REST API: ``POST /webhooks/meeting-bot`` -> its own
ingest function (authenticates, writes raw media to S3, publishes to the bus), and the secret
holding its tokens and signing secrets.

A function of its own rather than a branch in the RealtimeKit ingest function: it needs S3 put
and a secret that the RealtimeKit path must not have, and its cold start stays its own."""

from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.lambda_defaults import FunctionSpec, LambdaPackaging, python_function
from infra.nag import acknowledge
from shared.fanout.routing import (
    BOT_INGEST_HANDLER,
    BOT_WEBHOOK_PATH,
    INGEST_MEMORY_MB,
    INGEST_TIMEOUT_SECONDS,
)


class MeetingBotEndpoint(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigateway.RestApi,
        bus: events.IEventBus,
        archive_bucket: s3.IBucket,
        packaging: LambdaPackaging,
        frame_interval_seconds: float,
        log_level: str,
    ) -> None:
        super().__init__(scope, construct_id)
        # {"token": "<generated>", "signingSecrets": []}: the generated token works at once
        # (URL ?token=...); add the workspace's whsec_ secret(s) to "signingSecrets", or replace
        # "token" with "tokens": [...] during a rotation (docs/meeting-bot.md).
        self.credentials = secretsmanager.Secret(
            self,
            "Credentials",
            description="meeting-vault: meeting-bot endpoint tokens and signing secrets",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"signingSecrets": []}),
                generate_string_key="token",
                exclude_punctuation=True,
                password_length=40,
            ),
        )
        acknowledge(
            self.credentials,
            "SMG4",
            "The signing secret is issued by the meeting-bot vendor's dashboard and the token is "
            "part of the URL configured there; AWS cannot rotate either. Rotate both by listing "
            "the old and new values side by side (docs/meeting-bot.md).",
        )
        self.function: lambda_.Function = python_function(
            self,
            "Function",
            spec=FunctionSpec(
                name="meeting-bot-ingest",
                handler=BOT_INGEST_HANDLER,
                timeout_seconds=INGEST_TIMEOUT_SECONDS,
                memory_mb=INGEST_MEMORY_MB,
                description="meeting-vault meeting-bot ingest: authenticate, media to S3, PutEvents, 202",
                environment={
                    "EVENT_BUS_NAME": bus.event_bus_name,
                    "ARCHIVE_BUCKET": archive_bucket.bucket_name,
                    "BOT_CREDENTIALS_SECRET_ARN": self.credentials.secret_arn,
                    "BOT_FRAME_INTERVAL_SECONDS": repr(float(frame_interval_seconds)),
                },
            ),
            packaging=packaging,
            log_level=log_level,
        )
        resource = api.root.resource_for_path(BOT_WEBHOOK_PATH)
        self.webhook_method = resource.add_method(
            "POST",
            apigateway.LambdaIntegration(self.function, proxy=True),
            authorization_type=apigateway.AuthorizationType.NONE,
        )
        acknowledge(
            self.webhook_method,
            "APIG4",
            "Meeting bots send no AWS or Cognito credentials: the function checks a Standard "
            "Webhooks signature over the body, or a token in the configured URL (constant-time).",
        )
        acknowledge(
            self.webhook_method,
            "COG4",
            "The caller is a meeting-bot vendor, not a Cognito user; the function authenticates "
            "each request by signature or URL token.",
        )
        self.url = api.url_for_path(BOT_WEBHOOK_PATH)
