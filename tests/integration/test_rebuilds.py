"""Coalesced rebuilds of the session files on moto (DynamoDB flag + SQS delayed requests): one request
per window, immediate ones at meeting.ended and per artifact, only changed files written, and no
change lost when a rebuild dies, its request is lost, or the record moves on while it works."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from local.lambda_runtime import invoke, load_handler
from local.pollers import sqs_event
from local.sample_meeting import SampleMeeting
from shared import wiring
from shared.adapters.s3 import ArchiveStore
from shared.archive.keys import session_prefix
from shared.fanout.routing import REBUILDS
from shared.ingest.envelope import WebhookDetail, build_detail
from shared.reconcile.sweep import Reconciler, ReconcileSettings
from shared.session.model import ArtifactRecord, ArtifactState
from shared.session.rebuild import RebuildRequest, SqsRebuildQueue, request_stale_rebuilds
from shared.session.recorder import SessionRecorder
from shared.session.store import SessionStore
from tests.integration.conftest import MotoStack
from tests.support.derived import differences, reference_files

MEETING = SampleMeeting()
URLS = {name: f"https://files.test/{name}" for name in MEETING.files()}
PAYLOADS = MEETING.webhooks(URLS)
PREFIX = session_prefix(MEETING.meeting_id, MEETING.session_id)
WINDOW = 30


def detail_of(payload: dict[str, Any]) -> WebhookDetail:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return build_detail(
        body,
        received_at=datetime.now(UTC),
        delivery_id=None,
        webhook_id=None,
        signature_header="rtk-signature",
    )


PRESENCE = [p for p in PAYLOADS if p["event"].startswith("meeting.participant")]
ENDED = next(p for p in PAYLOADS if p["event"] == "meeting.ended")
STARTED = next(p for p in PAYLOADS if p["event"] == "meeting.started")


@dataclass
class Clock:
    now: float = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    stack: MotoStack
    store: SessionStore
    clock: Clock
    recorder: SessionRecorder
    queue_url: str

    def queue(self) -> dict[str, int]:
        attrs = self.stack.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return {
            "visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"]),
            "delayed": int(attrs["ApproximateNumberOfMessagesDelayed"]),
        }

    def puts(self, name: str) -> int:
        """How many versions of a derived file S3 keeps (one per PUT: the bucket is versioned)."""
        versions = self.stack.client("s3").list_object_versions(
            Bucket=self.stack.names.bucket, Prefix=PREFIX + name
        )
        return sum(1 for v in versions.get("Versions", []) if v["Key"] == PREFIX + name)

    def pending(self) -> float | None:
        return self.store.load_for_rebuild(MEETING.meeting_id, MEETING.session_id)[1].pending

    def same_as_todays_builder(self) -> list[str]:
        reference = reference_files(
            self.stack.client("dynamodb"),
            self.stack.client("s3"),
            table=self.stack.names.sessions_table,
            bucket=self.stack.names.bucket,
            meeting_id=MEETING.meeting_id,
            session_id=MEETING.session_id,
        )
        return differences(reference, self.stack.objects(PREFIX))

    def drain(self, *, handler: Any = None) -> int:
        """Run the rebuilds consumer (the real handler) on every visible request; messages of an
        invocation that failed stay in flight (their visibility timeout)."""
        sqs = self.stack.client("sqs")
        handler = handler or load_handler(REBUILDS.lambda_handler)
        handled = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return handled
            handled += len(messages)
            event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:rebuilds", "us-east-1")
            result = invoke(
                handler, event, function_name="rebuilds", timeout_seconds=REBUILDS.timeout_seconds
            )
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )


@pytest.fixture
def rig(moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    url = moto_stack.resources.queue_urls[REBUILDS.name]
    monkeypatch.setenv("REBUILD_QUEUE_URL", url)
    monkeypatch.setenv("REBUILD_WINDOW_SECONDS", "0")  # the handler's own recorder: immediate re-asks
    wiring.reset()
    clock = Clock()
    store = SessionStore(moto_stack.names.sessions_table, moto_stack.client("dynamodb"))
    recorder = SessionRecorder(
        store,
        ArchiveStore(moto_stack.names.bucket, moto_stack.client("s3")),
        requests=SqsRebuildQueue(url, moto_stack.client("sqs")),
        window_seconds=WINDOW,
        stale_after_seconds=WINDOW + REBUILDS.timeout_seconds,
        clock=clock,
    )
    # Start the clock just after the session's window boundary: windowed requests wait the whole
    # window (SQS counts the delay in real time), so they stay delayed while the test looks.
    clock.now += recorder.window_delay(MEETING.session_id, clock.now) % WINDOW
    assert recorder.window_delay(MEETING.session_id, clock.now) == WINDOW
    yield Rig(moto_stack, store, clock, recorder, url)
    wiring.reset()


def test_a_burst_of_facts_sends_one_delayed_request_and_writes_nothing(rig: Rig) -> None:
    for payload in [STARTED, *PRESENCE]:
        assert rig.recorder.record_event(detail_of(payload))
    assert rig.queue() == {"visible": 0, "in_flight": 0, "delayed": 1}
    assert rig.stack.objects(PREFIX) == {}, "recording a fact writes no derived file"
    assert rig.pending() == rig.clock.now


def test_meeting_ended_and_artifacts_ask_for_an_immediate_rebuild(rig: Rig) -> None:
    rig.recorder.record_event(detail_of(STARTED))
    rig.recorder.record_event(detail_of(ENDED))
    assert rig.queue() == {"visible": 1, "in_flight": 0, "delayed": 1}
    record = ArtifactRecord(
        name="summary/summary", kind="summary", state=ArtifactState.FAILED, reason="empty"
    )
    rig.recorder.record_artifact(MEETING.meeting_id, MEETING.session_id, record)
    assert rig.queue()["visible"] == 2
    assert rig.drain() == 2
    assert rig.same_as_todays_builder() == []
    manifest = json.loads(rig.stack.objects(PREFIX)[PREFIX + "session.json"])
    assert manifest["rebuild"]["recordVersion"] == 3
    assert rig.pending() is None
    assert rig.puts("session.json") == 1, "the second request found the files current"


def test_only_changed_files_are_written(rig: Rig) -> None:
    for payload in [STARTED, *PRESENCE]:
        rig.recorder.record_event(detail_of(payload))
    rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)
    assert rig.puts("participants.json") == 1
    # A change that moves neither the roster, presence nor the time base (a recording would: times
    # count from its start): participant files are not rewritten.
    ended = next(p for p in PAYLOADS if p["event"] == "meeting.ended")
    rig.recorder.record_event(detail_of(ended))
    result = rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)
    assert result.put == ["index.html", "session.json"]  # the page shows the end too
    assert sorted(result.unchanged) == ["participant_events.json", "participants.json"]
    assert (rig.puts("participants.json"), rig.puts("participant_events.json"), rig.puts("session.json")) == (
        1,
        1,
        2,
    )
    # Nothing new: the rebuild does nothing at all.
    again = rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)
    assert again.skipped
    assert again.put == []
    assert rig.same_as_todays_builder() == []


def test_listing_items_are_rewritten_only_when_they_change(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    rows: list[dict[str, Any]] = []
    original = SessionStore.put_summary

    def counting(self: SessionStore, summary: Any, *, batch: bool = False) -> None:
        rows.append(summary.row)
        original(self, summary, batch=batch)

    monkeypatch.setattr(SessionStore, "put_summary", counting)
    for payload in [STARTED, *PRESENCE]:
        rig.recorder.record_event(detail_of(payload))
    rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)
    assert len(rows) == 1
    # A redelivered fact moves the record's version, so the session is rebuilt; only session.json
    # (its rebuild section) changes, and the listing items are left as they are.
    rig.recorder.record_event(detail_of(PRESENCE[0]))
    result = rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)
    assert not result.skipped
    assert result.put == ["session.json"]
    assert len(rows) == 1
    # The meeting ends: the row changes, so the items are written again.
    rig.recorder.record_event(detail_of(ENDED))
    rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)
    assert len(rows) == 2
    assert rows[0] != rows[1]
    assert rig.store.summary_row(MEETING.meeting_id, MEETING.session_id) == rows[1]


def test_rebuild_killed_mid_write_is_redone_when_its_request_comes_back(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function times out after writing some files: the flag stays set, SQS gives the request
    back after the visibility timeout, and the next attempt leaves the files of the whole record."""

    class Killed(BaseException):
        pass

    for payload in [STARTED, *PRESENCE, ENDED]:
        rig.recorder.record_event(detail_of(payload))
    real_put = ArchiveStore.put_bytes
    calls = {"n": 0}

    def dying_put(self: ArchiveStore, key: str, data: bytes, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed("timed out")
        return real_put(self, key, data, **kwargs)

    monkeypatch.setattr(ArchiveStore, "put_bytes", dying_put)
    sqs = rig.stack.client("sqs")
    messages = sqs.receive_message(QueueUrl=rig.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])[
        "Messages"
    ]
    handler = load_handler(REBUILDS.lambda_handler)
    with pytest.raises(Killed):
        invoke(
            handler,
            sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:rebuilds", "us-east-1"),
            function_name="rebuilds",
            timeout_seconds=120,
        )
    assert rig.pending() is not None, "the flag outlives the dead rebuild"
    assert PREFIX + "session.json" not in rig.stack.objects(PREFIX)
    for m in messages:  # the visibility timeout runs out
        sqs.change_message_visibility(
            QueueUrl=rig.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    assert rig.drain() >= 1
    assert rig.pending() is None
    assert rig.same_as_todays_builder() == []


def test_a_request_received_again_is_a_recheck_of_the_stored_files(rig: Rig) -> None:
    """GIVEN a session whose files are current, and a participants.json that an earlier, dead
    attempt left older than the record (the saved digests do not know it) WHEN a rebuild request
    comes back from SQS a second time THEN the rebuild compares every file with the stored object
    and writes the right one back; received the first time, it skips (the record is current)."""
    for payload in [STARTED, *PRESENCE, ENDED]:
        rig.recorder.record_event(detail_of(payload))
    rig.drain()
    assert rig.pending() is None
    right = rig.stack.objects(PREFIX)[PREFIX + "participants.json"]
    ArchiveStore(rig.stack.names.bucket, rig.stack.client("s3")).put_bytes(
        PREFIX + "participants.json", b"[]\n", content_type="application/json"
    )
    sqs = rig.stack.client("sqs")
    sqs.send_message(
        QueueUrl=rig.queue_url, MessageBody=RebuildRequest(MEETING.meeting_id, MEETING.session_id).to_body()
    )
    first = sqs.receive_message(QueueUrl=rig.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])[
        "Messages"
    ]
    handler = load_handler(REBUILDS.lambda_handler)
    invoke(
        handler,
        sqs_event(first, "arn:aws:sqs:us-east-1:123456789012:rebuilds", "us-east-1"),
        function_name="rebuilds",
        timeout_seconds=120,
    )
    assert rig.stack.objects(PREFIX)[PREFIX + "participants.json"] == b"[]\n"  # first receive: skipped
    for m in first:  # say that invocation timed out: the message comes back
        sqs.change_message_visibility(
            QueueUrl=rig.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    assert rig.drain() == 1
    assert rig.stack.objects(PREFIX)[PREFIX + "participants.json"] == right
    assert rig.same_as_todays_builder() == []


def test_the_sweep_and_a_rebuild_that_lost_the_race_ask_for_rechecks() -> None:
    sent: list[RebuildRequest] = []

    class Queue:
        def request(
            self, meeting_id: str, session_id: str, *, delay_seconds: int, recheck: bool = False
        ) -> None:
            sent.append(RebuildRequest(meeting_id, session_id, recheck=recheck))

    class Pending:
        def pending_since(self, older_than: float, *, limit: int = 500) -> list[tuple[str, str, float]]:
            return [("m", "s", older_than - 1)]

    request_stale_rebuilds(Pending(), Queue(), now=1000.0, stale_after_seconds=150)
    assert sent == [RebuildRequest("m", "s", recheck=True)]
    body = sent[0].to_body()
    assert json.loads(body) == {"meetingId": "m", "sessionId": "s", "recheck": True}
    assert RebuildRequest.from_body(body).recheck
    assert not RebuildRequest.from_body('{"meetingId":"m","sessionId":"s"}').recheck  # older requests


def test_a_lost_request_leaves_a_stale_flag_that_the_sweep_rebuilds(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request lost (or dead-lettered after failing maxReceiveCount times) leaves the flag set;
    once it is older than the window plus the function timeout, the reconcile sweep asks again."""
    for payload in [STARTED, *PRESENCE]:
        rig.recorder.record_event(detail_of(payload))
    # The delayed request is lost (say the DLQ was purged): drop it from the queue.
    rig.stack.client("sqs").purge_queue(QueueUrl=rig.queue_url)
    assert rig.queue() == {"visible": 0, "in_flight": 0, "delayed": 0}

    class NoRealtimeKit:
        def list_sessions(
            self, meeting_id: str | None = None, *, status: str | None = None, **_filters: Any
        ) -> list[Any]:
            return []

    reconciler = Reconciler(
        settings=ReconcileSettings(EVENT_BUS_NAME="bus", SESSIONS_TABLE=rig.stack.names.sessions_table),
        store=rig.store,
        publisher=None,  # type: ignore[arg-type]  # nothing to publish: RealtimeKit lists no session
        client=NoRealtimeKit,  # type: ignore[arg-type]
        rebuilds=SqsRebuildQueue(rig.queue_url, rig.stack.client("sqs")),
        pending=rig.store,
        stale_rebuild_seconds=WINDOW + REBUILDS.timeout_seconds,
    )
    # Within the window plus the timeout: not stale yet.
    early = reconciler.sweep(time_left=lambda: 300.0, now=rig.clock.now + WINDOW)
    assert early.stale_rebuilds == []
    report = reconciler.sweep(
        time_left=lambda: 300.0, now=rig.clock.now + WINDOW + REBUILDS.timeout_seconds + 1
    )
    assert report.stale_rebuilds == [(MEETING.meeting_id, MEETING.session_id)]
    assert rig.queue()["visible"] == 1
    assert rig.drain() == 1
    assert rig.pending() is None
    assert rig.same_as_todays_builder() == []
    # Rebuilt: the sparse index no longer lists the session.
    assert rig.store.pending_since(rig.clock.now + 10_000) == []


def test_a_fact_after_a_stale_flag_asks_again_at_once(rig: Rig) -> None:
    rig.recorder.record_event(detail_of(STARTED))
    rig.stack.client("sqs").purge_queue(QueueUrl=rig.queue_url)  # the request is lost
    rig.clock.now += WINDOW + REBUILDS.timeout_seconds + 1
    rig.recorder.record_event(detail_of(PRESENCE[0]))
    assert rig.queue()["visible"] == 1


def test_facts_arriving_during_a_rebuild_get_their_own(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record moves on while a rebuild works: its writer saw the flag set and sent nothing, so the
    rebuild keeps the flag and asks again (after the window)."""
    rig.recorder.record_event(detail_of(STARTED))
    rig.stack.client("sqs").purge_queue(QueueUrl=rig.queue_url)
    real_save = SessionStore.save_written

    def save_then_race(self: SessionStore, meeting_id: str, session_id: str, written: dict[str, str]) -> None:
        real_save(self, meeting_id, session_id, written)
        monkeypatch.setattr(SessionStore, "save_written", real_save)
        rig.recorder.record_event(detail_of(PRESENCE[0]))  # arrives mid-rebuild

    monkeypatch.setattr(SessionStore, "save_written", save_then_race)
    result = rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)
    assert not result.finished
    assert rig.pending() is not None
    assert rig.queue()["delayed"] == 1
    result = rig.recorder.rebuild(MEETING.meeting_id, MEETING.session_id)  # the delayed request, due
    assert result.finished
    assert rig.pending() is None
    assert rig.same_as_todays_builder() == []
