"""The live relay end to end on moto: a fake bot socket (local/live_bot.py) plays a scripted meeting,
the chain of legs runs through the relay Lambda handler exactly as the state machine drives it
(local/relay.py), and we check the bus (a queue subscribed to ``meeting-vault.live``) and the bucket.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from local.live_bot import Drop, FakeBotSocket, scripted_meeting
from local.relay import provision_relay, run_chain
from shared import wiring
from shared.sources.live_relay.bus import LIVE_SOURCE
from tests.integration.conftest import MotoStack
from tests.support.moto_atomic import serialize_dynamodb

MEETING = "bot-meeting-1"


@pytest.fixture(autouse=True)
def _atomic_item_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Legs run as threads, and two can take the same message (a handover): the relay table's
    conditional writes must be atomic, as DynamoDB's are (tests.support.moto_atomic)."""
    serialize_dynamodb(monkeypatch)


@dataclass
class RelayHarness:
    stack: MotoStack
    capture_url: str
    monkeypatch: pytest.MonkeyPatch

    def configure(self, *, leg: float, overlap: float, give_up: float = 30.0) -> None:
        for name, value in {
            "RELAY_LEG_SECONDS": str(leg),
            "RELAY_OVERLAP_SECONDS": str(overlap),
            "RELAY_PIECE_SECONDS": "1",
            "RELAY_GIVE_UP_SECONDS": str(give_up),
        }.items():
            self.monkeypatch.setenv(name, value)
        wiring.reset()

    def run(
        self, bot: FakeBotSocket, *, leg: float, overlap: float, steps: list[dict[str, Any]] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Run a relay of ``bot`` to its end; the bot starts its meeting once the first leg is in."""
        relay_id = f"relay-{uuid.uuid4().hex[:12]}"
        secret = f"meeting-vault/relay/{relay_id}"
        self.stack.client("secretsmanager").create_secret(Name=secret, SecretString=bot.url)
        threading.Thread(target=bot.play_when_connected, daemon=True).start()
        request = {"relayId": relay_id, "meetingId": MEETING, "title": "Bot standup", "secretId": secret}
        result = run_chain(
            request,
            leg_seconds=leg,
            overlap_seconds=overlap,
            on_step=(lambda _action, event: steps.append(dict(event))) if steps is not None else None,
        )
        return relay_id, result

    def bus(self) -> list[dict[str, Any]]:
        sqs = self.stack.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.capture_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.capture_url, ReceiptHandle=message["ReceiptHandle"])

    def folder(self, relay_id: str) -> dict[str, bytes]:
        return self.stack.objects(f"meetings/{MEETING}/sessions/{relay_id}/")


@pytest.fixture
def relay(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> RelayHarness:
    names = moto_stack.names
    provision_relay(moto_stack.client, names)
    sqs, events = moto_stack.client("sqs"), moto_stack.client("events")
    capture = sqs.create_queue(QueueName="live-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="capture-live", EventBusName=names.bus, EventPattern=json.dumps({"source": [LIVE_SOURCE]})
    )
    events.put_targets(Rule="capture-live", EventBusName=names.bus, Targets=[{"Id": "capture", "Arn": arn}])
    monkeypatch.setenv("RELAY_TABLE", names.relay_table)
    return RelayHarness(moto_stack, capture, monkeypatch)


def test_a_late_next_leg_finds_the_previous_one_still_connected(relay: RelayHarness) -> None:
    """GIVEN every next leg starting 1 s after the previous leg's deadline (a cold start, a delayed
    asynchronous invoke) THEN the previous leg stays connected until the next one has connected:
    no gap, and every line on the bus and in the archive once."""
    relay.configure(leg=2.0, overlap=0.5)
    bot = FakeBotSocket(scripted_meeting(seconds=12.0, line_every=1.0)).start()
    try:
        relay_id, result = relay.run(bot, leg=2.0, overlap=-1.0)  # the chain waits 3 s between legs
    finally:
        bot.stop()
    lines = [m["data"]["transcript"] for m in (item.message for item in bot.script) if m["type"] == "ts"]
    assert len(lines) == 12
    ts = [e["detail"]["data"]["text"] for e in relay.bus() if e["detail-type"] == "ts"]
    assert sorted(ts) == sorted(lines)
    manifest = json.loads(relay.folder(relay_id)[f"meetings/{MEETING}/sessions/{relay_id}/session.json"])
    assert manifest["liveRelay"]["gaps"] == []
    assert manifest["liveRelay"]["complete"] is True
    assert result["lines"] == 12


def test_handoffs_relay_every_line_exactly_once_on_the_bus_and_in_the_archive(relay: RelayHarness) -> None:
    """GIVEN a 30 s scripted meeting and 2 s legs overlapping by 0.5 s (about 20 handoffs)
    THEN every line is on the bus once and in transcript.json once, in order, and no leg left a gap."""
    relay.configure(leg=2.0, overlap=0.5)
    bot = FakeBotSocket(scripted_meeting(seconds=30.0, line_every=1.0)).start()
    try:
        relay_id, result = relay.run(bot, leg=2.0, overlap=0.5)
    finally:
        bot.stop()
    script = [item.message for item in bot.script]
    lines = [m["data"] for m in script if m["type"] == "ts"]
    assert len(lines) == 30

    on_bus = relay.bus()
    ts = [e["detail"]["data"] for e in on_bus if e["detail-type"] == "ts"]
    assert sorted(line["text"] for line in ts) == sorted(line["transcript"] for line in lines)
    assert len({(t["speaker"], t["start"], t["end"], t["text"]) for t in ts}) == len(ts) == 30
    assert all(e["source"] == LIVE_SOURCE and e["detail"]["meetingId"] == MEETING for e in on_bus)
    relayed_types = Counter(e["detail-type"] for e in on_bus)
    assert "ping" not in relayed_types
    assert relayed_types["stop"] == 1
    for kind in ("start", "participant-tracked", "started-speaking", "stopped-speaking", "chat-message"):
        assert relayed_types[kind] >= sum(1 for m in script if m["type"] == kind), kind

    folder = relay.folder(relay_id)
    prefix = f"meetings/{MEETING}/sessions/{relay_id}/"
    transcript = json.loads(folder[prefix + "transcript/transcript.json"])
    assert [entry["words"][0]["text"] for entry in transcript] == [line["transcript"] for line in lines]
    assert [entry["words"][0]["start_timestamp"]["relative"] for entry in transcript] == [
        line["start"] for line in lines
    ]
    manifest = json.loads(folder[prefix + "session.json"])
    assert manifest["source"] == "live-relay"
    assert manifest["liveRelay"]["endReason"] == "stop"
    assert manifest["liveRelay"]["gaps"] == []
    assert manifest["liveRelay"]["complete"] is True
    assert manifest["liveRelay"]["lines"] == 30
    assert len(manifest["liveRelay"]["legs"]) >= 12
    assert sum(leg["linesRelayed"] for leg in manifest["liveRelay"]["legs"]) == 30
    assert result["lines"] == 30

    # The rolling transcript: many pieces, none rewritten, together every line once.
    pieces = sorted(k for k in folder if k.startswith(prefix + "live/transcript/"))
    assert len(pieces) >= 10
    rolled = [json.loads(row) for key in pieces for row in folder[key].decode().splitlines()]
    assert sorted(row["text"] for row in rolled) == sorted(line["transcript"] for line in lines)
    versions = relay.stack.client("s3").list_object_versions(
        Bucket=relay.stack.names.bucket, Prefix=prefix + "live/transcript/"
    )
    assert len(versions["Versions"]) == len(pieces)


def test_a_late_speaker_name_names_the_earlier_lines_in_the_final_files(relay: RelayHarness) -> None:
    relay.configure(leg=3.0, overlap=0.5)
    bot = FakeBotSocket(scripted_meeting(seconds=8.0, line_every=0.5, late_name_lines=3)).start()
    try:
        relay_id, _ = relay.run(bot, leg=3.0, overlap=0.5)
    finally:
        bot.stop()
    early = [
        m.message["data"]
        for m in bot.script
        if m.message["type"] == "ts" and m.message["data"]["speaker"] == 0
    ]
    assert [line["speaker_name"] for line in early[:3]] == [None, None, None]  # the script does send nulls
    folder = relay.folder(relay_id)
    prefix = f"meetings/{MEETING}/sessions/{relay_id}/"
    transcript = json.loads(folder[prefix + "transcript/transcript.json"])
    alice = [e for e in transcript if e["participant"]["extra_data"]["speaker"] == 0]
    assert len(alice) == len(early)
    assert {e["participant"]["name"] for e in alice} == {"Alice Ng"}
    txt = folder[prefix + "transcript/transcript.txt"].decode()
    assert txt.count("Alice Ng: Line") == len(early)
    assert "Speaker 0" not in txt
    participants = json.loads(folder[prefix + "participants.json"])
    assert [p["name"] for p in participants] == ["Alice Ng", "Bob Stone"]
    assert participants[0]["extra_data"] == {"participant_id": "Alice Ng", "speaker": 0}
    timeline = json.loads(folder[prefix + "transcript/speaker_timeline.json"])
    assert len(timeline) == sum(1 for m in bot.script if m.message["type"] == "started-speaking")
    chat = json.loads(folder[prefix + "chat/chat.json"])
    assert [(c["display_name"], c["text"]) for c in chat] == [("Bob Stone", "Slides: page 3")]
    assert chat[0]["participant"]["name"] == "Bob Stone"
    vtt = folder[prefix + "transcript/transcript.vtt"].decode()
    assert vtt.startswith("WEBVTT")
    assert vtt.count(" --> ") == len(transcript)


def test_a_dropped_connection_is_recorded_as_a_gap_and_the_lines_after_it_are_archived(
    relay: RelayHarness,
) -> None:
    relay.configure(leg=4.0, overlap=0.5)
    bot = FakeBotSocket(
        scripted_meeting(seconds=9.0, line_every=0.5), drops=[Drop(at=3.0, seconds=2.0)]
    ).start()
    try:
        relay_id, _ = relay.run(bot, leg=4.0, overlap=0.5)
    finally:
        bot.stop()
    assert bot.refused >= 1  # the relay tried again while the bot refused
    prefix = f"meetings/{MEETING}/sessions/{relay_id}/"
    folder = relay.folder(relay_id)
    manifest = json.loads(folder[prefix + "session.json"])["liveRelay"]
    assert len(manifest["gaps"]) == 1
    assert 1.5 <= manifest["gaps"][0]["seconds"] <= 5.0
    assert manifest["complete"] is False
    archived = {e["words"][0]["text"] for e in json.loads(folder[prefix + "transcript/transcript.json"])}
    delivered = [
        m.message["data"]["transcript"]
        for m, n in zip(bot.script, bot.delivered_to, strict=True)
        if m.message["type"] == "ts" and n > 0
    ]
    lost = [
        m.message["data"]["transcript"]
        for m, n in zip(bot.script, bot.delivered_to, strict=True)
        if m.message["type"] == "ts" and n == 0
    ]
    assert lost  # lines were sent while nobody could connect: gone, as the seed says
    assert archived == set(delivered)
    # Reconnection backs off (with jitter) for at most 0.5 + 1 + 2 s after the drop at 3 s.
    after = [m.message["data"]["transcript"] for m in bot.script if m.message["type"] == "ts" and m.at > 7.0]
    assert after
    assert set(after) <= archived


def test_a_connected_replay_closes_the_gap_without_duplicates(relay: RelayHarness) -> None:
    relay.configure(leg=4.0, overlap=0.5)
    bot = FakeBotSocket(
        scripted_meeting(seconds=9.0, line_every=0.5),
        drops=[Drop(at=3.0, seconds=2.0)],
        replay_on_connect=True,
    ).start()
    try:
        relay_id, _ = relay.run(bot, leg=4.0, overlap=0.5)
    finally:
        bot.stop()
    lines = [m.message["data"]["transcript"] for m in bot.script if m.message["type"] == "ts"]
    prefix = f"meetings/{MEETING}/sessions/{relay_id}/"
    transcript = json.loads(relay.folder(relay_id)[prefix + "transcript/transcript.json"])
    assert [e["words"][0]["text"] for e in transcript] == lines  # every line, once, in order
    ts = [e for e in relay.bus() if e["detail-type"] == "ts"]
    assert sorted(e["detail"]["data"]["text"] for e in ts) == sorted(lines)
    assert any(e["detail"].get("replayed") for e in ts)


@pytest.mark.parametrize("end", ["stop", "error"])
def test_stop_and_error_each_end_the_chain(relay: RelayHarness, end: str) -> None:
    relay.configure(leg=3.0, overlap=0.5)
    bot = FakeBotSocket(scripted_meeting(seconds=2.0, line_every=0.5, end=end)).start()
    steps: list[dict[str, Any]] = []
    try:
        relay_id, result = relay.run(bot, leg=3.0, overlap=0.5, steps=steps)
    finally:
        bot.stop()
    assert result["done"] is True
    assert [s["action"] for s in steps] == ["begin", "leg", "check", "finalize"]
    manifest = json.loads(relay.folder(relay_id)[f"meetings/{MEETING}/sessions/{relay_id}/session.json"])
    assert manifest["liveRelay"]["endReason"] == end
    assert manifest["liveRelay"]["legs"][0]["reason"] == end
    assert [e["detail-type"] for e in relay.bus()].count(end) == 1


def test_relay_stop_by_the_operator_ends_the_chain(relay: RelayHarness) -> None:
    from shared.sources.live_relay.store import RelayStore

    relay.configure(leg=2.0, overlap=0.5)
    bot = FakeBotSocket(scripted_meeting(seconds=60.0, line_every=0.5)).start()
    steps: list[dict[str, Any]] = []

    def stop_after_a_few_steps(action: str, event: dict[str, Any]) -> None:
        steps.append(event)
        if action == "check" and event["leg"] == 2:
            RelayStore(relay.stack.names.relay_table).request_stop(event["relayId"])

    try:
        threading.Thread(target=bot.play_when_connected, daemon=True).start()
        relay_id = f"relay-{uuid.uuid4().hex[:12]}"
        secret = f"meeting-vault/relay/{relay_id}"
        relay.stack.client("secretsmanager").create_secret(Name=secret, SecretString=bot.url)
        run_chain(
            {"relayId": relay_id, "meetingId": MEETING, "secretId": secret},
            leg_seconds=2.0,
            overlap_seconds=0.5,
            on_step=stop_after_a_few_steps,
        )
    finally:
        bot.stop()
    manifest = json.loads(relay.folder(relay_id)[f"meetings/{MEETING}/sessions/{relay_id}/session.json"])
    assert manifest["liveRelay"]["endReason"] == "stopped_by_operator"
    assert len([s for s in steps if s["action"] == "leg"]) <= 4
    # The URL's secret is scheduled for deletion once the relay is archived.
    described = relay.stack.client("secretsmanager").describe_secret(SecretId=secret)
    assert "DeletedDate" in described


def test_the_socket_url_never_reaches_the_logs_or_the_chain_input(
    relay: RelayHarness, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    relay.configure(leg=2.0, overlap=0.5)
    relay.monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    # Our own log lines at DEBUG, everything else at INFO (botocore's DEBUG wire log would show the
    # test's own CreateSecret call, which is not the relay's doing).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="meeting-vault-test")
    caplog.set_level(logging.DEBUG, logger="meeting_vault.local")
    bot = FakeBotSocket(
        scripted_meeting(seconds=4.0, line_every=0.5), drops=[Drop(at=1.0, seconds=1.0)]
    ).start()
    steps: list[dict[str, Any]] = []
    try:
        relay.run(bot, leg=2.0, overlap=0.5, steps=steps)
    finally:
        bot.stop()
    out = capsys.readouterr()
    text = out.out + out.err + caplog.text + json.dumps(steps)
    assert "live relay leg ended" in text  # the logs were captured
    assert bot.token not in text
    assert "ws://" not in text
