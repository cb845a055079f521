"""Failed queue records are tried again on their route's schedule (shared.fanout.retry), on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.pollers import sqs_event
from shared.fanout.retry import defer_failed_records, next_delay, queue_url_of
from shared.fanout.routing import ARTIFACT_RETRY_DELAYS, RECONCILE, ROUTES

REGION = "us-east-1"


def test_next_delay_follows_the_schedule_then_releases_at_once() -> None:
    delays = (60, 120, 300)
    assert [next_delay(n, delays) for n in (1, 2, 3, 4, 5)] == [60, 120, 300, 0, 0]


def test_every_route_retries_at_least_five_times() -> None:
    for route in (*ROUTES, RECONCILE):
        assert route.max_receive_count - 1 >= 5, route.name
        assert len(route.retry_delays_seconds) == route.max_receive_count - 1


def test_the_recordings_schedule_reaches_the_dlq_within_the_hour() -> None:
    assert sum(ARTIFACT_RETRY_DELAYS) == 48 * 60


def test_queue_url_of_an_arn() -> None:
    assert (
        queue_url_of("arn:aws:sqs:eu-west-1:123456789012:q")
        == "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    )


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, str]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="retry-test", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield sqs, url, arn


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", [])
    return messages


def test_a_failed_record_is_hidden_for_its_delay_and_a_done_one_is_untouched(
    queue: tuple[Any, str, str],
) -> None:
    sqs, url, arn = queue
    sqs.send_message(QueueUrl=url, MessageBody="fails")
    sqs.send_message(QueueUrl=url, MessageBody="works")
    messages = receive(sqs, url)
    assert len(messages) == 2
    failing = next(m for m in messages if m["Body"] == "fails")
    event = sqs_event(messages, arn, REGION)
    response = {"batchItemFailures": [{"itemIdentifier": failing["MessageId"]}]}
    assert defer_failed_records(event, response, sqs_client=sqs, delays=(600,)) == 1
    # the queue's own timeout is 0: without the deferral both would be visible again at once
    assert [m["Body"] for m in receive(sqs, url)] == ["works"]


def test_a_record_past_its_schedule_is_released_at_once(queue: tuple[Any, str, str]) -> None:
    sqs, url, arn = queue
    sqs.send_message(QueueUrl=url, MessageBody="fails")
    for attempt in (1, 2):
        (message,) = receive(sqs, url)
        assert message["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        response = {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=600
        )
        defer_failed_records(sqs_event([message], arn, REGION), response, sqs_client=sqs, delays=(0,))
    # both failures deferred by 0 s (the first by the schedule, the second as its last attempt)
    assert len(receive(sqs, url)) == 1


def test_nothing_happens_without_failures(queue: tuple[Any, str, str]) -> None:
    sqs, _, _ = queue
    assert defer_failed_records({"Records": []}, {"batchItemFailures": []}, sqs_client=sqs, delays=(60,)) == 0
