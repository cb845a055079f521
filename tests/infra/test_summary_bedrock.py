"""bedrock summary mode in the synthesized template: only the transcripts consumer may invoke a model,
and only the configured one; the other modes grant no Bedrock access at all."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.fanout.routing import TRANSCRIPTS
from tests.infra.conftest import Synthesized, synthesize

SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
PROFILE = "us.anthropic.claude-sonnet-4-6"


@pytest.fixture(scope="module")
def with_model(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """A plain foundation-model id."""
    return synthesize(
        tmp_path_factory.mktemp("bedrock-model"),
        {"summaryMode": "bedrock", "bedrockModelId": SONNET, "summaryType": "sales_call"},
    )


@pytest.fixture(scope="module")
def with_profile(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The default model id: a cross-region inference profile."""
    return synthesize(tmp_path_factory.mktemp("bedrock-profile"), {"summaryMode": "bedrock"})


def bedrock_statements(synth: Synthesized) -> dict[str, list[dict[str, Any]]]:
    """Role logical id -> its statements that mention bedrock."""
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in synth.resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if "bedrock" in json.dumps(statement["Action"]):
                for role in resource["Properties"]["Roles"]:
                    found.setdefault(role["Ref"], []).append(statement)
    return found


def transcripts_role(synth: Synthesized) -> str:
    role = synth.stack.workers.consumers[TRANSCRIPTS.name].function.role
    return str(synth.stack.get_logical_id(role.node.default_child))


def arn(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


def test_foundation_model_grant_is_invoke_model_on_that_model_only(with_model: Synthesized) -> None:
    statements = bedrock_statements(with_model)
    assert list(statements) == [transcripts_role(with_model)]
    (statement,) = statements[transcripts_role(with_model)]
    assert statement["Action"] == "bedrock:InvokeModel"
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == arn(
        "arn:", {"Ref": "AWS::Partition"}, ":bedrock:", {"Ref": "AWS::Region"}, f"::foundation-model/{SONNET}"
    )
    assert "Condition" not in statement


def test_inference_profile_grant_names_the_profile_and_its_model_through_it(
    with_profile: Synthesized,
) -> None:
    statements = bedrock_statements(with_profile)
    assert list(statements) == [transcripts_role(with_profile)]
    profile_arn = arn(
        "arn:",
        {"Ref": "AWS::Partition"},
        ":bedrock:",
        {"Ref": "AWS::Region"},
        ":",
        {"Ref": "AWS::AccountId"},
        f":inference-profile/{PROFILE}",
    )
    assert statements[transcripts_role(with_profile)] == [
        {
            "Action": "bedrock:InvokeModel",
            "Effect": "Allow",
            "Resource": profile_arn,
            "Sid": "InvokeSummaryProfile",
        },
        {
            "Action": "bedrock:InvokeModel",
            "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profile_arn}},
            "Effect": "Allow",
            "Resource": arn(
                "arn:", {"Ref": "AWS::Partition"}, ":bedrock:*::foundation-model/anthropic.claude-sonnet-4-6"
            ),
            "Sid": "InvokeSummaryModelThroughProfile",
        },
    ]


def test_bedrock_settings_reach_the_transcripts_consumer_only(with_model: Synthesized) -> None:
    for name, consumer in with_model.stack.workers.consumers.items():
        variables = with_model.resources[with_model.logical_id(consumer.function)]["Properties"][
            "Environment"
        ]["Variables"]
        if name == TRANSCRIPTS.name:
            assert variables["SUMMARY_MODE"] == "bedrock"
            assert variables["BEDROCK_MODEL_ID"] == SONNET
            assert variables["SUMMARY_TYPE"] == "sales_call"
        else:
            assert "BEDROCK_MODEL_ID" not in variables


def test_other_modes_grant_no_bedrock_access(
    synthesized: Synthesized, synthesized_with_options: Synthesized
) -> None:
    assert bedrock_statements(synthesized) == {}  # realtimekit, the default
    assert bedrock_statements(synthesized_with_options) == {}  # off
