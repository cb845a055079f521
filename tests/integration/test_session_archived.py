"""`session.archived` on the bus (moto): once every artifact the session is known to have has
settled, once per state, also from the reconcile sweep when RealtimeKit has nothing more."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.standin import RealtimeKitStandin
from local.standin_rest import sample_recording
from shared import wiring
from shared.reconcile.sweep import reconcile_settings
from shared.session.completion import EVENT_SOURCE, SESSION_ARCHIVED
from tests.cli.conftest import MEETING, Env, add_session, cli_env, drain, publish_webhooks

PREFIX = f"meetings/{MEETING.meeting_id}/sessions/{MEETING.session_id}/"


@pytest.fixture
def env(running_standin: RealtimeKitStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    with cli_env(running_standin, monkeypatch) as made:
        yield made


@pytest.fixture(scope="module")
def running_standin() -> Iterator[RealtimeKitStandin]:
    from local.signing import WebhookSigner

    with RealtimeKitStandin(WebhookSigner.generate()) as running:
        yield running


def observe(env: Env) -> str:
    """A queue that receives the pipeline's own events from the bus (as a team's rule would)."""
    sqs, events = env.stack.client("sqs"), env.stack.client("events")
    url = sqs.create_queue(QueueName="observer")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = env.stack.names.bus
    events.put_rule(Name="observe", EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="observe", EventBusName=bus, Targets=[{"Id": "observer", "Arn": arn}])
    return str(url)


def received(env: Env, url: str) -> list[dict[str, Any]]:
    sqs = env.stack.client("sqs")
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def play(env: Env, *, transcript: bytes | None = None, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    session = add_session(env, MEETING.session_id, recording=False)
    session.title = MEETING.title
    env.rest.recordings[MEETING.recording_id] = sample_recording(MEETING)
    if transcript is not None:
        env.standin.host_file("transcript.csv", transcript, "text/csv")
    urls = {name: f"{env.standin.base_url}/files/{name}" for name in MEETING.files()}
    webhooks = [p for p in MEETING.webhooks(urls) if p["event"] not in skip]
    publish_webhooks(env.stack, webhooks)
    drain(env.stack)
    return webhooks


def states(event: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["state"] for a in event["detail"]["artifacts"]}


ALL_ARCHIVED = {
    f"recording/{MEETING.recording_id}/video": "archived",
    f"recording/{MEETING.recording_id}/audio": "archived",
    "transcript/source": "archived",
    "summary/summary": "archived",
    "chat/source": "archived",
}


def test_complete_session_is_announced_once(env: Env) -> None:
    url = observe(env)
    play(env)
    [event] = received(env, url)
    assert event["source"] == "meeting-vault"
    assert event["detail-type"] == SESSION_ARCHIVED
    detail = event["detail"]
    assert detail["meetingId"] == MEETING.meeting_id
    assert detail["sessionId"] == MEETING.session_id
    assert detail["title"] == MEETING.title
    assert detail["pageKey"] == PREFIX + "index.html"
    assert detail["artifactCounts"] == {"archived": 5, "failed": 0}
    assert states(event) == ALL_ARCHIVED
    # The page it points at exists.
    assert env.stack.client("s3").head_object(Bucket=env.stack.names.bucket, Key=detail["pageKey"])


def test_failed_artifact_settles_with_its_reason(env: Env) -> None:
    url = observe(env)
    play(env, transcript=b"")  # RealtimeKit serves an empty transcript
    events = received(env, url)
    assert len(events) == 1
    detail = events[0]["detail"]
    assert states(events[0]) == {**ALL_ARCHIVED, "transcript/source": "failed"}
    [failed] = [a for a in detail["artifacts"] if a["state"] == "failed"]
    assert failed["reason"] == "empty"
    assert detail["artifactCounts"] == {"archived": 4, "failed": 1}


def test_repeated_delivery_publishes_no_second_event(env: Env) -> None:
    url = observe(env)
    webhooks = play(env)
    assert len(received(env, url)) == 1
    publish_webhooks(env.stack, webhooks)  # every webhook delivered again
    drain(env.stack)
    # and a rebuild of the session's files
    wiring.session_recorder().changed(MEETING.meeting_id, MEETING.session_id, immediate=True)
    drain(env.stack)
    assert received(env, url) == []


def test_sweep_announces_a_session_with_nothing_to_fetch(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """No recording, transcript, summary or chat: nothing ever settles, so only the sweep, having
    asked RealtimeKit, can say the session is archived."""
    url = observe(env)
    recent = replace(MEETING, started_at=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    session = add_session(
        env,
        MEETING.session_id,
        started_at=recent.started_at,
        recording=False,
        transcript=False,
        summary=False,
        chat=False,
    )
    session.title = MEETING.title
    urls = {name: f"{env.standin.base_url}/files/{name}" for name in MEETING.files()}
    kept = ("meeting.started", "meeting.participantJoined", "meeting.participantLeft", "meeting.ended")
    publish_webhooks(env.stack, [p for p in recent.webhooks(urls) if p["event"] in kept])
    drain(env.stack)
    assert received(env, url) == []  # ended, but no artifact has settled: not announced
    monkeypatch.setenv("REALTIMEKIT_API_TOKEN", "test-token")
    wiring.reset()
    from shared.wiring.reconcile import reconciler

    def sweep_once() -> str:
        return (
            reconciler()
            .session(
                MEETING.meeting_id,
                MEETING.session_id,
                ended_at=recent.ended_at,
                started_at=recent.started_at,
            )
            .outcome
        )

    assert sweep_once() == "complete"
    [event] = received(env, url)
    assert event["detail"]["artifacts"] == []
    assert event["detail"]["pageKey"] == PREFIX + "index.html"
    assert sweep_once() == "complete"
    assert received(env, url) == []  # the next sweep: same state, no second event
    assert reconcile_settings().event_bus_name == env.stack.names.bus
