"""Where the archive lives: the S3 bucket users look at, its access-log bucket, and the two
DynamoDB tables (session records, Powertools idempotency)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge
from shared.session.listing import SESSION_INDEX

ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 1  # recordings are multipart uploads; a crashed one leaves parts
ACCESS_LOG_RETENTION_DAYS = 365


class ArchiveStorage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        use_kms: bool,
        retention_days: Mapping[str, int],
        noncurrent_version_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # Server access log delivery supports only SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_RETENTION_DAYS))],
        )
        acknowledge(
            self.access_log_bucket,
            "S1",
            "This is the access-log bucket of the archive bucket; logging it into itself would "
            "loop, and another log bucket would only move the question.",
        )

        self.archive_key: kms.IKey | None = (
            kms.Key(
                self,
                "ArchiveKey",
                description="meeting-vault archive bucket",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
            if use_kms
            else None
        )
        lifecycle_rules = [
            s3.LifecycleRule(
                id="AbortIncompleteMultipartUploads",
                abort_incomplete_multipart_upload_after=Duration.days(ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS),
            ),
            s3.LifecycleRule(
                id="ExpireOverwrittenVersions",
                # Repeated deliveries overwrite the same keys; old versions are kept for a while
                # to undo a bad rewrite, then dropped.
                noncurrent_version_expiration=Duration.days(noncurrent_version_retention_days),
            ),
        ]
        lifecycle_rules += [
            s3.LifecycleRule(id=f"Expire-{index}", prefix=prefix, expiration=Duration.days(days))
            for index, (prefix, days) in enumerate(sorted(retention_days.items()))
        ]
        self.archive_bucket = s3.Bucket(
            self,
            "Archive",
            encryption=s3.BucketEncryption.KMS if self.archive_key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=self.archive_key,
            bucket_key_enabled=True if self.archive_key else None,  # fewer KMS calls (and costs)
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="archive/",
            lifecycle_rules=lifecycle_rules,
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.sessions_table = dynamodb.TableV2(
            self,
            "Sessions",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            # The operator CLI lists sessions by time from this index (shared.session.listing).
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=SESSION_INDEX.name,
                    partition_key=dynamodb.Attribute(
                        name=SESSION_INDEX.partition_key, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=dynamodb.Attribute(
                        name=SESSION_INDEX.sort_key, type=dynamodb.AttributeType.STRING
                    ),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            ],
        )
        # Powertools idempotency's default layout: key "id", TTL attribute "expiration".
        self.idempotency_table = dynamodb.TableV2(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Only in-flight and recent work keys; recreating it loses nothing that matters.
            removal_policy=RemovalPolicy.DESTROY,
        )
