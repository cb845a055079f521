"""CDK entry point (``cdk.json``: ``python3 -m infra.app``): validate the context, build the Lambda
assets (no Docker), build the stack, run cdk-nag AwsSolutions over it."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.lambda_assets import LambdaAssetDirs, build_lambda_assets
from infra.lambda_defaults import RUNTIME_PYTHON_VERSION
from infra.settings import ContextError, DeploySettings
from infra.stack import MeetingVaultStack


def build_app(app: cdk.App, *, assets: LambdaAssetDirs | None = None) -> MeetingVaultStack:
    """Everything but synthesis; tests pass stub ``assets`` to skip the wheel download."""
    settings = DeploySettings.from_context(app.node.try_get_context)
    assets = assets or build_lambda_assets(python_version=RUNTIME_PYTHON_VERSION)
    stack = MeetingVaultStack(
        app,
        settings.stack_name,
        settings=settings,
        assets=assets,
        description="meeting-vault: archive Cloudflare RealtimeKit meetings into S3",
        # Environment-agnostic: the CLI's account and region at deploy time.
    )
    # cdk-nag v3 is a policy-validation plugin: any unacknowledged finding fails `cdk synth`.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stack


def main() -> None:
    app = cdk.App()
    try:
        build_app(app)
    except ContextError as error:
        sys.exit(str(error))
    app.synth()


if __name__ == "__main__":
    main()
