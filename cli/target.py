"""Where the pipeline is: a deployed stack (its CloudFormation outputs) or local mode.

``--stack NAME`` (default ``MeetingVault``, the CDK app's default stack name) reads the stack's
outputs with ``describe_stacks``; ``--profile`` picks the AWS named profile. Queues are read from the
outputs generically (every ``<Name>QueueUrl`` / ``<Name>DeadLetterQueueUrl`` pair, e.g. the reconcile
sweep's), so a queue the stack adds shows in ``status`` and ``redrive`` without a CLI change. ``--local`` or ``--endpoint URL`` (env ``MEETING_VAULT_ENDPOINT``)
targets ``meeting-vault dev``: the resource names of ``LocalNames`` on the AWS endpoint it prints."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from cli.errors import CliError
from cli.options import DEFAULT_STACK_NAME, ENDPOINT_ENV
from local.names import REGION as LOCAL_REGION
from local.names import WEBHOOK_PATH, LocalNames
from shared.fanout.routing import RECONCILE, ROUTES

DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:5000"  # `meeting-vault dev --aws-port` default
DEFAULT_LOCAL_WEBHOOK_URL = f"http://127.0.0.1:8080{WEBHOOK_PATH}"  # `meeting-vault dev --port` default
LOCAL_ACCOUNT_ID = "local-account"  # what local mode gives its consumers (LocalStack.environment)
LOCAL_APP_ID = "local-app"


def output_label(route_name: str) -> str:
    """``recordings`` -> ``Recordings``, as the stack names its per-queue outputs."""
    return route_name.capitalize()


@dataclass
class Target:
    """The resources the CLI works on and how to reach them."""

    description: str  # "stack MeetingVault (eu-west-1)" or "local mode at http://127.0.0.1:5000"
    bucket: str
    bus: str
    sessions_table: str
    webhook_url: str
    api_token_secret: str | None
    queue_urls: dict[str, str]
    dlq_urls: dict[str, str]
    local: bool = False
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    consumer_function: str | None = None  # a consumer whose environment names the RealtimeKit App
    search_workgroup: str | None = None  # Athena workgroup and Glue database of `search`
    search_database: str | None = None
    idempotency_table: str | None = None
    relay_table: str | None = None  # live relays (absent from stacks deployed before them)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    # One session for all the target's clients: they share its loader (each model parsed once).
    _session: boto3.session.Session | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """Identifies the target in checkpoint files."""
        return f"{self.description}|{self.bucket}"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session(profile_name=None if self.local else self.profile)
            self._clients[service] = _client(
                service,
                endpoint_url=self.endpoint_url,
                region=self.region,
                local=self.local,
                session=self._session,
            )
        return self._clients[service]


def _client(
    service: str,
    *,
    endpoint_url: str | None,
    region: str | None,
    local: bool,
    session: boto3.session.Session | None = None,
) -> Any:
    options: dict[str, Any] = {"config": Config(retries={"mode": "standard", "max_attempts": 3})}
    if region:
        options["region_name"] = region
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    session = session or boto3.session.Session()
    if local:
        options.setdefault("region_name", LOCAL_REGION)
        if session.get_credentials() is None:  # moto accepts any credentials
            options["aws_access_key_id"] = "testing"
            options["aws_secret_access_key"] = "testing"  # noqa: S105 - moto's dummy credentials
    return session.client(service, **options)  # type: ignore[call-overload]


def resolve_target(
    *,
    stack: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    local: bool = False,
    endpoint: str | None = None,
    webhook_url: str | None = None,
) -> Target:
    """The target the options name. ``endpoint`` (or env ``MEETING_VAULT_ENDPOINT``) means local
    mode unless a stack is named too (an AWS endpoint override for a deployed-like stack)."""
    endpoint = endpoint or os.environ.get(ENDPOINT_ENV) or None
    if local or (endpoint and not stack):
        return local_target(endpoint or DEFAULT_LOCAL_ENDPOINT, webhook_url=webhook_url)
    return stack_target(
        stack or DEFAULT_STACK_NAME,
        region=region,
        profile=profile,
        endpoint=endpoint,
        webhook_url=webhook_url,
    )


def local_target(endpoint: str, *, webhook_url: str | None = None, names: LocalNames | None = None) -> Target:
    names = names or LocalNames()
    target = Target(
        description=f"local mode at {endpoint}",
        bucket=names.bucket,
        bus=names.bus,
        sessions_table=names.sessions_table,
        idempotency_table=names.idempotency_table,
        webhook_url=webhook_url or DEFAULT_LOCAL_WEBHOOK_URL,
        api_token_secret=names.api_token_secret,
        queue_urls={},
        dlq_urls={},
        local=True,
        endpoint_url=endpoint,
        region=LOCAL_REGION,
        relay_table=names.relay_table,
    )
    sqs = target.client("sqs")
    for route in ROUTES:
        target.queue_urls[route.name] = _queue_url(sqs, names.queue(route.name))
        target.dlq_urls[route.name] = _queue_url(sqs, names.dlq(route.name))
    # Any other queue local mode provisions with the same naming (e.g. the reconcile sweep's).
    for url in sqs.list_queues(QueueNamePrefix=f"{names.prefix}-").get("QueueUrls", []):
        name = str(url).rsplit("/", 1)[-1].removeprefix(f"{names.prefix}-")
        if name.endswith("-dlq"):
            target.dlq_urls.setdefault(name.removesuffix("-dlq"), str(url))
        else:
            target.queue_urls.setdefault(name, str(url))
    return target


def _queue_url(sqs: Any, name: str) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if "NonExistentQueue" in str(exc.response.get("Error", {}).get("Code", "")):
            raise CliError(
                f"queue {name} does not exist at the local endpoint: is `meeting-vault dev` running there?"
            ) from exc
        raise


def stack_target(
    stack_name: str,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint: str | None = None,
    webhook_url: str | None = None,
) -> Target:
    session = boto3.session.Session(profile_name=profile)
    cloudformation = _client(
        "cloudformation", endpoint_url=endpoint, region=region, local=False, session=session
    )
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if "does not exist" in message:
            where = region or cloudformation.meta.region_name
            raise CliError(
                f"stack {stack_name} not found in {where}: deploy it with `cdk deploy`, or pass "
                "--stack NAME / --region, or --local for local mode"
            ) from exc
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}

    def need(key: str) -> str:
        if key not in outputs:
            raise CliError(
                f"stack {stack_name} has no output {key}: is it a meeting-vault stack, fully deployed?"
            )
        return str(outputs[key])

    queue_urls = {r.name: need(f"{output_label(r.name)}QueueUrl") for r in ROUTES}
    dlq_urls = {r.name: need(f"{output_label(r.name)}DeadLetterQueueUrl") for r in ROUTES}
    # The reconcile route and its schedule's DLQ (stacks deployed before these outputs lack them).
    if "ReconcileQueueUrl" in outputs and "ReconcileDeadLetterQueueUrl" in outputs:
        queue_urls[RECONCILE.name] = outputs["ReconcileQueueUrl"]
        dlq_urls[RECONCILE.name] = outputs["ReconcileDeadLetterQueueUrl"]
        if "ReconcileScheduleDeadLetterQueueUrl" in outputs:
            queue_urls["reconcile-schedule"] = outputs["ReconcileQueueUrl"]
            dlq_urls["reconcile-schedule"] = outputs["ReconcileScheduleDeadLetterQueueUrl"]
    queue_urls, dlq_urls = queues_of(outputs, queue_urls, dlq_urls)
    return Target(
        description=f"stack {stack_name} ({cloudformation.meta.region_name})",
        bucket=need("ArchiveBucketName"),
        bus=need("EventBusName"),
        sessions_table=need("SessionsTableName"),
        webhook_url=webhook_url or need("WebhookUrl"),
        api_token_secret=outputs.get("ApiTokenSecretArn"),
        queue_urls=queue_urls,
        dlq_urls=dlq_urls,
        endpoint_url=endpoint,
        region=region or cloudformation.meta.region_name,
        profile=profile,
        consumer_function=outputs.get("RecordingsFunctionName"),
        search_workgroup=outputs.get("SearchWorkGroup"),
        search_database=outputs.get("SearchDatabase"),
        idempotency_table=outputs.get("IdempotencyTableName"),
        _session=session,
        relay_table=outputs.get("RelayTableName"),
    )


def queues_of(
    outputs: dict[str, str], queue_urls: dict[str, str], dlq_urls: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The routes' queues first, then every other ``<Name>QueueUrl`` / ``<Name>DeadLetterQueueUrl``
    output (a DLQ without a queue output is still watched; redrive then moves to its source)."""
    queues, dlqs = dict(queue_urls), dict(dlq_urls)
    known = {
        name.replace("-", "") for name in [*queues, *dlqs]
    }  # "reconcile-schedule" is ReconcileSchedule...
    for key, value in sorted(outputs.items()):
        if key.removesuffix("DeadLetterQueueUrl").removesuffix("QueueUrl").lower() in known:
            continue
        if key.endswith("DeadLetterQueueUrl"):
            dlqs.setdefault(key.removesuffix("DeadLetterQueueUrl").lower(), value)
        elif key.endswith("QueueUrl"):
            queues.setdefault(key.removesuffix("QueueUrl").lower(), value)
    return queues, dlqs
