"""Integration fixtures: every AWS service in-process with moto, resources as local mode makes them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.sample_meeting import SAMPLE_APP_ID, SampleMeeting
from local.signing import WebhookSigner
from local.stack import LocalNames, ProvisionedResources, provision_resources
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState, install_sample_meeting
from shared import wiring


@dataclass
class MotoStack:
    names: LocalNames
    resources: ProvisionedResources

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        s3 = self.client("s3")
        listing = s3.list_objects_v2(Bucket=self.names.bucket, Prefix=prefix).get("Contents", [])
        return {
            o["Key"]: s3.get_object(Bucket=self.names.bucket, Key=o["Key"])["Body"].read() for o in listing
        }

    def depth(self, route: str) -> int:
        attrs = self.client("sqs").get_queue_attributes(
            QueueUrl=self.resources.queue_urls[route],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def moto_stack(aws_env: None, monkeypatch: pytest.MonkeyPatch, signer: WebhookSigner) -> Iterator[MotoStack]:
    names = LocalNames()
    with mock_aws():
        resources = provision_resources(
            lambda service: boto3.client(service, region_name="us-east-1"),  # type: ignore[call-overload]
            names,
            api_token="test-token",
        )
        for name, value in {
            "EVENT_BUS_NAME": names.bus,
            "ARCHIVE_BUCKET": names.bucket,
            "SESSIONS_TABLE": names.sessions_table,
            "IDEMPOTENCY_TABLE": names.idempotency_table,
            "WEBHOOK_PUBLIC_KEY_PEM": signer.public_pem(),
            "REALTIMEKIT_APP_IDS": SAMPLE_APP_ID,
            "POWERTOOLS_SERVICE_NAME": "meeting-vault-test",
            "POWERTOOLS_METRICS_NAMESPACE": "MeetingVault",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("WEBHOOK_PUBLIC_KEY_URL", raising=False)
        wiring.reset()
        yield MotoStack(names=names, resources=resources)
        wiring.reset()


def serve_meeting(
    stack: MotoStack, monkeypatch: pytest.MonkeyPatch, meeting: SampleMeeting
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    """The RealtimeKit stand-in hosting ``meeting``'s files and REST answers, and the consumers'
    settings pointing at it (downloads from loopback allowed, as in local mode)."""
    with RealtimeKitStandin(WebhookSigner.generate()) as running:
        urls = {name: running.host_file(name, data, ctype) for name, (data, ctype) in meeting.files().items()}
        state = install_sample_meeting(running, meeting, urls, api_token="test-token")
        for name, value in {
            "DOWNLOAD_HOST_ALLOWLIST": "127.0.0.1",
            "DOWNLOAD_ALLOW_LOOPBACK": "true",
            "REALTIMEKIT_ACCOUNT_ID": "local-account",
            "REALTIMEKIT_APP_ID": "local-app",
            "REALTIMEKIT_API_TOKEN_SECRET_ARN": stack.names.api_token_secret,
            "REALTIMEKIT_API_BASE_URL": running.api_base_url,
            "REALTIMEKIT_MAX_RETRIES": "0",
        }.items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        yield running, state
