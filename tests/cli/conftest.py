"""The operator CLI against moto (a CloudFormation stack whose outputs name the resources that
``moto_stack`` provisions, as ``cdk deploy`` would) and the RealtimeKit stand-in."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from cli.main import main
from cli.target import output_label
from local.lambda_runtime import invoke, load_handler
from local.pollers import sqs_event
from local.sample_meeting import SAMPLE_APP_ID, SampleMeeting
from local.signing import WebhookSigner
from local.stack import LocalNames, ProvisionedResources, provision_resources
from local.standin import RealtimeKitStandin
from local.standin_rest import (
    StandinParticipant,
    StandinRecording,
    StandinRestState,
    StandinSession,
    install,
    sample_recording,
)
from shared import wiring
from shared.fanout.routing import ROUTES
from tests.integration.conftest import MotoStack

STACK = "MeetingVault"
WEBHOOK_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/webhooks/realtimekit"
TOKEN = "test-token"  # what moto_stack stores in the API token secret


def create_stack_outputs(
    stack: MotoStack, name: str = STACK, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """A CloudFormation stack with the outputs infra/stack.py declares, naming moto's resources."""
    names, resources = stack.names, stack.resources
    outputs = {
        "WebhookUrl": WEBHOOK_URL,
        "ArchiveBucketName": names.bucket,
        "SessionsTableName": names.sessions_table,
        "IdempotencyTableName": names.idempotency_table,
        "EventBusName": names.bus,
        "ApiTokenSecretArn": names.api_token_secret,
        "RelayTableName": names.relay_table,
    }
    for route in ROUTES:
        outputs[f"{output_label(route.name)}QueueUrl"] = resources.queue_urls[route.name]
        outputs[f"{output_label(route.name)}DeadLetterQueueUrl"] = resources.dlq_urls[route.name]
    outputs.update(extra or {})
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    with warnings.catch_warnings():  # moto does not model the placeholder resource; it is not needed
        warnings.simplefilter("ignore")
        stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return outputs


@pytest.fixture(scope="module")
def running_standin() -> Iterator[RealtimeKitStandin]:
    # One server per module: stopping one takes 0.5 s (the serve_forever poll interval).
    with RealtimeKitStandin(WebhookSigner.generate()) as running:
        yield running


