"""Concurrent writers to one session, truly concurrent (threads on moto): whatever the interleaving,
once every ``record_*`` call has returned, and every rebuild request it left has run,
``session.json`` and the participant files reflect every fact recorded. No fact is lost to a writer
that read the record before another wrote to it.

Demonstrated once: with the version check in ``SessionRecorder.rebuild``'s loop replaced by
``if True`` (the writer stops after its first rewrite), ``test_a_writer_that_read_an_older_record_does_not_have_the_last_word``
fails: the first writer's stale files, written last, miss the second writer's participant
("assert ['Alice'] == ['Alice', 'Bob']"). With the check, the stale writer sees the record moved
on and rewrites the files from the latest record. ``test_an_older_rebuild_whose_files_land_last_is_rechecked``
is the same race between two queued rebuilds, where the newer one finishes last."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import wiring
from shared.adapters.s3 import ArchiveStore, StoredObject
from shared.archive.keys import session_prefix
from shared.ingest.envelope import WebhookDetail, build_detail
from shared.session.model import ArtifactRecord, ArtifactState
from shared.session.recorder import SessionRecorder
from shared.session.store import SessionStore
from tests.integration.conftest import MotoStack
from tests.support.moto_atomic import serialize_dynamodb

MEETING, SESSION = "m-concurrent", "s-concurrent"
PREFIX = session_prefix(MEETING, SESSION)


@pytest.fixture(autouse=True)
def _atomic_item_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB isolates each single-item write; in-process moto does not (tests.support.moto_atomic)."""
    serialize_dynamodb(monkeypatch)


def joined(name: str, second: int) -> WebhookDetail:
    body = json.dumps(
        {
            "event": "meeting.participantJoined",
            "meeting": {"id": MEETING, "sessionId": SESSION},
            "participant": {
                "peerId": f"peer-{name}",
                "userId": f"user-{name}",
                "userDisplayName": name,
                "joinedAt": f"2026-06-03T10:00:{second:02d}.000Z",
            },
        }
    ).encode()
    return build_detail(
        body,
        received_at=datetime.now(UTC),
        delivery_id=None,
        webhook_id=None,
        signature_header="rtk-signature",
    )


def manifest(stack: MotoStack) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stack.objects(PREFIX)[PREFIX + "session.json"])
    return document


def test_a_writer_that_read_an_older_record_does_not_have_the_last_word(moto_stack: MotoStack) -> None:
    """Writer A records Alice and, holding the record as it read it, stalls before writing
    session.json; writer B records Bob and finishes; then A writes. The files must list both."""
    recorder = wiring.session_recorder()
    store: ArchiveStore = recorder._archive
    real_put = store.put_bytes
    a_is_writing, b_done = threading.Event(), threading.Event()
    writer_a = threading.current_thread  # replaced below by A's thread object

    def put_bytes(key: str, data: bytes, **kwargs: Any) -> StoredObject:
        if (
            key.endswith("session.json")
            and threading.current_thread() is writer_a
            and not a_is_writing.is_set()
        ):
            a_is_writing.set()
            b_done.wait(timeout=20)  # B records and publishes meanwhile
        return real_put(key, data, **kwargs)

    store.put_bytes = put_bytes  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def record(detail: WebhookDetail, done: threading.Event | None = None) -> None:
        try:
            assert recorder.record_event(detail)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            if done is not None:
                done.set()

    thread_a = threading.Thread(target=record, args=(joined("Alice", 1),))
    thread_b = threading.Thread(target=record, args=(joined("Bob", 2), b_done))
    writer_a = thread_a  # type: ignore[assignment]
    thread_a.start()
    assert a_is_writing.wait(timeout=20)
    thread_b.start()
    thread_a.join(timeout=60)
    thread_b.join(timeout=60)
    assert errors == []
    assert b_done.is_set()
    assert [p["name"] for p in manifest(moto_stack)["participants"]] == ["Alice", "Bob"]
    people = json.loads(moto_stack.objects(PREFIX)[PREFIX + "participants.json"])
    assert [p["name"] for p in people] == ["Alice", "Bob"]


