"""CPU that moto's server process spends per webhook's worth of AWS calls, with and without the
speed-ups named on the command line, measured in the same run.

Each webhook makes the calls local mode's functions make for one (about a dozen): S3 PutObject and
HeadObject of its raw body; DynamoDB PutItem (conditional) of its fact, UpdateItem of the session's
version (``ADD`` and ``if_not_exists``, ``ReturnValues``), GetItem of it and a Query of the
session's items; EventBridge PutEvents, which the bus delivers to the sessions queue; SQS
ReceiveMessage and DeleteMessageBatch of that queue, and a SendMessage and receive of the rebuilds
queue. The resources are local mode's own (``local.stack.provision_resources``).

Each round starts one server per variant, in alternating order: "before" leaves out the speed-ups
named by ``--skip`` (``MEETING_VAULT_MOTO_SKIP``), "after" has them all. The figure is the
server process's CPU (user + system, from ``/proc``) over the measured webhooks, after a warm-up.

Usage: python -m bench.moto_server [--rounds 3] [--webhooks 300] [--senders 4]
       [--skip thin-wsgi,json-serializer]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from local.moto_process import SKIP_ENV, MotoProcess
from local.stack import LocalNames, ProvisionedResources, provision_resources

SESSION_WEBHOOKS = 25  # a session's webhooks; its query returns up to this many facts


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


class Sender:
    """One sender's clients (boto3 clients are not shared between threads)."""

    def __init__(self, endpoint: str, names: LocalNames, resources: ProvisionedResources) -> None:
        self.names = names
        self.s3 = _client(endpoint, "s3")
        self.ddb = _client(endpoint, "dynamodb")
        self.events = _client(endpoint, "events")
        self.sqs = _client(endpoint, "sqs")
        self.sessions_url = resources.queue_urls["sessions"]
        self.rebuilds_url = resources.queue_urls["rebuilds"]

    def webhook(self, sender: int, number: int) -> None:
        session = f"meeting-{sender}/session-{number // SESSION_WEBHOOKS}"
        body = json.dumps(
            {"event": "meeting.participantJoined", "session": session, "n": number, "pad": "x" * 600}
        )
        key = f"events/{session}/{number:06d}.json"
        self.s3.put_object(
            Bucket=self.names.bucket, Key=key, Body=body.encode(), ContentType="application/json"
        )
        self.s3.head_object(Bucket=self.names.bucket, Key=key)
        table = self.names.sessions_table
        pk = {"S": session}
        self.ddb.put_item(
            TableName=table,
            Item={"pk": pk, "sk": {"S": f"fact#{number:06d}"}, "row": {"S": body}},
            ConditionExpression="attribute_not_exists(sk)",
        )
        self.ddb.update_item(
            TableName=table,
            Key={"pk": pk, "sk": {"S": "version"}},
            UpdateExpression="ADD v :one SET pending_at = if_not_exists(pending_at, :now), #p = :part",
            ExpressionAttributeNames={"#p": "listPk"},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":now": {"N": repr(time.time())},
                ":part": {"S": "pending"},
            },
            ReturnValues="ALL_NEW",
        )
        self.ddb.get_item(TableName=table, Key={"pk": pk, "sk": {"S": "version"}}, ConsistentRead=True)
        self.ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": pk},
            ConsistentRead=True,
        )
        self.events.put_events(
            Entries=[
                {
                    "EventBusName": self.names.bus,
                    "Source": "realtimekit",
                    "DetailType": "meeting.participantJoined",
                    "Detail": json.dumps({"valid": True, "meetingId": session, "payload": {"n": number}}),
                }
            ]
        )
        got = self.sqs.receive_message(QueueUrl=self.sessions_url, MaxNumberOfMessages=10).get("Messages", [])
        if got:
            self.sqs.delete_message_batch(
                QueueUrl=self.sessions_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )
        self.sqs.send_message(QueueUrl=self.rebuilds_url, MessageBody=json.dumps({"session": session}))
        for message in self.sqs.receive_message(QueueUrl=self.rebuilds_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            self.sqs.delete_message(QueueUrl=self.rebuilds_url, ReceiptHandle=message["ReceiptHandle"])


def measure(skip: str, webhooks: int, senders: int, warmup: int) -> float:
    """Server CPU seconds per webhook, for a fresh server leaving out the speed-ups in ``skip``."""
    os.environ[SKIP_ENV] = skip
    try:
        moto = MotoProcess("127.0.0.1").start()
    finally:
        del os.environ[SKIP_ENV]
    try:
        names = LocalNames()
        resources = provision_resources(lambda service: _client(moto.endpoint, service), names, api_token="t")
        workers = [Sender(moto.endpoint, names, resources) for _ in range(senders)]

        def run(start: int, count: int) -> None:
            def send(sender: int) -> None:
                for number in range(start, start + count):
                    workers[sender].webhook(sender, number)

            with ThreadPoolExecutor(senders) as pool:
                for future in [pool.submit(send, sender) for sender in range(senders)]:
                    future.result()

        run(0, warmup)
        before = moto.cpu_seconds()
        run(warmup, webhooks // senders)
        after = moto.cpu_seconds()
        assert before is not None
        assert after is not None
        return (after - before) / (senders * (webhooks // senders))
    finally:
        moto.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--webhooks", type=int, default=300)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=10, help="webhooks per sender before measuring")
    parser.add_argument(
        "--skip", default="thin-wsgi,json-serializer", help="the speed-ups 'before' leaves out"
    )
    args = parser.parse_args()
    results: dict[str, list[float]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
        for variant in order:
            skip = args.skip if variant == "before" else ""
            per_webhook = measure(skip, args.webhooks, args.senders, args.warmup)
            results[variant].append(per_webhook)
            print(
                f"round {round_ + 1} {variant:6}: {per_webhook * 1000:.2f} ms of server CPU per webhook",
                flush=True,
            )
    before, after = statistics.median(results["before"]), statistics.median(results["after"])
    ratios = [a / b for a, b in zip(results["after"], results["before"], strict=True)]
    print(
        f"median: before {before * 1000:.2f} ms, after {after * 1000:.2f} ms per webhook; "
        f"after/before {after / before:.3f} (per round: {', '.join(f'{r:.3f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