@dataclass
class Env:
    """Everything a CLI test needs: the moto stack with its CloudFormation outputs, the stand-in."""

    stack: MotoStack
    standin: RealtimeKitStandin
    rest: StandinRestState
    outputs: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, *args: str, input: str | None = None) -> Result:
        result = self.runner.invoke(main, list(args), input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a bug, not an operator error: show its traceback
        return result

    def requests(self, method: str | None = None, contains: str = "") -> list[tuple[str, str]]:
        with self.standin.log.lock:
            return [
                (m, p)
                for m, p in self.standin.log.requests
                if (method is None or m == method) and contains in p and p.startswith("/client/v4")
            ]


@contextmanager
def cli_env(standin: RealtimeKitStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """moto (in-process) with the resources local mode makes and a CloudFormation stack naming
    them; the stand-in emptied and serving a fresh REST state; the environment the CLI and the
    consumers read."""
    standin.files.clear()
    standin.rest_routes.clear()
    with standin.log.lock:
        standin.log.requests.clear()
        standin.log.queries.clear()
    rest = StandinRestState(api_token=TOKEN)
    install(standin, rest)
    names = LocalNames()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "EVENT_BUS_NAME": names.bus,
        "REALTIMEKIT_APP_IDS": SAMPLE_APP_ID,
        "ARCHIVE_BUCKET": names.bucket,
        "SESSIONS_TABLE": names.sessions_table,
        "IDEMPOTENCY_TABLE": names.idempotency_table,
        "POWERTOOLS_SERVICE_NAME": "meeting-vault-test",
        "POWERTOOLS_METRICS_NAMESPACE": "MeetingVault",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "REALTIMEKIT_ACCOUNT_ID": rest.account_id,
        "REALTIMEKIT_APP_ID": rest.app_id,
        "REALTIMEKIT_API_BASE_URL": standin.api_base_url,
        # what the consumers need when a test drains the queues through them
        "REALTIMEKIT_API_TOKEN_SECRET_ARN": names.api_token_secret,
        "REALTIMEKIT_MAX_RETRIES": "0",
        "DOWNLOAD_HOST_ALLOWLIST": "127.0.0.1",
        "DOWNLOAD_ALLOW_LOOPBACK": "true",
        "DOWNLOAD_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "REALTIMEKIT_API_TOKEN",
        "MEETING_VAULT_ENDPOINT",
        "MEETING_VAULT_STACK",
        "MEETING_VAULT_WEBHOOK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        stack = MotoStack(names=names, resources=ProvisionedResources())
        stack.resources = provision_resources(stack.client, names, api_token=TOKEN)
        wiring.reset()
        try:
            yield Env(stack=stack, standin=standin, rest=rest, outputs=create_stack_outputs(stack))
        finally:
            wiring.reset()


@pytest.fixture
def env(running_standin: RealtimeKitStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    with cli_env(running_standin, monkeypatch) as made:
        yield made


# -- RealtimeKit content ---------------------------------------------------------------------------
MEETING = SampleMeeting(recording_bytes=4096, audio_bytes=1024)


def add_session(
    env: Env,
    session_id: str,
    *,
    meeting_id: str = MEETING.meeting_id,
    started_at: datetime | None = None,
    recording: bool = True,
    transcript: bool = True,
    summary: bool = True,
    chat: bool = True,
    status: str = "ENDED",
    participants: bool = False,
) -> StandinSession:
    """A session RealtimeKit still retains, with the sample meeting's files (and, with
    ``participants``, the sample's people in ``GET /sessions/{id}/participants``)."""
    started = started_at or datetime(2026, 6, 3, 10, tzinfo=UTC)
    for name, (data, content_type) in MEETING.files().items():
        env.standin.host_file(name, data, content_type)
    session = StandinSession(
        id=session_id,
        meeting_id=meeting_id,
        title=f"Sync {session_id}",
        status=status,
        started_at=started,
        ended_at=started + timedelta(minutes=30) if status == "ENDED" else None,
        transcript_files={"CSV": "transcript.csv"} if transcript else {},
        summary_file="summary.md" if summary else None,
        chat_file="chat.csv" if chat else None,
    )
    if participants:
        session.participants = [
            StandinParticipant(
                id=person.peer_ids[peer],
                display_name=person.name,
                user_id=person.user_id,
                custom_participant_id=person.custom_participant_id,
                joined_at=started + timedelta(seconds=joined),
                left_at=started + timedelta(seconds=left),
            )
            for person, peer, joined, left in MEETING.stints()
        ]
    env.rest.sessions[session_id] = session
    if recording:
        recording_id = f"rec-{session_id}"
        env.rest.recordings[recording_id] = StandinRecording(
            id=recording_id,
            meeting_id=meeting_id,
            session_id=session_id,
            file_name="recording.mp4",
            output_file_name=f"{session_id}.mp4",
            audio_file_name="recording.mp3",
            started_time=started,
            stopped_time=started + timedelta(minutes=30),
            recording_duration=1800,
        )
    return session


# -- the pipeline's consumers, in-process -----------------------------------------------------------
def queued(stack: MotoStack, route: str) -> list[dict[str, Any]]:
    """The bus details waiting on a queue, left there (visibility timeout 0)."""
    sqs = stack.client("sqs")
    found: dict[str, dict[str, Any]] = {}
    for _ in range(5):
        messages = sqs.receive_message(
            QueueUrl=stack.resources.queue_urls[route], MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        for message in messages:
            found[message["MessageId"]] = json.loads(message["Body"])["detail"]
    return list(found.values())


def drain(stack: MotoStack, *, rounds: int = 10) -> None:
    """Run every consumer over its queue until all are empty; succeeded records are deleted."""
    sqs = stack.client("sqs")
    for _ in range(rounds):
        busy = False
        for route in ROUTES:
            url = stack.resources.queue_urls[route.name]
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=route.batch_size, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                continue
            busy = True
            event = sqs_event(messages, f"arn:aws:sqs:us-east-1:123456789012:{route.name}", "us-east-1")
            answer = invoke(
                load_handler(route.lambda_handler),
                event,
                function_name=route.name,
                timeout_seconds=route.timeout_seconds,
            )
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            assert not failed, f"{route.name} consumer failed {failed}"
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        if not busy:
            return
    raise AssertionError("queues still busy")


def publish_webhooks(stack: MotoStack, payloads: list[dict[str, Any]]) -> None:
    """Put webhook bodies on the bus as the ingest function does."""
    from shared.adapters.eventbridge import EventPublisher
    from shared.ingest.envelope import build_detail

    publisher = EventPublisher(stack.names.bus, stack.client("events"))
    for index, payload in enumerate(payloads):
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        publisher.publish(
            build_detail(
                body,
                received_at=datetime(2026, 6, 3, 11, 0, index, tzinfo=UTC),
                delivery_id=f"delivery-{index}",
                webhook_id="webhook-1",
                signature_header="rtk-signature",
            )
        )


def archive_sample_meeting(env: Env) -> None:
    """The sample meeting's webhooks through the bus and every consumer: a complete session folder."""
    session = add_session(env, MEETING.session_id, recording=False)
    session.title = MEETING.title
    env.rest.recordings[MEETING.recording_id] = sample_recording(MEETING)
    urls = {name: f"{env.standin.base_url}/files/{name}" for name in MEETING.files()}
    publish_webhooks(env.stack, MEETING.webhooks(urls))
    drain(env.stack)