def test_many_concurrent_record_calls_lose_no_fact(moto_stack: MotoStack) -> None:
    """Eight threads, each recording webhooks and artifacts of one session at once."""
    recorder = wiring.session_recorder()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for k in range(3):
                assert recorder.record_event(joined(f"P{n}-{k}", n * 3 + k))
            recorder.record_artifact(
                MEETING,
                SESSION,
                ArtifactRecord(name=f"extra/{n}", kind="test", state=ArtifactState.FAILED, reason="test"),
            )
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    final = manifest(moto_stack)
    assert final["events"]["count"] == 24
    assert len(final["participants"]) == 24
    assert sorted(a["name"] for a in final["artifacts"]) == [f"extra/{n}" for n in range(8)]


class _Requests:
    """Rebuild requests as they would go on the queue."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, bool]] = []

    def request(self, meeting_id: str, session_id: str, *, delay_seconds: int, recheck: bool = False) -> None:
        self.sent.append((meeting_id, session_id, recheck))


def test_an_older_rebuild_whose_files_land_last_is_rechecked(moto_stack: MotoStack) -> None:
    """GIVEN rebuild A loading the record with Alice only, then Bob joining and rebuild B loading
    that and writing its files, then A's older files landing over B's, A finding the record moved on,
    and B finishing last (so the record says the files are current, and the saved digests are B's)
    WHEN the request A left runs THEN it rewrites the files: both people, the latest version."""
    ddb, s3 = moto_stack.client("dynamodb"), moto_stack.client("s3")
    bucket, table = moto_stack.names.bucket, moto_stack.names.sessions_table
    requests = _Requests()
    b_wrote, a_done = threading.Event(), threading.Event()
    writer = SessionRecorder(SessionStore(table, ddb), ArchiveStore(bucket, s3), requests=requests)

    class SlowArchive(ArchiveStore):  # A: Bob joins, and B rebuilds, before any of A's PUTs
        held = False
        first = threading.Lock()  # A's PUTs run side by side: the first one starts B

        def put_bytes(self, key: str, data: bytes, **kwargs: Any) -> StoredObject:
            with self.first:
                if not self.held:
                    self.held = True
                    writer.record_event(joined("Bob", 2))
                    thread_b.start()
            assert b_wrote.wait(20)
            return super().put_bytes(key, data, **kwargs)

    class SlowStore(SessionStore):  # B: every file written; it finishes only after A
        def save_written(self, meeting_id: str, session_id: str, written: dict[str, str]) -> None:
            b_wrote.set()
            assert a_done.wait(20)
            super().save_written(meeting_id, session_id, written)

    writer.record_event(joined("Alice", 1))
    rebuild_a = SessionRecorder(SessionStore(table, ddb), SlowArchive(bucket, s3), requests=requests)
    rebuild_b = SessionRecorder(SlowStore(table, ddb), ArchiveStore(bucket, s3), requests=requests)
    results = {}
    thread_b = threading.Thread(target=lambda: results.update(b=rebuild_b.rebuild(MEETING, SESSION)))
    try:
        results["a"] = rebuild_a.rebuild(MEETING, SESSION)
    finally:
        a_done.set()
    thread_b.join(timeout=60)
    assert (results["a"].version, results["a"].finished) == (1, False)
    assert (results["b"].version, results["b"].finished) == (2, True)
    stale = json.loads(moto_stack.objects(PREFIX)[PREFIX + "participants.json"])
    assert [p["name"] for p in stale] == ["Alice"]  # A's files, written last
    assert requests.sent[-1] == (MEETING, SESSION, True)  # A asked for a recheck

    followup = SessionRecorder(SessionStore(table, ddb), ArchiveStore(bucket, s3), requests=requests)
    result = followup.rebuild(MEETING, SESSION, recheck=requests.sent[-1][2])
    assert not result.skipped
    assert "participants.json" in result.put
    people = json.loads(moto_stack.objects(PREFIX)[PREFIX + "participants.json"])
    assert [p["name"] for p in people] == ["Alice", "Bob"]
    final = manifest(moto_stack)
    assert [p["name"] for p in final["participants"]] == ["Alice", "Bob"]
    assert final["rebuild"]["recordVersion"] == 2
