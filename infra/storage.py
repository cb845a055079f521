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
from infra.settings import ArtifactRetention
from shared.core.artifact_types import ARTIFACT_TYPE_TAG  # lifecycle rules per type filter on it
from shared.session.listing import SESSION_INDEX

_STORAGE_CLASSES = {
    "STANDARD_IA": s3.StorageClass.INFREQUENT_ACCESS,
    "GLACIER_IR": s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
}

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
        artifact_retention: Mapping[str, ArtifactRetention] | None = None,
        object_lock_days: int = 0,
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

        # archiveEncryption=kms: one customer key for the bucket, the tables, the queues and the
        # bus archive (SECURITY.md lists what each mode encrypts with which key).
        self.archive_key: kms.Key | None = (
            kms.Key(
                self,
                "ArchiveKey",
                description="meeting-vault: archive bucket, tables, queues, event archive",
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
        lifecycle_rules += [
            artifact_lifecycle_rule(artifact_type, retention)
            for artifact_type, retention in sorted((artifact_retention or {}).items())
        ]
        lock: dict[str, object] = {}
        if object_lock_days:
            # A legal hold: no version can be deleted or overwritten for N days (governance mode:
            # principals with s3:BypassGovernanceRetention still can). S3 accepts Object Lock on a
            # bucket only with versioning; set it when the bucket is created (docs/deploy.md).
            lock = {
                "object_lock_enabled": True,
                "object_lock_default_retention": s3.ObjectLockRetention.governance(
                    Duration.days(object_lock_days)
                ),
            }
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
            **lock,  # type: ignore[arg-type]
        )
        table_encryption = dynamodb.TableEncryptionV2.aws_managed_key()

        self.sessions_table = dynamodb.TableV2(
            self,
            "Sessions",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=table_encryption,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            # One index: the operator CLI lists sessions by time from it (shared.session.listing), and
            # the reconcile sweep finds overdue rebuilds in its rebuild#pending partition
            # (shared.session.store). A stack update can add only one index to a table at a time.
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
                ),
            ],
        )
        # Powertools idempotency's default layout: key "id", TTL attribute "expiration".
        self.idempotency_table = dynamodb.TableV2(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing=dynamodb.Billing.on_demand(),
            encryption=table_encryption,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Only in-flight and recent work keys; recreating it loses nothing that matters.
            removal_policy=RemovalPolicy.DESTROY,
        )
        if self.archive_key is not None:
            for table in (self.sessions_table, self.idempotency_table):
                use_customer_key(table, self.archive_key)


def artifact_lifecycle_rule(artifact_type: str, retention: ArtifactRetention) -> s3.LifecycleRule:
    """Objects tagged ``artifact-type=<type>``: an optional move to a cheaper class, an optional expiry."""
    transitions = (
        [
            s3.Transition(
                storage_class=_STORAGE_CLASSES[retention.storage_class],
                transition_after=Duration.days(retention.transition_days),
            )
        ]
        if retention.transition_days is not None
        else None
    )
    return s3.LifecycleRule(
        id=f"Retention-{artifact_type}",
        tag_filters={ARTIFACT_TYPE_TAG: artifact_type},
        expiration=Duration.days(retention.expire_days) if retention.expire_days is not None else None,
        transitions=transitions,
    )


def use_customer_key(table: dynamodb.TableV2, key: kms.IKey) -> None:
    """SSE with the customer key. TableV2's own ``customer_managed_key`` needs the stack's region at
    synthesis (its replica list), and this stack is region-agnostic: set the one replica's key."""
    cfn = table.node.default_child
    assert isinstance(cfn, dynamodb.CfnGlobalTable)
    cfn.add_property_override("SSESpecification", {"SSEEnabled": True, "SSEType": "KMS"})
    cfn.add_property_override("Replicas.0.SSESpecification", {"KMSMasterKeyId": key.key_arn})
