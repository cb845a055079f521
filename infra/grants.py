"""What each function may do, action by action: the calls its code makes and nothing more.

tests/infra/test_permissions.py records every AWS call each handler makes on moto and checks it
against these statements in the synthesized template (and prints grants nothing used), so a call
added to the code without its grant fails there instead of in a real account.

- Archive bucket: GetObject (also what HeadObject needs), GetObjectTagging (a redelivered
  recording's checksum tag, so it is not downloaded again), PutObject (also CreateMultipartUpload,
  UploadPart, CompleteMultipartUpload), PutObjectTagging (the SHA-256 and artifact-type tags),
  on the bucket's objects; ListBucket on the bucket,
  without which S3 answers 403 instead of 404 for a key that does not exist yet (the existence checks
  before a write rely on the 404). AbortMultipartUpload (a failed upload cleans up) and DeleteObject
  only for the consumers that download through ``shared.archive.transfer``, which deletes an object
  whose assembled size is wrong (the sessions consumer never does); the meeting-bot consumers
  AbortMultipartUpload only (their streamed media are multipart uploads; they delete nothing). The
  bucket is versioned and no role has DeleteObjectVersion, so a delete only adds a delete marker.
- Sessions table: GetItem, PutItem, UpdateItem, Query for the consumers (the sessions consumer also
  BatchGetItem: a batch's tombstones in one read); the rebuilds consumer
  also DeleteItem and BatchWriteItem (a session's listing items in one request), and the sweep GetItem, Query, PutItem and DeleteItem (both announce
  session.archived: the "announced" marker is put, and deleted again when the publish fails). No
  role may Scan (``meeting-vault inspect`` scans with the operator's credentials, not a function's).
- Relay table: GetItem, PutItem, UpdateItem, Query for the relay function (``meeting-vault relay``
  lists relays with a Scan under the operator's credentials).
- Idempotency table: GetItem, PutItem, UpdateItem, and DeleteItem (Powertools removes the in-progress
  record when the handler fails, so the retry can run).
- The secret: read (GetSecretValue; CDK adds DescribeSecret). The bus: PutEvents.
- KMS (``archiveEncryption=kms``): Decrypt, Encrypt, GenerateDataKey, DescribeKey on the customer key, which S3 and
  DynamoDB use on the caller's behalf."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

ARCHIVE_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectTagging", "s3:PutObject", "s3:PutObjectTagging")
# Only for the consumers that download through ``shared.archive.transfer`` (multipart uploads).
ARCHIVE_TRANSFER_ACTIONS = ("s3:AbortMultipartUpload", "s3:DeleteObject")
# The meeting-bot consumers write streamed media as multipart uploads (shared.sources.meeting_bot.
# media_store) and abort a failed one; they never delete an object.
ARCHIVE_ABORT_ACTIONS = ("s3:AbortMultipartUpload",)
ARCHIVE_BUCKET_ACTIONS = ("s3:ListBucket",)
SESSION_WRITER_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query")
# The functions that announce session.archived (the rebuilds consumer, the sweep): DeleteItem only
# to release the "announced" marker after a failed publish (shared.session.store.release_announcement,
# a conditional delete of that one item).
SESSION_ANNOUNCER_ACTIONS = (*SESSION_WRITER_ACTIONS, "dynamodb:DeleteItem")
# The rebuilds consumer writes a session's listing items in one BatchWriteItem: put or delete, which
# it may do item by item anyway.
SESSION_REBUILDER_ACTIONS = (*SESSION_ANNOUNCER_ACTIONS, "dynamodb:BatchWriteItem")
# The sessions consumer reads a whole batch's tombstones in one request (read-only, unlike
# BatchWriteItem, which could delete).
SESSION_BATCH_READER_ACTIONS = (*SESSION_WRITER_ACTIONS, "dynamodb:BatchGetItem")
SESSION_READER_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")
RELAY_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query")
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
KMS_USE_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")


def grant_archive(
    function: lambda_.IFunction, bucket: s3.IBucket, *, transfers: bool, aborts: bool = False
) -> None:
    extra = ARCHIVE_TRANSFER_ACTIONS if transfers else ARCHIVE_ABORT_ACTIONS if aborts else ()
    actions = [*ARCHIVE_OBJECT_ACTIONS, *extra]
    function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects("*")]))
    function.add_to_role_policy(
        iam.PolicyStatement(actions=list(ARCHIVE_BUCKET_ACTIONS), resources=[bucket.bucket_arn])
    )


def grant_table(
    function: lambda_.IFunction, table: dynamodb.ITable | dynamodb.ITableV2, actions: tuple[str, ...]
) -> None:
    """``actions`` on the table's own items (no index ARNs; ``grant_index_query`` names one index)."""
    function.add_to_role_policy(iam.PolicyStatement(actions=list(actions), resources=[table.table_arn]))


def grant_index_query(function: lambda_.IFunction, table: dynamodb.ITableV2, index_name: str) -> None:
    """Query on one index of the table (the sweep finds sessions whose rebuild is overdue)."""
    function.add_to_role_policy(
        iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{index_name}"])
    )


def grant_key_use(function: lambda_.IFunction, key: kms.IKey | None) -> None:
    if key is not None:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=list(KMS_USE_ACTIONS), resources=[key.key_arn])
        )
