"""The meeting-vault stack: composes the constructs and wires the grants between them."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import AssetHashType, CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.bedrock_access import BedrockModel, invoke_model_statements
from infra.event_bus import WebhookEventBus
from infra.grants import (
    IDEMPOTENCY_ACTIONS,
    SESSION_BATCH_READER_ACTIONS,
    SESSION_READER_ACTIONS,
    SESSION_REBUILDER_ACTIONS,
    SESSION_WRITER_ACTIONS,
    grant_archive,
    grant_index_query,
    grant_key_use,
    grant_table,
)
from infra.ingest_api import IngestApi
from infra.lambda_assets import LambdaAssetDirs
from infra.lambda_defaults import ARCHITECTURE, RUNTIME, LambdaPackaging
from infra.live_relay import RELAY_FUNCTION_TIMEOUT_SECONDS, LiveRelay
from infra.meeting_bot import MeetingBotEndpoint
from infra.monitoring import MonitoredFunction, Monitoring
from infra.nag import acknowledge
from infra.notifications import SessionArchivedTopic
from infra.reconcile import ReconcileSweep
from infra.search import SearchIndex
from infra.settings import DeploySettings
from infra.storage import ArchiveStorage
from infra.tagging import tag_everything
from infra.waf import WebhookFirewall
from infra.workers import ConsumerWorker, Workers
from shared.archive.keys import RAW_EVENT_KEY_PATTERNS
from shared.fanout.routing import (
    BOT_AUDIO,
    BOT_EVENTS,
    INGEST_TIMEOUT_SECONDS,
    REBUILDS,
    ROUTES,
    SESSIONS,
    TRANSCRIPTS,
)
from shared.ingest.settings import REALTIMEKIT_API_BASE_URL
from shared.session.store import PENDING_INDEX

_COMPLETE_SECRET_ARN = re.compile(r"-[A-Za-z0-9]{6}$")


class MeetingVaultStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploySettings,
        assets: LambdaAssetDirs,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings

        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="meeting-vault runtime dependencies (uv.lock, manylinux wheels)",
            code=lambda_.Code.from_asset(
                str(assets.layer), asset_hash_type=AssetHashType.CUSTOM, asset_hash=assets.layer_hash
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )
        packaging = LambdaPackaging(code=lambda_.Code.from_asset(str(assets.code)), layer=layer)

        self.storage = ArchiveStorage(
            self,
            "Storage",
            use_kms=settings.archive_encryption == "kms",
            retention_days=settings.retention_days,
            noncurrent_version_retention_days=settings.noncurrent_version_retention_days,
            artifact_retention=settings.artifact_retention,
            object_lock_days=settings.object_lock_days,
        )
        self.events = WebhookEventBus(self, "Events", encryption_key=self.storage.archive_key)
        tag_everything(self, settings.stack_name, settings.extra_tags)
        self.session_archived = (
            SessionArchivedTopic(self, "Notifications", bus=self.events.bus)
            if settings.session_archived_topic
            else None
        )
        self.search = SearchIndex(
            self,
            "Search",
            bucket=self.storage.archive_bucket,
            use_kms=settings.archive_encryption == "kms",
        )
        self.api_token_secret = self._api_token_secret()

        self.ingest = IngestApi(
            self,
            "Ingest",
            bus=self.events.bus,
            packaging=packaging,
            public_key_url=settings.webhook_public_key_url,
            max_body_bytes=settings.max_body_bytes,
            throttle_rate_limit=settings.throttle_rate_limit,
            throttle_burst_limit=settings.throttle_burst_limit,
            log_level=settings.log_level,
            create_account_role=settings.create_api_gateway_account_role,
            reserved_concurrency=settings.ingest_reserved_concurrency,
            environment=self._ingest_environment(),
        )
        # Session files: the recorder sends rebuild requests here (docs/rebuilds.md).
        self.rebuilds = ConsumerWorker(
            self,
            "Rebuilds",
            route=REBUILDS,
            bus=self.events.bus,
            packaging=packaging,
            environment={
                "ARCHIVE_BUCKET": self.storage.archive_bucket.bucket_name,
                "SESSIONS_TABLE": self.storage.sessions_table.table_name,
                "EVENT_BUS_NAME": self.events.bus.event_bus_name,  # session.archived, once settled
                "REBUILD_WINDOW_SECONDS": str(settings.rebuild_window_seconds),
            },
            log_level=settings.log_level,
            encryption_key=self.storage.archive_key,
        )
        self.rebuilds.function.add_environment("REBUILD_QUEUE_URL", self.rebuilds.queue.queue_url)
        self.meeting_bot = MeetingBotEndpoint(
            self,
            "MeetingBot",
            api=self.ingest.api,
            bus=self.events.bus,
            archive_bucket=self.storage.archive_bucket,
            packaging=packaging,
            frame_interval_seconds=settings.bot_frame_interval_seconds,
            log_level=settings.log_level,
        )
        self.workers = Workers(
            self,
            "Workers",
            routes=ROUTES,
            bus=self.events.bus,
            packaging=packaging,
            environment_of={route.name: self._consumer_environment(route.name) for route in ROUTES},
            log_level=settings.log_level,
            max_concurrency_of={route.name: settings.max_concurrency_of(route.name) for route in ROUTES},
            encryption_key=self.storage.archive_key,
        )
        self.reconcile = ReconcileSweep(
            self,
            "Reconcile",
            bus=self.events.bus,
            packaging=packaging,
            environment=self._reconcile_environment(),
            delay_seconds=settings.reconcile_delay_seconds,
            schedule_minutes=settings.reconcile_schedule_minutes,
            log_level=settings.log_level,
            max_concurrency=settings.max_concurrency_of("reconcile"),
            encryption_key=self.storage.archive_key,
        )
        self.live_relay = LiveRelay(
            self,
            "LiveRelay",
            bus=self.events.bus,
            archive_bucket=self.storage.archive_bucket,
            packaging=packaging,
            log_level=settings.log_level,
            leg_seconds=settings.relay_leg_seconds,
            overlap_seconds=settings.relay_overlap_seconds,
            max_seconds=settings.relay_max_hours * 3600,
            give_up_seconds=settings.relay_give_up_minutes * 60,
            encryption_key=self.storage.archive_key,
        )
        self.firewall = (
            WebhookFirewall(
                self,
                "Firewall",
                stage=self.ingest.api.deployment_stage,
                rate_limit_per_5_minutes=settings.waf_rate_limit_per_5_minutes,
            )
            if settings.enable_waf
            else None
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            consumers=[*self.workers.consumers.values(), self.rebuilds.consumer, self.reconcile.consumer],
            extra_dead_letter_queues={
                **(
                    {"ReconcileSchedule": self.reconcile.schedule_dead_letter_queue}
                    if self.reconcile.schedule_dead_letter_queue is not None
                    else {}
                ),
                "RelayRequested": self.live_relay.dead_letter_queue,
                "RelayLegFailures": self.live_relay.leg_failures,
            },
            functions=self._monitored_functions(),
            state_machines={"LiveRelayChain": self.live_relay.state_machine},
            ingest_function=self.ingest.function,
            api=self.ingest.api,
            alarm_email=settings.alarm_email,
            access_logs=self.ingest.access_logs,
        )

        self._grant()
        self._grant_summary_model()
        self._acknowledge_function_role_findings()
        self._outputs()

    def _monitored_functions(self) -> list[MonitoredFunction]:
        """The functions outside the consumer routes and the RealtimeKit webhook."""
        leg_seconds = self.settings.relay_leg_seconds
        return [
            MonitoredFunction("MeetingBotIngest", self.meeting_bot.function, INGEST_TIMEOUT_SECONDS),
            MonitoredFunction(
                "LiveRelay",
                self.live_relay.function,
                RELAY_FUNCTION_TIMEOUT_SECONDS,
                # legs last relayLegSeconds by design: alarm halfway from there to the timeout
                duration_threshold_seconds=(leg_seconds + RELAY_FUNCTION_TIMEOUT_SECONDS) / 2,
            ),
        ]

    def _api_token_secret(self) -> secretsmanager.ISecret:
        settings = self.settings
        if settings.api_token_secret_arn:
            arn = settings.api_token_secret_arn
            if _COMPLETE_SECRET_ARN.search(arn):
                return secretsmanager.Secret.from_secret_complete_arn(self, "ApiToken", arn)
            return secretsmanager.Secret.from_secret_partial_arn(self, "ApiToken", arn)
        if settings.api_token_secret_name:
            return secretsmanager.Secret.from_secret_name_v2(self, "ApiToken", settings.api_token_secret_name)
        secret = secretsmanager.Secret(
            self,
            "ApiToken",
            description="meeting-vault: Cloudflare API token for RealtimeKit (replace the generated "
            "placeholder with `aws secretsmanager put-secret-value`)",
        )
        acknowledge(
            secret,
            "SMG4",
            "The value is a Cloudflare API token issued in the Cloudflare dashboard; AWS cannot "
            "rotate it. Rotate it in Cloudflare and put the new value here.",
        )
        return secret

    def _ingest_environment(self) -> dict[str, str]:
        """The app binding (which apps' webhooks are accepted, and how to ask RealtimeKit about a
        meeting whose body names another app id) and the claim-check bucket."""
        settings = self.settings
        return {
            "REALTIMEKIT_APP_IDS": ",".join(settings.accepted_app_ids),
            "REALTIMEKIT_ACCOUNT_ID": settings.realtimekit_account_id,
            "REALTIMEKIT_API_TOKEN_SECRET_ARN": self.api_token_secret.secret_arn,
            "REALTIMEKIT_API_BASE_URL": REALTIMEKIT_API_BASE_URL,
            "ARCHIVE_BUCKET": self.storage.archive_bucket.bucket_name,
        }

    def _consumer_environment(self, route_name: str) -> dict[str, str]:
        storage, settings = self.storage, self.settings
        environment = {
            "ARCHIVE_BUCKET": storage.archive_bucket.bucket_name,
            "SESSIONS_TABLE": storage.sessions_table.table_name,
            "EVENT_BUS_NAME": self.events.bus.event_bus_name,  # session.archived
            **self._rebuild_environment(),
        }
        if route_name == SESSIONS.name:
            return environment
        if route_name in (BOT_EVENTS.name, BOT_AUDIO.name):
            return {
                **environment,
                "BOT_AUDIO_QUIET_SECONDS": str(settings.bot_audio_quiet_seconds),
                "BOT_KEEP_PARTIAL_TRANSCRIPTS": "true" if settings.bot_keep_partial_transcripts else "false",
            }
        return {
            **environment,
            "IDEMPOTENCY_TABLE": storage.idempotency_table.table_name,
            "REALTIMEKIT_ACCOUNT_ID": settings.realtimekit_account_id,
            "REALTIMEKIT_APP_ID": settings.realtimekit_app_id,
            "REALTIMEKIT_API_TOKEN_SECRET_ARN": self.api_token_secret.secret_arn,
            "DOWNLOAD_HOST_ALLOWLIST": ",".join(settings.download_host_allowlist),
            "SUMMARY_MODE": settings.summary_mode,
            **self._summary_environment(route_name),
        }

    def _rebuild_environment(self) -> dict[str, str]:
        """What every writer of session facts needs to ask for a rebuild."""
        return {
            "REBUILD_QUEUE_URL": self.rebuilds.queue.queue_url,
            "REBUILD_WINDOW_SECONDS": str(self.settings.rebuild_window_seconds),
        }

    def _reconcile_environment(self) -> dict[str, str]:
        settings = self.settings
        return {
            **self._rebuild_environment(),
            "EVENT_BUS_NAME": self.events.bus.event_bus_name,
            "SESSIONS_TABLE": self.storage.sessions_table.table_name,
            "REALTIMEKIT_ACCOUNT_ID": settings.realtimekit_account_id,
            "REALTIMEKIT_APP_ID": settings.realtimekit_app_id,
            "REALTIMEKIT_API_TOKEN_SECRET_ARN": self.api_token_secret.secret_arn,
            "RECONCILE_SETTLE_MINUTES": str(max(1, settings.reconcile_delay_seconds // 60)),
        }

    def _grant(self) -> None:
        """Action by action: see ``infra.grants`` (and tests/infra/test_permissions.py)."""
        storage = self.storage
        key = storage.archive_key
        # The sweep reads session records and RealtimeKit's API, and publishes to the bus; it
        # writes nothing itself (the consumers archive what it enqueues).
        reconcile = self.reconcile.function
        self.events.bus.grant_put_events_to(reconcile)
        grant_table(reconcile, storage.sessions_table, SESSION_READER_ACTIONS)
        # Writes only the session's "announced" marker (session.archived once per state).
        grant_table(reconcile, storage.sessions_table, ("dynamodb:PutItem", "dynamodb:DeleteItem"))
        grant_key_use(reconcile, key)
        self.api_token_secret.grant_read(reconcile)
        self.rebuilds.queue.grant_send_messages(reconcile)
        grant_index_query(reconcile, storage.sessions_table, PENDING_INDEX)  # overdue rebuilds
        # The rebuilds consumer writes the derived files and the rebuild state, and asks again
        # (its own queue) when the record moved on while it worked.
        rebuilder = self.rebuilds.function
        grant_archive(rebuilder, storage.archive_bucket, transfers=False)
        grant_table(rebuilder, storage.sessions_table, SESSION_REBUILDER_ACTIONS)
        grant_key_use(rebuilder, key)
        self.events.bus.grant_put_events_to(rebuilder)  # session.archived, once the files settle
        self.rebuilds.queue.grant_send_messages(rebuilder)
        # The ingest function publishes; it reads the token secret (a meeting lookup when a body names
        # another app id) and may put raw bodies too large for the bus under events/ prefixes only
        # (claim checks). No reads, no deletes, no tables.
        self.events.bus.grant_put_events_to(self.ingest.function)
        self.api_token_secret.grant_read(self.ingest.function)
        for pattern in RAW_EVENT_KEY_PATTERNS:
            storage.archive_bucket.grant_put(self.ingest.function, pattern)
        # The bot endpoint publishes, reads its credentials, and writes raw media and raw bodies.
        bot_ingest = self.meeting_bot.function
        self.events.bus.grant_put_events_to(bot_ingest)
        self.meeting_bot.credentials.grant_read(bot_ingest)
        storage.archive_bucket.grant_put(bot_ingest, "meetings/*")
        storage.archive_bucket.grant_put(bot_ingest, "unattributed/*")
        # The bot audio consumer's quiet-period timers are delayed messages to its own queue.
        audio = self.workers.consumers[BOT_AUDIO.name]
        audio.function.add_environment("BOT_AUDIO_QUEUE_URL", audio.queue.queue_url)
        audio.queue.grant_send_messages(audio.function)
        for name, consumer in self.workers.consumers.items():
            function = consumer.function
            # Only the consumers that download through shared.archive.transfer ever delete (an
            # object whose assembled size is wrong); the sessions consumer never does, and the
            # meeting-bot consumers only abort their own multipart uploads.
            bot = name in (BOT_EVENTS.name, BOT_AUDIO.name)
            grant_archive(
                function, storage.archive_bucket, transfers=name != SESSIONS.name and not bot, aborts=bot
            )
            grant_table(
                function,
                storage.sessions_table,
                SESSION_BATCH_READER_ACTIONS if name == SESSIONS.name else SESSION_WRITER_ACTIONS,
            )
            grant_key_use(function, key)
            self.events.bus.grant_put_events_to(function)  # session.archived
            if name in (BOT_EVENTS.name, BOT_AUDIO.name):
                continue  # bot sessions rewrite their own files (shared.sources.meeting_bot.recorder)
            self.rebuilds.queue.grant_send_messages(function)
            if name == SESSIONS.name:
                continue
            grant_table(function, storage.idempotency_table, IDEMPOTENCY_ACTIONS)
            self.api_token_secret.grant_read(function)

    def _summary_environment(self, route_name: str) -> dict[str, str]:
        """bedrock mode: the transcripts consumer summarizes, with these settings (docs/summaries.md)."""
        settings = self.settings
        if route_name != TRANSCRIPTS.name or settings.summary_mode != "bedrock":
            return {}
        return {"BEDROCK_MODEL_ID": settings.bedrock_model_id, "SUMMARY_TYPE": settings.summary_type}

    def _grant_summary_model(self) -> None:
        """bedrock mode: InvokeModel on the chosen model (or inference profile) only, for the
        transcripts consumer only."""
        if self.settings.summary_mode != "bedrock":
            return
        function = self.workers.consumers[TRANSCRIPTS.name].function
        model = BedrockModel.parse(self.settings.bedrock_model_id)
        for statement in invoke_model_statements(model.model_id):
            function.add_to_role_policy(statement)
        if model.profile_geo is not None:
            assert function.role is not None
            acknowledge(
                function.role,
                "IAM5",
                "A cross-region inference profile sends each request to the model in one of the "
                "regions AWS assigns to the profile (and may change), so the model ARN has a region "
                "wildcard; it names one model and is usable only through the profile "
                "(condition bedrock:InferenceProfileArn).",
                findings=[
                    "Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/" + model.foundation_model_id
                ],
            )

    def _acknowledge_function_role_findings(self) -> None:
        functions = [
            self.ingest.function,
            self.meeting_bot.function,
            *(c.function for c in self.workers.consumers.values()),
            self.rebuilds.function,
            self.reconcile.function,
        ]
        bucket_arn = self.resolve(self.storage.archive_bucket.bucket_arn)
        bucket_logical_id = bucket_arn["Fn::GetAtt"][0]
        for function in functions:
            role = function.role
            assert role is not None
            acknowledge(
                role,
                "IAM4",
                "AWSLambdaBasicExecutionRole only allows writing the function's own CloudWatch "
                "logs; the log group is created by the stack with a retention.",
                findings=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                ],
            )
            acknowledge(
                role,
                "IAM5",
                "X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions.",
                findings=["Resource::*"],
            )
            if function is self.ingest.function:
                acknowledge(
                    role,
                    "IAM5",
                    "Claim checks: the ingest function may put raw webhook bodies too large for the bus "
                    "under the events/ prefixes only (keys per meeting and session, unknown in "
                    "advance); Abort* is part of CDK's grant_put set on those keys.",
                    findings=[
                        *(
                            f"Resource::<{bucket_logical_id}.Arn>/{pattern}"
                            for pattern in RAW_EVENT_KEY_PATTERNS
                        ),
                        "Action::s3:Abort*",
                    ],
                )
                if self.storage.archive_key is not None:
                    acknowledge(
                        role,
                        "IAM5",
                        "CDK's bucket put grant adds these KMS action families on the archive bucket's "
                        "own key only, which SSE-KMS uploads need.",
                        findings=["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
                    )
                continue
            table_arn = self.resolve(self.storage.sessions_table.table_arn)["Fn::GetAtt"][0]
            acknowledge(
                role,
                "IAM5",
                "CDK's grants on the sessions table cover its indexes; its one index lists sessions by "
                "time and, in its rebuild#pending partition, the sessions whose rebuild is pending.",
                findings=[f"Resource::<{table_arn}.Arn>/index/*"],
            )
            if function is self.meeting_bot.function:
                acknowledge(
                    role,
                    "IAM5",
                    "The bot endpoint writes chunk, frame and raw-body objects under the archive's "
                    "meetings/ and unattributed/ prefixes, keyed by meeting and recording ids unknown "
                    "in advance; the action wildcard is CDK's grant_put set (Abort* cleans up uploads).",
                    findings=[
                        f"Resource::<{bucket_logical_id}.Arn>/meetings/*",
                        f"Resource::<{bucket_logical_id}.Arn>/unattributed/*",
                        "Action::s3:Abort*",
                    ],
                )
                if self.storage.archive_key is not None:
                    acknowledge(
                        role,
                        "IAM5",
                        "CDK's bucket grants add these KMS action families on the archive bucket's "
                        "own key only, which SSE-KMS puts need.",
                        findings=["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
                    )
                continue
            if function is self.reconcile.function:
                if self.storage.archive_key is not None:
                    acknowledge(
                        role,
                        "IAM5",
                        "CDK's send grant on the (customer-key encrypted) rebuild queue adds these KMS "
                        "action families on the archive's own key only, which encrypted sends need.",
                        findings=["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
                    )
                continue
            acknowledge(
                role,
                "IAM5",
                "Archive objects are keyed per meeting and session, unknown in advance, so the object "
                "actions (listed one by one in infra.grants) cover the archive bucket's keys.",
                findings=[f"Resource::<{bucket_logical_id}.Arn>/*"],
            )
            acknowledge(
                role,
                "IAM5",
                "CDK's grant_read_write_data on the sessions table adds its index ARNs (the listing "
                "index of shared.session.listing); the consumers write the items it indexes.",
                findings=[
                    f"Resource::<{self.resolve(self.storage.sessions_table.table_arn)['Fn::GetAtt'][0]}.Arn>/index/*"
                ],
            )
            if self.storage.archive_key is not None:
                acknowledge(
                    role,
                    "IAM5",
                    "CDK's bucket grants add these KMS action families (GenerateDataKey*, ReEncrypt*) "
                    "on the archive bucket's own key only, which SSE-KMS uploads need.",
                    findings=["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
                )

    def _outputs(self) -> None:
        storage = self.storage
        outputs: dict[str, tuple[str, str]] = {
            "WebhookUrl": (self.ingest.webhook_url, "Give this URL to RealtimeKit (POST /webhooks)"),
            "BotWebhookUrl": (
                self.meeting_bot.url,
                "Meeting-bot real-time endpoint (add ?token=<token from BotCredentialsSecretArn>)",
            ),
            "BotCredentialsSecretArn": (
                self.meeting_bot.credentials.secret_arn,
                "Meeting-bot token and secrets",
            ),
            "ArchiveBucketName": (storage.archive_bucket.bucket_name, "The archive"),
            "AccessLogBucketName": (storage.access_log_bucket.bucket_name, "S3 server access logs"),
            "SessionsTableName": (storage.sessions_table.table_name, "Session records"),
            "IdempotencyTableName": (storage.idempotency_table.table_name, "Powertools idempotency"),
            "EventBusName": (self.events.bus.event_bus_name, "Verified webhooks; add your own rules"),
            "EventArchiveName": (self.events.archive.archive_name, "Replay source"),
            "ApiTokenSecretArn": (self.api_token_secret.secret_arn, "Cloudflare API token secret"),
            "AlarmTopicArn": (self.monitoring.topic.topic_arn, "Subscribe to receive alarms"),
        }
        for name, consumer in self.workers.consumers.items():
            label = name.capitalize()
            outputs[f"{label}QueueUrl"] = (consumer.queue.queue_url, f"{name} consumer queue")
            outputs[f"{label}DeadLetterQueueUrl"] = (consumer.dead_letter_queue.queue_url, f"{name} DLQ")
            outputs[f"{label}FunctionName"] = (consumer.function.function_name, f"{name} consumer")
        outputs["RebuildsQueueUrl"] = (self.rebuilds.queue.queue_url, "session file rebuild requests")
        outputs["RebuildsDeadLetterQueueUrl"] = (self.rebuilds.dead_letter_queue.queue_url, "rebuilds DLQ")
        outputs["RebuildsFunctionName"] = (self.rebuilds.function.function_name, "rebuilds consumer")
        outputs["IngestFunctionName"] = (self.ingest.function.function_name, "ingest function")
        outputs["ReconcileFunctionName"] = (self.reconcile.function.function_name, "reconcile sweep")
        outputs["ReconcileQueueUrl"] = (
            self.reconcile.queue.queue_url,
            "reconcile queue (meeting.ended, delayed)",
        )
        outputs["ReconcileDeadLetterQueueUrl"] = (self.reconcile.dead_letter_queue.queue_url, "reconcile DLQ")
        outputs["RelayTableName"] = (self.live_relay.table.table_name, "live relays")
        outputs["RelayStateMachineArn"] = (
            self.live_relay.state_machine.state_machine_arn,
            "live relay chain",
        )
        outputs["RelayRequestedDeadLetterQueueUrl"] = (
            self.live_relay.dead_letter_queue.queue_url,
            "relay.requested events EventBridge could not deliver to the relay chain",
        )
        outputs["RelayLegFailuresQueueUrl"] = (
            self.live_relay.leg_failures.queue_url,
            "relay legs (asynchronous invokes) that failed every attempt",
        )
        if self.reconcile.schedule_dead_letter_queue is not None:
            outputs["ReconcileScheduleDeadLetterQueueUrl"] = (
                self.reconcile.schedule_dead_letter_queue.queue_url,
                "scheduled sweeps EventBridge could not run",
            )
        outputs["DashboardName"] = (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard")
        if self.session_archived is not None:
            outputs["SessionArchivedTopicArn"] = (
                self.session_archived.topic.topic_arn,
                "Subscribe to receive session.archived events",
            )
        outputs["SearchWorkGroup"] = (self.search.workgroup_name, "Athena workgroup of meeting-vault search")
        outputs["SearchDatabase"] = (self.search.database_name, "Glue database of the utterance index")
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
