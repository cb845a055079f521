"""A scheduled sweep EventBridge could not run lands in the schedule's DLQ; `meeting-vault redrive
reconcile-schedule` moves it to the reconcile queue, where the function runs the sweep."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.reliability.harness import Servers, running_pipeline


@pytest.fixture(autouse=True)
def _leave_the_request_log_as_found(servers: Servers) -> Iterator[None]:
    """Other scenarios count the session's file requests: take back the ones made here."""
    before = len(servers.files.requests)
    yield
    del servers.files.requests[before:]


def test_a_redriven_scheduled_sweep_runs_from_the_reconcile_queue(servers: Servers) -> None:
    payloads = [p for p in servers.webhooks() if p["event"] != "meeting.transcript"]
    with running_pipeline(servers) as pipeline:
        for payload in payloads:
            assert pipeline.deliver(payload) == 202
        pipeline.pump(reconcile=False)
        sqs = pipeline.client("sqs")
        sqs.purge_queue(QueueUrl=pipeline.reconcile_queue_url)  # no delayed meeting.ended to help

        def transcripts() -> list[str]:
            return [key for key in pipeline.objects() if "/transcript/" in key]

        assert transcripts() == []
        scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
        sqs.send_message(QueueUrl=pipeline.reconcile_queue_url, MessageBody=json.dumps(scheduled))
        pipeline.pump()
        assert pipeline.invocations.get("reconcile") == 1
        assert transcripts() != []  # the sweep found the missing transcript and it was archived
        assert pipeline.dead_letters() == {}
