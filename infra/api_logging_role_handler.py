"""Custom resource (inline Lambda): give API Gateway's account-wide CloudWatch role setting the
stack's role only when the account has none, so a fresh account can deploy a logging stage and
an account that has one keeps it. Delete leaves the setting: other APIs may log with it."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

PHYSICAL_ID = "apigateway-account-cloudwatch-role"
SET_ATTEMPTS = 10  # a role created seconds ago is not yet assumable by API Gateway everywhere
SET_RETRY_SECONDS = 6.0


def ensure_role(client: Any, role_arn: str, *, sleep: Callable[[float], None] = time.sleep) -> str:
    """The account's role after the call: the one already set, else ``role_arn``."""
    current = client.get_account().get("cloudwatchRoleArn")
    if current:
        return str(current)
    patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}]
    for attempt in range(1, SET_ATTEMPTS + 1):
        try:
            client.update_account(patchOperations=patch)
            return role_arn
        except client.exceptions.BadRequestException:
            if attempt == SET_ATTEMPTS:
                raise
            sleep(SET_RETRY_SECONDS)
    return role_arn


def apply(
    event: dict[str, Any], client: Any, *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, str]:
    if event["RequestType"] == "Delete":
        return {}
    return {"RoleArn": ensure_role(client, event["ResourceProperties"]["RoleArn"], sleep=sleep)}


def handler(event: dict[str, Any], context: Any) -> None:
    status, reason, data = "SUCCESS", "", {}
    try:
        import boto3

        data = apply(event, boto3.client("apigateway"))
    except Exception as error:  # noqa: BLE001 - reported to CloudFormation, which fails the deploy
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"see {context.log_stream_name}",
            "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https response URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - as above
        pass
