"""Fixtures for the infrastructure tests. Synthesis is slow (a Node process behind jsii), so each
stack variant is synthesized once per session; the template tests use stub asset directories and
need no network. Tests marked ``downloads`` build the real Lambda layers from PyPI wheels (cached
under build/lambda, so only the first run downloads)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED_CONTEXT = {"realtimekitAccountId": "test-account-id", "realtimekitAppId": "test-app-id"}
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:meeting-vault/api-token-AbCdEf"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "downloads: builds Lambda layers from PyPI wheels on the first run (cached in build/lambda)",
    )


@dataclass(frozen=True)
class Synthesized:
    stack: Any  # infra.stack.MeetingVaultStack
    template: Any  # aws_cdk.assertions.Template
    resources: dict[str, Any]  # logical id -> resource (the template as JSON)
    outputs: dict[str, Any]

    def logical_id(self, construct: Any) -> str:
        """Logical id of an L2 construct's CloudFormation resource."""
        return str(self.stack.get_logical_id(construct.node.default_child))


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "cdk.json").read_text())["context"])


def _stub_assets(root: Path) -> Any:
    from infra.lambda_assets import LambdaAssetDirs

    (root / "code").mkdir()
    (root / "code" / "placeholder.py").write_text("")
    (root / "layer" / "python").mkdir(parents=True)
    (root / "layer" / "python" / "placeholder.py").write_text("")
    return LambdaAssetDirs(code=root / "code", layer=root / "layer", layer_hash="stub")


def synthesize(tmp_root: Path, extra_context: Mapping[str, Any]) -> Synthesized:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.app import build_app

    # cdk.json's context includes the feature flags: the tests see the template `cdk deploy` sees.
    app = cdk.App(context={**cdk_json_context(), **REQUIRED_CONTEXT, **extra_context})
    stack = build_app(app, assets=_stub_assets(tmp_root))
    # Template.from_stack runs the app's validation plugins too: a cdk-nag finding fails here.
    template = Template.from_stack(stack)
    as_json = template.to_json()
    return Synthesized(stack, template, as_json["Resources"], as_json.get("Outputs", {}))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The default deployment: only the required context keys."""
    return synthesize(tmp_path_factory.mktemp("default-assets"), {})


@pytest.fixture(scope="session")
def synthesized_with_options(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every optional setting turned on: KMS, an existing secret, alarm e-mail, retention."""
    return synthesize(
        tmp_path_factory.mktemp("options-assets"),
        {
            "archiveEncryption": "kms",
            "apiTokenSecretArn": SECRET_ARN,
            "alarmEmail": "ops@example.com",
            "retentionDays": '{"meetings/": 400}',  # as `-c retentionDays=...` passes it: a string
            "maxBodyBytes": "80000",
            "throttleRateLimit": "5",
            "throttleBurstLimit": "10",
            "summaryMode": "off",
        },
    )
