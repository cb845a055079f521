"""An in-process pipeline for fault injection: moto (S3, SQS, EventBridge, DynamoDB, Secrets Manager)
provisioned exactly as local mode does, the ingest handler called with API Gateway proxy events,
and a pump that plays Lambda's SQS event source mapping for every consumer queue, including the
reconcile queue (processed only once the other queues are idle: its delivery delay).

Files are served over loopback by ``tests.support.http_source.HttpSource`` (faults per file: drops,
error statuses) and RealtimeKit's REST API by the stand-in (fresh URLs, 404 after retention).
Both servers live for the whole test session, so every run sends byte-identical webhook bodies and
runs can be compared object by object."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.lambda_runtime import Handler, invoke, load_handler
from local.pollers import sqs_event
from local.sample_meeting import SAMPLE_APP_ID, SampleMeeting
from local.signing import WebhookSigner
from local.stack import LocalNames, ProvisionedResources, provision_resources
from local.standin import RealtimeKitStandin
from shared import wiring
from shared.archive.keys import session_prefix
from shared.fanout.routing import INGEST_HANDLER, REBUILDS, RECONCILE, ROUTES, ConsumerRoute
from tests.support.http_source import HttpSource
from tests.support.webhooks import api_event

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_TOKEN = "test-token"  # the stand-in's placeholder
FILE_PATHS = {name: f"/files/{name}" for name in SampleMeeting().files()}


class WorkerKilled(BaseException):
    """Stands for a Lambda that dies mid-invocation (timeout, out of memory): not an ``Exception``,
    so nothing in the handler (Powertools idempotency included) gets to clean up after it."""


@dataclass
class Servers:
    """Session-wide loopback servers: files (with faults) and the RealtimeKit stand-in (REST)."""

    meeting: SampleMeeting
    signer: WebhookSigner
    files: HttpSource
    standin: RealtimeKitStandin
    rest: Any  # local.standin_rest.StandinRestState

    def webhook_urls(self) -> dict[str, str]:
        return {name: self.files.url(path) for name, path in FILE_PATHS.items()}

    def reset_files(self) -> None:
        """Every file served plainly again (scenarios change faults per file)."""
        for name, (data, ctype) in self.meeting.files().items():
            self.files.serve(FILE_PATHS[name], data, content_type=ctype)
            self.standin.host_file(name, data, ctype)
        self.rest.injected_errors.clear()

    def webhooks(self) -> list[dict[str, Any]]:
        return self.meeting.webhooks(self.webhook_urls())


@dataclass
class Pipeline:
    names: LocalNames
    resources: ProvisionedResources
    reconcile_queue_url: str
    signer: WebhookSigner
    handlers: dict[str, Handler] = field(default_factory=dict)
    ingest: Handler = field(default_factory=lambda: load_handler(INGEST_HANDLER))
    killed: list[tuple[str, str]] = field(default_factory=list)  # (queue url, receipt handle)
    invocations: dict[str, int] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """One client per service for the pipeline's life: the pump asks for one per queue per
        round, and building a client costs more than most moto calls."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)
        return self._clients[service]

    # -- webhooks ---------------------------------------------------------------------------------
    def deliver(self, payload: dict[str, Any] | bytes, *, delivery_id: str | None = None) -> int:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "rtk-signature": self.signer.sign(body),
            "rtk-uuid": delivery_id or str(uuid.uuid4()),
            "rtk-webhook-id": "reliability",
        }
        response = invoke(self.ingest, api_event(body, headers), function_name="ingest", timeout_seconds=10)
        status = int(response["statusCode"])
        self.statuses.append(status)
        return status

    # -- consumers --------------------------------------------------------------------------------
    def _queues(self) -> list[tuple[ConsumerRoute, str]]:
        # The rebuild queue too: the session recorder's requests (window 0 here, no delay).
        return [(route, self.resources.queue_urls[route.name]) for route in (*ROUTES, REBUILDS)]

    def _run(self, route: ConsumerRoute, queue_url: str, messages: list[dict[str, Any]]) -> None:
        sqs = self.client("sqs")
        event = sqs_event(messages, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{route.name}", REGION)
        handler = self.handlers.get(route.name) or load_handler(route.lambda_handler)
        self.invocations[route.name] = self.invocations.get(route.name, 0) + 1
        try:
            result = invoke(handler, event, function_name=route.name, timeout_seconds=route.timeout_seconds)
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except WorkerKilled:
            # The messages stay in flight until their visibility timeout runs out.
            self.killed += [(queue_url, m["ReceiptHandle"]) for m in messages]
            return
        except Exception:  # a function error: Lambda retries the whole batch
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for m in messages:
            if m["MessageId"] in failed:  # visible again at once instead of after the timeout
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )

    def _poll(self, route: ConsumerRoute, queue_url: str) -> bool:
        messages = (
            self.client("sqs")
            .receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(route.batch_size, 10),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
            )
            .get("Messages", [])
        )
        if messages:
            self._run(route, queue_url, messages)
        return bool(messages)

    def pump(self, *, max_rounds: int = 400, reconcile: bool = True) -> None:
        """Run consumers until every queue is empty; the reconcile queue only when the others are
        (``reconcile=False``: its delay has not passed yet)."""
        for _ in range(max_rounds):
            busy = False
            for route, url in self._queues():
                busy = self._poll(route, url) or busy
            if not busy and reconcile:
                busy = self._poll(RECONCILE, self.reconcile_queue_url)
            if not busy:
                return
        raise AssertionError(f"the pipeline did not settle in {max_rounds} rounds")

    def expire_killed(self) -> None:
        """Time passes for the killed invocations: their messages become visible again."""
        sqs = self.client("sqs")
        for queue_url, handle in self.killed:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        self.killed.clear()

    # -- observation ------------------------------------------------------------------------------
    def objects(self, prefix: str = "") -> dict[str, bytes]:
        s3 = self.client("s3")
        found: dict[str, bytes] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.names.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found[obj["Key"]] = s3.get_object(Bucket=self.names.bucket, Key=obj["Key"])["Body"].read()
        return found

    def dead_letters(self) -> dict[str, int]:
        sqs = self.client("sqs")
        urls = dict(self.resources.dlq_urls)
        counts = {}
        for name, url in urls.items():
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            counts[name] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        return {name: n for name, n in counts.items() if n}

    def idempotency_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client("dynamodb").scan(TableName=self.names.idempotency_table)[
            "Items"
        ]
        return items


