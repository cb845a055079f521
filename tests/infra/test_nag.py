"""cdk-nag AwsSolutions: no unacknowledged finding, and every acknowledgment says why."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from tests.infra.conftest import Synthesized

MIN_REASON_LENGTH = 40  # a specific reason, not "ok" or "not needed"


def _findings(stack: Any) -> list[str]:
    report = AwsSolutionsChecks(verbose=True).validate_scope(stack)
    return [
        f"{violation.severity} {violation.rule_name}: {violation.description or ''} at "
        + ", ".join(str(resource.construct_path) for resource in violation.violating_resources)
        for violation in report.violations
    ]


def _acknowledgments(root: IConstruct) -> dict[str, str]:
    found: dict[str, str] = {}
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule_id, reason in dict(entry.data).items():
                    found[f"{construct.node.path} {rule_id}"] = reason
    return found


@pytest.mark.parametrize("variant", ["synthesized", "synthesized_with_options"])
def test_no_unacknowledged_errors_or_warnings(variant: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(variant)
    assert _findings(synth.stack) == []


def test_every_acknowledgment_has_a_specific_reason(synthesized: Synthesized) -> None:
    acknowledgments = _acknowledgments(synthesized.stack)
    assert acknowledgments, "the stack acknowledges findings (APIG4 at least)"
    vague = {where: reason for where, reason in acknowledgments.items() if len(reason) < MIN_REASON_LENGTH}
    assert vague == {}


def test_signature_based_auth_is_what_acknowledges_apig4(synthesized: Synthesized) -> None:
    reasons = [r for where, r in _acknowledgments(synthesized.stack).items() if "AwsSolutions-APIG4" in where]
    assert reasons
    assert all("signature" in reason for reason in reasons)


def test_older_runtime_is_acknowledged_on_every_function_for_bytecode(synthesized: Synthesized) -> None:
    """AwsSolutions-L1 (latest runtime) is accepted on our functions only, and for the bytecode;
    the inline custom resource function runs on the latest runtime."""
    inline = synthesized.stack.ingest.account_logging.function
    functions = [
        c for c in synthesized.stack.node.find_all() if isinstance(c, lambda_.Function) and c is not inline
    ]
    assert functions
    acknowledgments = _acknowledgments(synthesized.stack)
    l1 = {
        where.split(" ")[0]: reason
        for where, reason in acknowledgments.items()
        if where.endswith("AwsSolutions-L1")
    }
    assert set(l1) == {function.node.path for function in functions}
    assert all("bytecode" in reason and "cold start" in reason for reason in l1.values())
