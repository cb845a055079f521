"""Local mode: the whole pipeline on one machine, no AWS account.

moto's server plays AWS (S3, SQS, EventBridge, DynamoDB, Secrets Manager); the same routes as
the CDK stack (``shared.fanout.routing``) connect the bus to the queues; the same handler functions
consume them in-process; a local HTTP endpoint plays API Gateway."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.apigw import LocalApiGateway
from local.archive_http import ArchiveHttpServer
from local.consumer_process import ConsumerProcess, PolledQueue
from local.lambda_runtime import load_handler, set_environments
from local.moto_process import MotoProcess
from local.names import BOT_WEBHOOK_PATH, REGION, WEBHOOK_PATH, LocalNames
from local.pollers import QueuePoller
from local.relay import LocalRelays, provision_relay
from local.sample_meeting import SAMPLE_APP_ID
from shared import wiring
from shared.fanout.routing import (
    BOT_AUDIO,
    BOT_INGEST_HANDLER,
    DLQ_RETENTION_DAYS,
    INGEST_HANDLER,
    REBUILD_WINDOW_LOCAL_SECONDS,
    REBUILDS,
    ROUTES,
    ConsumerRoute,
)
from shared.session.listing import SESSION_INDEX

log = logging.getLogger("meeting_vault.local")


@dataclass
class LocalSettings:
    port: int = 0
    aws_port: int = 0
    archive_port: int = 0  # the archive served over HTTP (session pages)
    host: str = "127.0.0.1"
    public_key_pem: str | None = None
    public_key_url: str | None = None
    realtimekit_api_base: str | None = None
    realtimekit_api_token: str = "local-token"  # noqa: S105 - a placeholder for the stand-in, not a secret
    extra_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "WARNING"
    rebuild_window_seconds: int = REBUILD_WINDOW_LOCAL_SECONDS
    # Live relay legs: short, so that handoffs happen within seconds (deployed: 13 minutes).
    relay_leg_seconds: float = 5.0
    relay_overlap_seconds: float = 1.0
    # The RealtimeKit apps whose webhooks ingest accepts (``--app-id``).
    app_ids: tuple[str, ...] = (SAMPLE_APP_ID,)
    # The meeting-bot endpoint's credentials (``meeting-vault dev --bot-token/--bot-secret``).
    bot_tokens: tuple[str, ...] = ("local-bot-token",)
    bot_signing_secrets: tuple[str, ...] = ()
    # Child processes that poll every consumer queue beside this process's own pollers: each is one
    # more execution environment per function, as Lambda runs several (local.consumer_process).
    consumer_processes: int = 0
    # Webhooks the RealtimeKit endpoint verifies at once, as API Gateway runs several environments
    # of the function (one each here: the function's per-invocation state is per thread).
    ingest_environments: int = 4


class LocalStack:
    """Start with ``start()`` (or as a context manager); ``wait_idle()`` blocks until every
    queue is drained; ``stop()`` shuts everything down."""

    def __init__(self, settings: LocalSettings, names: LocalNames | None = None) -> None:
        if not (settings.public_key_pem or settings.public_key_url):
            raise ValueError("local mode needs a webhook public key (PEM or URL)")
        self.settings = settings
        self.names = names or LocalNames()
        self._moto: MotoProcess | None = None
        self._gateway: LocalApiGateway | None = None
        self._archive_http: ArchiveHttpServer | None = None
        self.pollers: list[QueuePoller] = []
        self.consumer_processes: list[ConsumerProcess] = []
        self.processed_elsewhere: dict[str, int] = {}  # by the consumer processes, once stopped
        # What each consumer process wrote (``local.write_counter``, when asked for), once stopped.
        self.writes_elsewhere: list[dict[str, Any]] = []
        self.relays: LocalRelays | None = None
        self.relay_requests_url = ""
        self.queue_urls: dict[str, str] = {}
        self.dlq_urls: dict[str, str] = {}
        self.aws_endpoint = ""
        self._saved_env: dict[str, str | None] = {}
        self._last_busy_route = ""  # wait_idle asks this queue first
        self._watch: tuple[str, Any] | None = None  # (endpoint, the SQS client wait_idle asks)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalStack:
        # moto's server runs in a child process (local.moto_process): a fresh one per stack, so no
        # stack finds another's tables, and with a core of its own rather than a share of our GIL.
        self._moto = MotoProcess(self.settings.host, self.settings.aws_port).start()
        self.aws_endpoint = self._moto.endpoint
        self._apply_environment()
        wiring.reset()
        self.provision()
        self._set_env("REBUILD_QUEUE_URL", self.queue_urls[REBUILDS.name])
        wiring.reset()
        set_environments("ingest", self.settings.ingest_environments)
        self._gateway = LocalApiGateway(
            load_handler(INGEST_HANDLER),
            host=self.settings.host,
            port=self.settings.port,
            routes={BOT_WEBHOOK_PATH: ("meeting-bot-ingest", load_handler(BOT_INGEST_HANDLER))},
        )
        self._gateway.start()
        s3 = self.client("s3")
        self._archive_http = ArchiveHttpServer(
            lambda: s3, self.names.bucket, host=self.settings.host, port=self.settings.archive_port
        ).start()
        sqs = self.client("sqs")
        polled: list[PolledQueue] = []
        for route in (*ROUTES, REBUILDS):
            url = self.queue_urls[route.name]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            polled.append(PolledQueue(route.name, url, arn))
            poller = QueuePoller(
                route=route,
                handler=load_handler(route.lambda_handler),
                sqs=sqs,
                queue_url=url,
                queue_arn=arn,
                region=REGION,
            )
            poller.start()
            self.pollers.append(poller)
        for _ in range(self.settings.consumer_processes):  # they inherit the environment set above
            self.consumer_processes.append(ConsumerProcess(polled, self.aws_endpoint).start())
        self.relays = LocalRelays(
            sqs=sqs,
            queue_url=self.relay_requests_url,
            leg_seconds=self.settings.relay_leg_seconds,
            overlap_seconds=self.settings.relay_overlap_seconds,
        )
        self.relays.start()
        return self

    def stop(self) -> None:
        if self.relays is not None:
            self.relays.stop()
            self.relays = None
        # Every poller is told first and then joined against one deadline: stopped one by one,
        # each would sit out its own long poll and a stack of many queues took tens of seconds.
        for poller in self.pollers:
            poller.request_stop()
        for child in self.consumer_processes:
            child.stop()
            for route, count in child.processed.items():
                self.processed_elsewhere[route] = self.processed_elsewhere.get(route, 0) + count
            if child.writes:
                self.writes_elsewhere.append(child.writes)
        self.consumer_processes.clear()
        deadline = time.monotonic() + 10
        for poller in self.pollers:
            poller.join(timeout=max(0.0, deadline - time.monotonic()))
        self.pollers.clear()
        if self._gateway:
            self._gateway.stop()
            self._gateway = None
        if self._archive_http:
            self._archive_http.stop()
            self._archive_http = None
        if self._moto:
            self._moto.stop()
            self._moto = None
        self._watch = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        wiring.reset()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what users see -------------------------------------------------------------------
    @property
    def webhook_url(self) -> str:
        assert self._gateway is not None, "start() first"
        return f"{self._gateway.base_url}{WEBHOOK_PATH}"

    def archive_url(self, key: str = "") -> str:
        """The local URL of an archived object (a folder ending in ``/`` serves its ``index.html``)."""
        assert self._archive_http is not None, "start() first"
        return self._archive_http.url_for(key)

    @property
    def bot_webhook_url(self) -> str:
        """The meeting-bot endpoint, without its token (``bot_webhook_url_with_token`` adds it)."""
        assert self._gateway is not None, "start() first"
        return f"{self._gateway.base_url}{BOT_WEBHOOK_PATH}"

    def bot_webhook_url_with_token(self) -> str:
        from urllib.parse import quote

        return f"{self.bot_webhook_url}?token={quote(self.settings.bot_tokens[0])}"

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws_endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        )

    def _watch_sqs(self) -> Any:
        """The SQS client ``wait_idle`` asks, several times a second: built once per moto server."""
        if self._watch is None or self._watch[0] != self.aws_endpoint:
            self._watch = (self.aws_endpoint, self.client("sqs"))
        return self._watch[1]

    def environment(self) -> dict[str, str]:
        """What the stack gives each Lambda, pointed at moto."""
        env = {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "EVENT_BUS_NAME": self.names.bus,
            "ARCHIVE_BUCKET": self.names.bucket,
            "SESSIONS_TABLE": self.names.sessions_table,
            "IDEMPOTENCY_TABLE": self.names.idempotency_table,
            "REALTIMEKIT_API_TOKEN_SECRET_ARN": self.names.api_token_secret,
            "REALTIMEKIT_ACCOUNT_ID": "local-account",
            "REALTIMEKIT_APP_ID": "local-app",
            "REALTIMEKIT_APP_IDS": ",".join(self.settings.app_ids),
            "DOWNLOAD_HOST_ALLOWLIST": "127.0.0.1,localhost",
            "DOWNLOAD_ALLOW_LOOPBACK": "true",
            "DOWNLOAD_ALLOW_HTTP": "true",
            "POWERTOOLS_SERVICE_NAME": "meeting-vault",
            "POWERTOOLS_METRICS_NAMESPACE": "MeetingVault",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": self.settings.log_level,
            "REBUILD_WINDOW_SECONDS": str(self.settings.rebuild_window_seconds),
            "RELAY_TABLE": self.names.relay_table,
            "RELAY_LEG_SECONDS": str(self.settings.relay_leg_seconds),
            "RELAY_OVERLAP_SECONDS": str(self.settings.relay_overlap_seconds),
            "RELAY_PIECE_SECONDS": "1",
            "RELAY_GIVE_UP_SECONDS": "15",
            "BOT_CREDENTIALS_SECRET_ARN": self.names.bot_credentials_secret,
        }
        if BOT_AUDIO.name in self.queue_urls:
            env["BOT_AUDIO_QUEUE_URL"] = self.queue_urls[BOT_AUDIO.name]
        if self.settings.public_key_pem:
            env["WEBHOOK_PUBLIC_KEY_PEM"] = self.settings.public_key_pem
        if self.settings.public_key_url:
            env["WEBHOOK_PUBLIC_KEY_URL"] = self.settings.public_key_url
        if self.settings.realtimekit_api_base:
            env["REALTIMEKIT_API_BASE_URL"] = self.settings.realtimekit_api_base
        env.update(self.settings.extra_env)
        return env

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def _apply_environment(self) -> None:
        for name, value in self.environment().items():
            self._set_env(name, value)
        for name in ("WEBHOOK_PUBLIC_KEY_PEM", "WEBHOOK_PUBLIC_KEY_URL"):
            if name not in self.environment():
                self._saved_env.setdefault(name, os.environ.get(name))
                os.environ.pop(name, None)

    # -- resources -------------------------------------------------------------------------
    def provision(self) -> None:
        resources = provision_resources(
            self.client, self.names, api_token=self.settings.realtimekit_api_token
        )
        self.queue_urls, self.dlq_urls = resources.queue_urls, resources.dlq_urls
        self.relay_requests_url = provision_relay(self.client, self.names)
        from shared.sources.meeting_bot.auth import BotCredentials
        from shared.sources.meeting_bot.credentials import credentials_to_json

        credentials = BotCredentials(
            signing_secrets=self.settings.bot_signing_secrets, tokens=self.settings.bot_tokens
        )
        self.client("secretsmanager").create_secret(
            Name=self.names.bot_credentials_secret, SecretString=credentials_to_json(credentials)
        )
        # The audio consumer sends its quiet-period timers to its own queue: known only now.
        self._saved_env.setdefault("BOT_AUDIO_QUEUE_URL", os.environ.get("BOT_AUDIO_QUEUE_URL"))
        os.environ["BOT_AUDIO_QUEUE_URL"] = self.queue_urls[BOT_AUDIO.name]
        wiring.reset()

    # -- observation -------------------------------------------------------------------------
    def queue_depths(self) -> dict[str, dict[str, int]]:
        """Messages per route: visible, in flight, delayed, and in its dead-letter queue."""
        sqs = self._watch_sqs()
        depths: dict[str, dict[str, int]] = {}
        for route in (*ROUTES, REBUILDS):
            attrs = sqs.get_queue_attributes(QueueUrl=self.queue_urls[route.name], AttributeNames=["All"])
            dlq = sqs.get_queue_attributes(QueueUrl=self.dlq_urls[route.name], AttributeNames=["All"])
            depths[route.name] = {
                **_depth(attrs["Attributes"]),
                "dlq": int(dlq["Attributes"].get("ApproximateNumberOfMessages", 0)),
            }
        return depths

    def wait_idle(self, timeout: float = 60.0, settle: float = 0.3) -> dict[str, dict[str, int]]:
        """Block until no queue holds a message and no consumer is busy (for ``settle`` seconds);
        returns every queue's depths then, dead-letter queues included."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            # While work is left, one queue holding a message says so: ask that one first, and stop
            # at the first that holds any. Each depth costs moto a walk of the queue's messages
            # (a few ms of its CPU), so looking at every queue, several times a second, through a
            # long drain took CPU from the consumers it was waiting for.
            busy = any(p.busy for p in self.pollers) or self._a_queue_holds_work()
            now = time.monotonic()
            if not busy:
                quiet_since = quiet_since or now
                if now - quiet_since >= settle:
                    depths = self.queue_depths()
                    if not any(_pending(d) for d in depths.values()):
                        return depths
                    quiet_since = None
            else:
                quiet_since = None
            if now > deadline:
                raise TimeoutError(f"local stack still busy after {timeout:.0f}s: {self.queue_depths()}")
            time.sleep(0.1 if quiet_since is not None else 0.25)

    def _a_queue_holds_work(self) -> bool:
        sqs = self._watch_sqs()
        routes = [*ROUTES, REBUILDS]
        first = next((i for i, r in enumerate(routes) if r.name == self._last_busy_route), 0)
        for route in routes[first:] + routes[:first]:
            attrs = sqs.get_queue_attributes(QueueUrl=self.queue_urls[route.name], AttributeNames=["All"])
            if _pending(_depth(attrs["Attributes"])):
                self._last_busy_route = route.name
                return True
        return False

    def aws_cpu_seconds(self) -> float | None:
        """CPU seconds moto's server process has used so far (None where the OS does not say)."""
        return self._moto.cpu_seconds() if self._moto else None

    def consumer_processes_cpu_seconds(self) -> float | None:
        """CPU seconds the consumer processes have used so far, together (None: there are none,
        or the OS does not say)."""
        seconds = [child.cpu_seconds() for child in self.consumer_processes]
        if not seconds or any(s is None for s in seconds):
            return None
        return sum(s for s in seconds if s is not None)

    def list_archive(self, prefix: str = "") -> list[tuple[str, int]]:
        s3 = self.client("s3")
        found: list[tuple[str, int]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.names.bucket, Prefix=prefix):
            found.extend((obj["Key"], obj["Size"]) for obj in page.get("Contents", []))
        return found

    def read_object(self, key: str) -> bytes:
        body: bytes = self.client("s3").get_object(Bucket=self.names.bucket, Key=key)["Body"].read()
        return body