def provision_reconcile_queue(names: LocalNames, *, delay_seconds: int = 0) -> str:
    """The reconcile route's queue and rule, as the stack makes them (the delay is the pump's)."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    dlq = sqs.create_queue(QueueName=names.dlq(RECONCILE.name))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=names.queue(RECONCILE.name),
        Attributes={
            "DelaySeconds": str(delay_seconds),
            "VisibilityTimeout": str(RECONCILE.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(RECONCILE.max_receive_count)}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"{names.prefix}-{RECONCILE.name}"
    events.put_rule(Name=rule, EventBusName=names.bus, EventPattern=json.dumps(RECONCILE.event_pattern))
    events.put_targets(Rule=rule, EventBusName=names.bus, Targets=[{"Id": RECONCILE.name, "Arn": arn}])
    return str(url)


@contextmanager
def running_pipeline(servers: Servers, *, extra_env: dict[str, str] | None = None) -> Iterator[Pipeline]:
    """A fresh moto account with the pipeline's resources, settings pointing at the servers."""
    names = LocalNames()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "EVENT_BUS_NAME": names.bus,
        "ARCHIVE_BUCKET": names.bucket,
        "SESSIONS_TABLE": names.sessions_table,
        "IDEMPOTENCY_TABLE": names.idempotency_table,
        "WEBHOOK_PUBLIC_KEY_PEM": servers.signer.public_pem(),
        "REALTIMEKIT_APP_IDS": SAMPLE_APP_ID,
        "POWERTOOLS_SERVICE_NAME": "meeting-vault-reliability",
        "POWERTOOLS_METRICS_NAMESPACE": "MeetingVault",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        "DOWNLOAD_HOST_ALLOWLIST": "127.0.0.1",
        "DOWNLOAD_ALLOW_LOOPBACK": "true",
        "REALTIMEKIT_ACCOUNT_ID": "local-account",
        "REALTIMEKIT_APP_ID": "local-app",
        "REALTIMEKIT_API_TOKEN_SECRET_ARN": names.api_token_secret,
        "REALTIMEKIT_API_BASE_URL": servers.standin.api_base_url,
        "REALTIMEKIT_MAX_RETRIES": "0",
        "REBUILD_WINDOW_SECONDS": "0",
        **(extra_env or {}),
    }
    servers.reset_files()
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in env.items():
            patch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "WEBHOOK_PUBLIC_KEY_URL"):
            patch.delenv(name, raising=False)
        resources = provision_resources(
            lambda service: boto3.client(service, region_name=REGION), names, api_token=API_TOKEN
        )
        reconcile_url = provision_reconcile_queue(names)
        patch.setenv("REBUILD_QUEUE_URL", resources.queue_urls[REBUILDS.name])
        wiring.reset()
        try:
            yield Pipeline(names, resources, reconcile_url, servers.signer)
        finally:
            wiring.reset()
            servers.reset_files()


