"""cdk-nag (v3) acknowledgments: every one names the rule (and finding) and says why.

cdk-nag v3 runs as a CDK policy-validation plugin; an acknowledgment on a construct covers the
resources below it. Rules that report several findings (IAM4, IAM5) are acknowledged per finding:
``AwsSolutions-IAM5[Resource::*]``."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str, *, findings: Iterable[str] = ()) -> None:
    """Acknowledge ``AwsSolutions-<rule>`` (or each ``[finding]`` of it) on ``scope``."""
    findings = list(findings)
    rule_ids = [f"AwsSolutions-{rule}[{finding}]" for finding in findings] or [f"AwsSolutions-{rule}"]
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))
