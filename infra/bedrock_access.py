"""Least privilege for bedrock summary mode: ``bedrock:InvokeModel`` (the action the Converse API is
authorized with) on the configured model only.

- A foundation-model id (``anthropic.claude-...``): that model's ARN in the stack's region.
- A cross-region inference profile (``us.``/``eu.``/``apac.``/``jp.``/``au.``/``ca.``/``us-gov.``/
  ``global.`` + model id): the profile's ARN in the stack's region, plus the model's ARN in the
  regions the profile routes to, usable only through that profile (condition
  ``bedrock:InferenceProfileArn``). The destination regions are AWS's to change, so that ARN has a
  region wildcard (acknowledged for cdk-nag with this reason)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

_PROFILE = re.compile(r"^(?P<geo>us|us-gov|eu|apac|jp|au|ca|global)\.(?P<model>[\w.:-]+)$")


@dataclass(frozen=True)
class BedrockModel:
    model_id: str
    profile_geo: str | None  # None: a plain foundation-model id
    foundation_model_id: str

    @classmethod
    def parse(cls, model_id: str) -> BedrockModel:
        match = _PROFILE.match(model_id)
        if match:
            return cls(model_id, match["geo"], match["model"])
        return cls(model_id, None, model_id)


def foundation_model_arn(model_id: str, *, region: str = Aws.REGION) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{region}::foundation-model/{model_id}"


def inference_profile_arn(profile_id: str) -> str:
    return f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:inference-profile/{profile_id}"


def invoke_model_statements(model_id: str) -> list[iam.PolicyStatement]:
    model = BedrockModel.parse(model_id)
    if model.profile_geo is None:
        return [
            iam.PolicyStatement(
                sid="InvokeSummaryModel",
                actions=["bedrock:InvokeModel"],
                resources=[foundation_model_arn(model.foundation_model_id)],
            )
        ]
    profile = inference_profile_arn(model.model_id)
    routed = [foundation_model_arn(model.foundation_model_id, region="*")]
    if model.profile_geo == "global":
        # Global profiles authorize the model with an empty region in its ARN.
        routed.append(foundation_model_arn(model.foundation_model_id, region=""))
    return [
        iam.PolicyStatement(sid="InvokeSummaryProfile", actions=["bedrock:InvokeModel"], resources=[profile]),
        iam.PolicyStatement(
            sid="InvokeSummaryModelThroughProfile",
            actions=["bedrock:InvokeModel"],
            resources=routed,
            conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile}},
        ),
    ]
