"""The demo's live part: a fake bot socket plays a short meeting, a relay is requested on the bus
as ``meeting-vault relay start`` does, the lines are shown as they reach the bus, then the archived
folder."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from local.live_bot import Drop, FakeBotSocket, scripted_meeting
from local.stack import LocalStack
from shared.sources.live_relay.bus import LIVE_SOURCE
from shared.sources.live_relay.request import REQUEST_DETAIL_TYPE, REQUEST_SOURCE, SECRET_PREFIX

DEMO_MEETING = "live-demo-meeting"
DEMO_RELAY = "relay-demo"


@dataclass
class LiveDemoReport:
    relay_id: str
    lines_on_bus: int = 0
    archived: list[tuple[str, int]] = field(default_factory=list)
    manifest: dict[str, object] = field(default_factory=dict)


def play_live_meeting(
    stack: LocalStack, *, echo: Callable[[str], None], seconds: float = 12.0, timeout: float = 90.0
) -> LiveDemoReport:
    sqs, events = stack.client("sqs"), stack.client("events")
    capture = sqs.create_queue(QueueName=f"{stack.names.prefix}-live-demo")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="live-demo", EventBusName=stack.names.bus, EventPattern=json.dumps({"source": [LIVE_SOURCE]})
    )
    events.put_targets(Rule="live-demo", EventBusName=stack.names.bus, Targets=[{"Id": "demo", "Arn": arn}])
    # A drop in the middle: the relay reconnects, and session.json records the gap.
    bot = FakeBotSocket(
        scripted_meeting(seconds=seconds, line_every=1.0), drops=[Drop(at=seconds / 2, seconds=1.5)]
    )
    bot.start()
    report = LiveDemoReport(relay_id=DEMO_RELAY)
    try:
        secret = SECRET_PREFIX + DEMO_RELAY
        stack.client("secretsmanager").create_secret(Name=secret, SecretString=bot.url)
        detail = {"relayId": DEMO_RELAY, "meetingId": DEMO_MEETING, "title": "Live demo", "secretId": secret}
        events.put_events(
            Entries=[
                {
                    "EventBusName": stack.names.bus,
                    "Source": REQUEST_SOURCE,
                    "DetailType": REQUEST_DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                }
            ]
        )
        threading.Thread(target=bot.play_when_connected, daemon=True).start()
        manifest_key = f"meetings/{DEMO_MEETING}/sessions/{DEMO_RELAY}/session.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in sqs.receive_message(
                QueueUrl=capture, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                event = json.loads(message["Body"])
                sqs.delete_message(QueueUrl=capture, ReceiptHandle=message["ReceiptHandle"])
                if event["detail-type"] == "ts":
                    data = event["detail"]["data"]
                    report.lines_on_bus += 1
                    who = data.get("speaker_name") or f"speaker {data.get('speaker')}"
                    echo(
                        f"  live  [{data['start']:6.2f}s] {who}: {data['text']}  (leg {event['detail']['leg']})"
                    )
                elif event["detail-type"] in ("stop", "error"):
                    echo(f"  live  {event['detail-type']}: the bot ended the stream")
            if any(key == manifest_key for key, _ in stack.list_archive(manifest_key)):
                break
        report.archived = stack.list_archive(f"meetings/{DEMO_MEETING}/")
        if report.archived:
            report.manifest = json.loads(stack.read_object(manifest_key))
    finally:
        bot.stop()
    return report
