"""API Gateway's account logging role: a stage with logging deploys in an account whose
``cloudwatchRoleArn`` is empty (the custom resource sets the stack's role first), and an account
that has a role keeps it (the custom resource only sets an empty one, and Delete changes nothing)."""

from __future__ import annotations

from typing import Any

import pytest

from infra import api_logging_role_handler as setter
from tests.infra.conftest import Synthesized

ROLE = "arn:aws:iam::123456789012:role/meeting-vault-apigw-logs"
THEIRS = "arn:aws:iam::123456789012:role/someone-elses-logging-role"


class BadRequestException(Exception):
    pass


class FakeApiGateway:
    """get_account / update_account over one account setting; refuses the first ``refusals`` sets
    (a new role API Gateway cannot assume yet)."""

    class exceptions:
        BadRequestException = BadRequestException

    def __init__(self, role_arn: str | None = None, refusals: int = 0) -> None:
        self.role_arn = role_arn
        self.refusals = refusals
        self.updates: list[list[dict[str, str]]] = []

    def get_account(self) -> dict[str, Any]:
        return {"throttleSettings": {}} | ({"cloudwatchRoleArn": self.role_arn} if self.role_arn else {})

    def update_account(self, *, patchOperations: list[dict[str, str]]) -> dict[str, Any]:
        self.updates.append(patchOperations)
        if self.refusals:
            self.refusals -= 1
            raise BadRequestException("The role ARN does not have required permissions set to API Gateway")
        (operation,) = patchOperations
        assert (operation["op"], operation["path"]) == ("replace", "/cloudwatchRoleArn")
        self.role_arn = operation["value"]
        return self.get_account()


def event(request_type: str) -> dict[str, Any]:
    return {"RequestType": request_type, "ResourceProperties": {"ServiceToken": "arn", "RoleArn": ROLE}}


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_an_empty_setting_gets_the_stacks_role(request_type: str) -> None:
    client = FakeApiGateway(role_arn=None)
    assert setter.apply(event(request_type), client, sleep=lambda _: None) == {"RoleArn": ROLE}
    assert client.role_arn == ROLE


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_a_role_already_set_is_kept(request_type: str) -> None:
    client = FakeApiGateway(role_arn=THEIRS)
    assert setter.apply(event(request_type), client) == {"RoleArn": THEIRS}
    assert client.role_arn == THEIRS
    assert client.updates == []


@pytest.mark.parametrize("current", [None, ROLE, THEIRS])
def test_delete_changes_nothing(current: str | None) -> None:
    """Other APIs in the region may log with the role by then (and it is retained)."""
    client = FakeApiGateway(role_arn=current)
    assert setter.apply(event("Delete"), client) == {}
    assert client.role_arn == current
    assert client.updates == []


def test_a_role_not_yet_assumable_is_set_again_until_it_is() -> None:
    client = FakeApiGateway(role_arn=None, refusals=2)
    waits: list[float] = []
    assert setter.ensure_role(client, ROLE, sleep=waits.append) == ROLE
    assert len(client.updates) == 3
    assert waits == [setter.SET_RETRY_SECONDS] * 2


def test_a_role_never_accepted_fails_the_resource() -> None:
    client = FakeApiGateway(role_arn=None, refusals=setter.SET_ATTEMPTS)
    with pytest.raises(BadRequestException):
        setter.ensure_role(client, ROLE, sleep=lambda _: None)
    assert client.role_arn is None


def test_the_inline_source_fits_cloudformations_zipfile_limit() -> None:
    assert len(setter.__loader__.get_source(setter.__name__) or "") <= 4096  # type: ignore[union-attr]


# -- the template --------------------------------------------------------------------------------
def test_by_default_the_stage_waits_for_the_account_role(synthesized: Synthesized) -> None:
    account_logging = synthesized.stack.ingest.account_logging
    assert account_logging is not None
    (setting_id,) = synthesized.template.find_resources("Custom::ApiGatewayAccountLoggingRole")
    assert setting_id == synthesized.logical_id(account_logging.setting)
    setting = synthesized.resources[setting_id]["Properties"]
    role_id = synthesized.logical_id(account_logging.role)
    assert setting["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert setting["ServiceToken"] == {
        "Fn::GetAtt": [synthesized.logical_id(account_logging.function), "Arn"]
    }
    (stage,) = synthesized.template.find_resources("AWS::ApiGateway::Stage").values()
    assert setting_id in stage["DependsOn"]
    assert stage["Properties"]["MethodSettings"][0]["LoggingLevel"] == "ERROR"  # what needs the role
    assert synthesized.template.find_resources("AWS::ApiGateway::Account") == {}


def test_the_offered_role_is_api_gateways_and_outlives_the_stack(synthesized: Synthesized) -> None:
    account_logging = synthesized.stack.ingest.account_logging
    assert account_logging is not None
    role = synthesized.resources[synthesized.logical_id(account_logging.role)]
    assert role["DeletionPolicy"] == role["UpdateReplacePolicy"] == "Retain"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    (managed,) = role["Properties"]["ManagedPolicyArns"]
    assert "service-role/AmazonAPIGatewayPushToCloudWatchLogs" in str(managed)


def test_the_setter_may_read_and_set_the_account_setting_and_pass_that_role_only(
    synthesized: Synthesized,
) -> None:
    account_logging = synthesized.stack.ingest.account_logging
    assert account_logging is not None
    function = synthesized.resources[synthesized.logical_id(account_logging.function)]["Properties"]
    role_id = function["Role"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]
    assert "ManagedPolicyArns" not in role["Properties"]
    attached = [
        r
        for r in synthesized.resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    assert attached == []
    (policy,) = role["Properties"]["Policies"]
    statements = {
        tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s["Resource"]
        for s in policy["PolicyDocument"]["Statement"]
    }
    account = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":apigateway:", {"Ref": "AWS::Region"}, "::/account"],
        ]
    }
    assert statements == {
        ("apigateway:GET", "apigateway:PATCH"): account,
        ("iam:PassRole",): {"Fn::GetAtt": [synthesized.logical_id(account_logging.role), "Arn"]},
        ("logs:CreateLogStream", "logs:PutLogEvents"): {
            "Fn::GetAtt": [function["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]
        },
    }
    assert all(s["Effect"] == "Allow" for s in policy["PolicyDocument"]["Statement"])
    assert function["Handler"] == "index.handler"
    assert "ZipFile" in function["Code"]