def _depth(attributes: dict[str, str]) -> dict[str, int]:
    """A queue's depths from its attributes. Asked for as "All", not by name: moto computes every
    attribute (walking the queue's messages) once for "All", and once per name asked for otherwise."""
    return {
        "visible": int(attributes["ApproximateNumberOfMessages"]),
        "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        # Delayed messages (rebuild requests, the bot audio consumer's timers) are work still to come.
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


def _pending(depth: dict[str, int]) -> int:
    return depth["visible"] + depth["in_flight"] + depth["delayed"]


@dataclass
class ProvisionedResources:
    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)


def provision_resources(
    client: Callable[[str], Any], names: LocalNames, *, api_token: str
) -> ProvisionedResources:
    """Create what the CDK stack creates, with the same routes (``shared.fanout.routing``). ``client``
    builds a boto3 client for a service name: against moto's server, or in-process ``mock_aws``."""
    found = ProvisionedResources()
    s3 = client("s3")
    s3.create_bucket(Bucket=names.bucket)
    s3.put_bucket_versioning(Bucket=names.bucket, VersioningConfiguration={"Status": "Enabled"})
    ddb = client("dynamodb")
    ddb.create_table(
        TableName=names.sessions_table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": SESSION_INDEX.partition_key, "AttributeType": "S"},
            {"AttributeName": SESSION_INDEX.sort_key, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[  # the same index as the CDK table (shared.session.listing)
            {
                "IndexName": SESSION_INDEX.name,
                "KeySchema": [
                    {"AttributeName": SESSION_INDEX.partition_key, "KeyType": "HASH"},
                    {"AttributeName": SESSION_INDEX.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName=names.idempotency_table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client("secretsmanager").create_secret(Name=names.api_token_secret, SecretString=api_token)
    events = client("events")
    events.create_event_bus(Name=names.bus)
    sqs = client("sqs")
    for route in ROUTES:
        _consumer_queue(sqs, names, route, found)
        arn = sqs.get_queue_attributes(QueueUrl=found.queue_urls[route.name], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        rule = f"{names.prefix}-{route.name}"
        events.put_rule(Name=rule, EventBusName=names.bus, EventPattern=json.dumps(route.event_pattern))
        events.put_targets(Rule=rule, EventBusName=names.bus, Targets=[{"Id": route.name, "Arn": arn}])
    _consumer_queue(sqs, names, REBUILDS, found)  # fed by the session recorder, not by a rule
    return found


def _consumer_queue(sqs: Any, names: LocalNames, route: ConsumerRoute, found: ProvisionedResources) -> None:
    """A consumer queue and its DLQ, with the route's visibility timeout and redrive policy."""
    dlq_url = sqs.create_queue(
        QueueName=names.dlq(route.name),
        Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_DAYS * 86400)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=names.queue(route.name),
        Attributes={
            "VisibilityTimeout": str(route.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(route.max_receive_count)}
            ),
        },
    )["QueueUrl"]
    found.queue_urls[route.name] = url
    found.dlq_urls[route.name] = dlq_url


@contextmanager
def running(settings: LocalSettings) -> Iterator[LocalStack]:
    stack = LocalStack(settings)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