# -- comparing runs ----------------------------------------------------------------------------------
VOLATILE_MANIFEST_FIELDS = ("archived_at",)
# session.json's section that says when, and from which record version, the files were rebuilt:
# the number of rebuilds (so the version) depends on how deliveries and rebuilds interleave.
VOLATILE_MANIFEST_SECTIONS = ("rebuild",)


def normalized(key: str, data: bytes, *, drop_manifest_sections: tuple[str, ...] = ()) -> bytes:
    """Object bytes with the fields that legitimately differ between runs removed: each artifact's
    ``archived_at`` in session.json (the wall-clock time of the download). Nothing else differs:
    event keys and bodies depend only on the body, derived files only on the session's facts; and
    session.json's ``rebuild`` section (when the files were rebuilt, from which record version)."""
    if not key.endswith("/session.json"):
        return data
    manifest = json.loads(data)
    for artifact in manifest.get("artifacts", []):
        for name in VOLATILE_MANIFEST_FIELDS:
            artifact.pop(name, None)
    for section in (*VOLATILE_MANIFEST_SECTIONS, *drop_manifest_sections):
        manifest.pop(section, None)
    return json.dumps(manifest, sort_keys=True).encode()


@dataclass(frozen=True)
class Comparison:
    lost: list[str]  # in the clean run, absent here
    duplicated: list[str]  # here, absent from the clean run (an extra copy or an unexpected file)
    differing: list[str]  # same key, other bytes

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.differing)


def compare(
    clean: dict[str, bytes],
    got: dict[str, bytes],
    *,
    never_sent: set[str] = frozenset(),  # type: ignore[assignment]
    drop_manifest_sections: tuple[str, ...] = (),
) -> Comparison:
    expected = {k: v for k, v in clean.items() if k not in never_sent}
    lost = sorted(set(expected) - set(got))
    duplicated = sorted(set(got) - set(expected))
    differing = sorted(
        key
        for key in set(expected) & set(got)
        if normalized(key, expected[key], drop_manifest_sections=drop_manifest_sections)
        != normalized(key, got[key], drop_manifest_sections=drop_manifest_sections)
    )
    return Comparison(lost, duplicated, differing)


def manifest_duplicates(objects: dict[str, bytes], meeting: SampleMeeting) -> list[str]:
    """Artifact names listed more than once in session.json (a duplicated record)."""
    key = session_prefix(meeting.meeting_id, meeting.session_id) + "session.json"
    names = [a["name"] for a in json.loads(objects[key])["artifacts"]]
    return sorted({n for n in names if names.count(n) > 1})


def settle(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
