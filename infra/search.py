"""Search across meetings: a Glue database and table over the utterance index
(``index/utterances/date=YYYY-MM-DD/*.jsonl``, partition projection: no crawler, no
``MSCK REPAIR``), and an Athena workgroup whose results go to ``athena-results/`` in the archive
bucket, expired by a lifecycle rule."""

from __future__ import annotations

import re

from aws_cdk import Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from shared.search.index import COLUMNS, INDEX_PREFIX, PARTITION

RESULTS_PREFIX = "athena-results/"
RESULTS_RETENTION_DAYS = 7
BYTES_SCANNED_CUTOFF = 10 * 1024**3  # 10 GiB a query: a runaway query costs at most ~$0.05
TABLE_NAME = "utterances"  # the name shared.search.query's SQL uses
PROJECTION_START = "2024-01-01"


class SearchIndex(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.Bucket, use_kms: bool) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.database_name = re.sub(r"[^a-z0-9_]", "_", f"{stack.stack_name.lower()}_search")
        self.workgroup_name = f"{stack.stack_name}-search"
        location = f"s3://{bucket.bucket_name}/{INDEX_PREFIX}"

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="meeting-vault: search across meetings"
            ),
        )
        self.table = glue.CfnTable(
            self,
            "Utterances",
            catalog_id=stack.account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=TABLE_NAME,
                description="One row per utterance of every archived transcript (JSON Lines)",
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name=PARTITION, type="string")],
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    f"projection.{PARTITION}.type": "date",
                    f"projection.{PARTITION}.format": "yyyy-MM-dd",
                    f"projection.{PARTITION}.range": f"{PROJECTION_START},NOW",
                    f"projection.{PARTITION}.interval": "1",
                    f"projection.{PARTITION}.interval.unit": "DAYS",
                    "storage.location.template": f"{location}{PARTITION}=${{{PARTITION}}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name=name, type=kind) for name, kind in COLUMNS],
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "true"},
                    ),
                ),
            ),
        )
        self.table.add_dependency(self.database)

        bucket.add_lifecycle_rule(
            id="ExpireAthenaResults",
            prefix=RESULTS_PREFIX,
            expiration=Duration.days(RESULTS_RETENTION_DAYS),
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=self.workgroup_name,
            description="meeting-vault search (meeting-vault search)",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{bucket.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS" if use_kms else "SSE_S3",
                        kms_key=bucket.encryption_key.key_arn if use_kms and bucket.encryption_key else None,
                    ),
                ),
            ),
        )
