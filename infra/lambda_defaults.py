"""Defaults every Lambda function of the stack shares, in one place.

Change the runtime here and the dependency layer is rebuilt for it (``lambda_assets`` reads
``RUNTIME_PYTHON_VERSION``).

The runtime is Python 3.11, not the newest Lambda offers: it is the interpreter the test suite and
the build run on, so the build can ship bytecode compiled by it (``lambda_assets.bytecode_plan``),
which saves every cold start from compiling its imports (~0.3 s for the ingest function, measured).
cdk-nag AwsSolutions-L1 ("latest runtime") is acknowledged on each function for that reason. Move
the runtime when the build toolchain moves to a newer CPython."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_11
RUNTIME_PYTHON_VERSION = RUNTIME.name.removeprefix("python")  # "3.11": the wheels and bytecode target it
RUNTIME_REASON = (
    "Python 3.11 is the interpreter the test suite and the asset build run on, so the assets ship "
    "bytecode it compiled (unchecked-hash .pyc); that removes ~0.3 s of compilation from every cold "
    "start (ingest first request 0.63 s -> 0.34 s, measured). No interpreter for a newer runtime is "
    "available to the build; move the runtime when the build toolchain moves."
)
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
METRICS_NAMESPACE = "MeetingVault"
SERVICE_PREFIX = "meeting-vault"


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between our functions; everything else comes from this module."""

    name: str  # short name: "ingest", "sessions", ...; also the Powertools service suffix
    handler: str  # e.g. "functions.ingest.handler.handler"
    timeout_seconds: int
    memory_mb: int
    description: str
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LambdaPackaging:
    """The two pre-built assets every function uses (see ``infra.lambda_assets``)."""

    code: lambda_.Code
    layer: lambda_.ILayerVersion


def powertools_environment(*, service: str, log_level: str) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": f"{SERVICE_PREFIX}-{service}",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # No pydantic plugins are installed; skipping their entry-point scan shortens cold starts.
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    spec: FunctionSpec,
    packaging: LambdaPackaging,
    log_level: str,
    reserved_concurrency: int | None = None,
) -> lambda_.Function:
    """A function with the house defaults: ARM64, the runtime above (AwsSolutions-L1 acknowledged),
    JSON logs to a log group with a retention, X-Ray tracing, explicit timeout and memory."""
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=LOG_RETENTION,
        # Logs are operational, not the archive: they go with the stack.
        removal_policy=RemovalPolicy.DESTROY,
    )
    function = lambda_.Function(
        scope,
        construct_id,
        description=spec.description[:256],
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=spec.handler,
        code=packaging.code,
        layers=[packaging.layer],
        timeout=Duration.seconds(spec.timeout_seconds),
        memory_size=spec.memory_mb,  # MB
        tracing=lambda_.Tracing.ACTIVE,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        environment={**powertools_environment(service=spec.name, log_level=log_level), **spec.environment},
        reserved_concurrent_executions=reserved_concurrency,
    )
    acknowledge(function, "L1", RUNTIME_REASON)
    return function
