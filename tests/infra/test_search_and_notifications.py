"""The search index and session.archived in the template: the Glue table over index/utterances/ with the columns the
SQL uses, the Athena workgroup writing encrypted results to a prefix that a lifecycle rule expires."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from shared.search.index import COLUMNS
from tests.infra.conftest import Synthesized, synthesize


def test_glue_table_over_the_partitioned_index(synthesized: Synthesized) -> None:
    [table] = [r for r in synthesized.resources.values() if r["Type"] == "AWS::Glue::Table"]
    table_input = table["Properties"]["TableInput"]
    assert table_input["Name"] == "utterances"
    assert [c["Name"] for c in table_input["PartitionKeys"]] == ["date"]
    descriptor = table_input["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == list(COLUMNS)
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    parameters = table_input["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.date.format"] == "yyyy-MM-dd"
    template = parameters["storage.location.template"]["Fn::Join"][1]
    assert template[-1] == "/index/utterances/date=${date}/"
    synthesized.template.has_resource_properties(
        "AWS::Glue::Database", {"DatabaseInput": {"Name": "meetingvault_search"}}
    )


def test_athena_workgroup_results_expire(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": "MeetingVault-search",
            "WorkGroupConfiguration": Match.object_like(
                {
                    "EnforceWorkGroupConfiguration": True,
                    "BytesScannedCutoffPerQuery": 10 * 1024**3,
                    "ResultConfiguration": {
                        "OutputLocation": Match.any_value(),
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    },
                }
            ),
        },
    )
    [bucket] = [
        r
        for r in synthesized.resources.values()
        if r["Type"] == "AWS::S3::Bucket" and r["Properties"].get("VersioningConfiguration")
    ]
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireAthenaResults"]["Prefix"] == "athena-results/"
    assert rules["ExpireAthenaResults"]["ExpirationInDays"] == 7
    assert synthesized.outputs["SearchWorkGroup"]["Value"] == "MeetingVault-search"
    assert synthesized.outputs["SearchDatabase"]["Value"] == "meetingvault_search"


def test_kms_archive_encrypts_results_with_its_key(synthesized_with_options: Synthesized) -> None:
    synthesized_with_options.template.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "WorkGroupConfiguration": Match.object_like(
                {
                    "ResultConfiguration": {
                        "OutputLocation": Match.any_value(),
                        "EncryptionConfiguration": {
                            "EncryptionOption": "SSE_KMS",
                            "KmsKey": Match.any_value(),
                        },
                    }
                }
            )
        },
    )


def test_session_archived_reaches_the_optional_topic(synthesized: Synthesized) -> None:
    assert "SessionArchivedTopicArn" not in synthesized.outputs
    for resource in synthesized.resources.values():
        if resource["Type"] == "AWS::Lambda::Function" and "SESSIONS_TABLE" in str(resource):
            variables = resource["Properties"]["Environment"]["Variables"]
            assert "EVENT_BUS_NAME" in variables  # every consumer and the sweep can publish it


def test_session_archived_topic_setting(tmp_path_factory: pytest.TempPathFactory) -> None:
    made = synthesize(tmp_path_factory.mktemp("topic-assets"), {"sessionArchivedTopic": "true"})
    made.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"source": ["meeting-vault"], "detail-type": ["session.archived"]},
            "Targets": [Match.object_like({"Arn": {"Ref": Match.string_like_regexp("SessionArchived")}})],
        },
    )
    assert "SessionArchivedTopicArn" in made.outputs
