"""The custom EventBridge bus every verified webhook lands on, with an archive for replay."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from shared.ingest.envelope import EVENT_SOURCE

ARCHIVE_RETENTION_DAYS = 30


class WebhookEventBus(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        archive_retention_days: int = ARCHIVE_RETENTION_DAYS,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description="meeting-vault: verified RealtimeKit webhooks")
        # Replay a time window after fixing a consumer: `aws events start-replay ...`.
        # It keeps full webhook bodies (signed download URLs included): with archiveEncryption=kms
        # under the customer key, otherwise under an AWS-owned key.
        self.archive = events.Archive(
            self,
            "Archive",
            source_event_bus=self.bus,
            description="every verified RealtimeKit webhook, for replay",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(archive_retention_days),
            kms_key=encryption_key,
        )
