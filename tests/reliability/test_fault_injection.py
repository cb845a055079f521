"""Fault injection on a full sample session: whatever goes wrong (within what the pipeline promises
to survive), the final bucket and session.json are those of a clean run.

Compared object by object with the clean run (``conftest.clean_run``): same keys, same bytes, except
each artifact's ``archived_at`` in session.json (the wall-clock time of its download). In the
scenario where meeting.transcript never arrives, its raw body cannot be in ``events/`` and
session.json's ``events`` summary counts one webhook less; everything else, the transcript and every
file derived from it included, must still be identical."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from shared.archive.keys import session_prefix
from shared.session.intake import raw_event_key
from shared.session.store import SessionStore
from tests.reliability.harness import (
    FILE_PATHS,
    Pipeline,
    Servers,
    WorkerKilled,
    compare,
    manifest_duplicates,
    running_pipeline,
)
from tests.support.derived import differences, reference_files
from tests.support.figures import record_figure

RecordProperty = Callable[[str, object], None]


def assert_same_as_clean(
    pipeline: Pipeline,
    clean: dict[str, bytes],
    servers: Servers,
    record_property: RecordProperty,
    *,
    never_sent: set[str] = frozenset(),  # type: ignore[assignment]
    drop_manifest_sections: tuple[str, ...] = (),
) -> None:
    got = pipeline.objects()
    result = compare(clean, got, never_sent=never_sent, drop_manifest_sections=drop_manifest_sections)
    duplicated = len(result.duplicated) + len(manifest_duplicates(got, servers.meeting))
    record_figure(
        record_property,
        "reliability",
        scenarios=1,
        lost=len(result.lost) + len(result.differing),
        duplicated=duplicated,
    )
    assert pipeline.dead_letters() == {}
    assert result.lost == []
    assert result.differing == []
    assert result.duplicated == []
    assert manifest_duplicates(got, servers.meeting) == []
    assert not [s for s in pipeline.statuses if s != 202]
    assert_same_as_todays_builder(pipeline, servers, got)


def assert_same_as_todays_builder(pipeline: Pipeline, servers: Servers, got: dict[str, bytes]) -> None:
    """The files the coalesced rebuilds left are byte for byte what today's builder makes of the final
    record (session.json apart from its rebuild section), and session.json says which version."""
    assert pipeline.invocations.get("rebuilds", 0) > 0, "the files come from the rebuild queue"
    meeting = servers.meeting
    reference = reference_files(
        pipeline.client("dynamodb"),
        pipeline.client("s3"),
        table=pipeline.names.sessions_table,
        bucket=pipeline.names.bucket,
        meeting_id=meeting.meeting_id,
        session_id=meeting.session_id,
    )
    assert len(reference) >= 9  # session, participants (2), transcript (5), chat
    assert differences(reference, got) == []
    manifest_key = session_prefix(meeting.meeting_id, meeting.session_id) + "session.json"
    _, version = SessionStore(pipeline.names.sessions_table, pipeline.client("dynamodb")).load(
        meeting.meeting_id, meeting.session_id
    )
    assert json.loads(got[manifest_key])["rebuild"]["recordVersion"] == version


def deliver_all(pipeline: Pipeline, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        assert pipeline.deliver(payload) == 202


def test_clean_run_archives_every_artifact(
    servers: Servers, clean_run: dict[str, bytes], record_property: RecordProperty
) -> None:
    prefix = session_prefix(servers.meeting.meeting_id, servers.meeting.session_id)
    files = servers.meeting.files()
    recording_folder = f"{prefix}recordings/{servers.meeting.recording_id}/"
    assert clean_run[recording_folder + "weekly-sync.mp4"] == files["recording.mp4"][0]
    assert clean_run[recording_folder + "weekly-sync-audio.mp3"] == files["recording.mp3"][0]
    assert clean_run[prefix + "transcript/source.csv"] == files["transcript.csv"][0]
    assert clean_run[prefix + "summary/summary.md"] == files["summary.md"][0]
    assert clean_run[prefix + "chat/source.csv"] == files["chat.csv"][0]
    events = [key for key in clean_run if "/events/" in key]
    assert len(events) == len(servers.webhooks())
    record_figure(record_property, "reliability", scenarios=1, lost=0, duplicated=0)


def test_every_webhook_delivered_three_times(
    servers: Servers, clean_run: dict[str, bytes], record_property: RecordProperty
) -> None:
    with running_pipeline(servers) as pipeline:
        deliver_all(pipeline, servers.webhooks())
        pipeline.pump()
        # RealtimeKit retries: once after everything was processed, once more in a burst.
        deliver_all(pipeline, servers.webhooks())
        deliver_all(pipeline, servers.webhooks())
        pipeline.pump()
        assert servers.files.hits(FILE_PATHS["recording.mp4"]) >= 1
        assert_same_as_clean(pipeline, clean_run, servers, record_property)
        recording_gets = [r for r in servers.files.requests if r.path == FILE_PATHS["recording.mp4"]]
        assert len(recording_gets) <= 2, "each recording is downloaded once (a part per ranged GET at most)"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_events_shuffled(
    seed: int, servers: Servers, clean_run: dict[str, bytes], record_property: RecordProperty
) -> None:
    payloads = servers.webhooks()
    random.Random(seed).shuffle(payloads)
    with running_pipeline(servers) as pipeline:
        for i, payload in enumerate(payloads):
            assert pipeline.deliver(payload) == 202
            if i % 4 == seed % 4:  # interleave processing with arrivals
                pipeline.pump()
        pipeline.pump()
        assert_same_as_clean(pipeline, clean_run, servers, record_property)


@pytest.mark.parametrize(
    "consumer", ["sessions", "recordings", "transcripts", "summaries", "chat", "rebuilds"]
)
def test_one_consumer_fails_twice_then_recovers(
    consumer: str, servers: Servers, clean_run: dict[str, bytes], record_property: RecordProperty
) -> None:
    from local.lambda_runtime import load_handler
    from shared.fanout.routing import REBUILDS, ROUTES_BY_NAME

    real = load_handler({**ROUTES_BY_NAME, REBUILDS.name: REBUILDS}[consumer].lambda_handler)
    failures = {"left": 2}

    def failing_twice(event: dict[str, Any], context: Any) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError(f"{consumer} is down (injected)")
        return real(event, context)

    with running_pipeline(servers) as pipeline:
        pipeline.handlers[consumer] = failing_twice
        deliver_all(pipeline, servers.webhooks())
        pipeline.pump()
        assert failures["left"] == 0
        assert_same_as_clean(pipeline, clean_run, servers, record_property)


@pytest.fixture
def failing_s3_writes(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """S3 answers 503 SlowDown / 500 InternalError to some writes (after the SDK's own retries)."""
    real = botocore.client.BaseClient._make_api_call
    state: dict[str, Any] = {"writes": 0, "failed": [], "fail_at": {2, 5, 9, 14, 20, 27, 35}}

    def flaky(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation in {"PutObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload"}:
            state["writes"] += 1
            if state["writes"] in state["fail_at"]:
                state["failed"].append((operation, params.get("Key")))
                code = "SlowDown" if state["writes"] % 2 else "InternalError"
                raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", flaky)
    return state


def test_s3_errors_on_some_writes(
    servers: Servers,
    clean_run: dict[str, bytes],
    record_property: RecordProperty,
    failing_s3_writes: dict[str, Any],
) -> None:
    with running_pipeline(servers) as pipeline:
        deliver_all(pipeline, servers.webhooks())
        pipeline.pump()
        assert len(failing_s3_writes["failed"]) >= 5
        assert_same_as_clean(pipeline, clean_run, servers, record_property)


def test_source_connection_drops(
    servers: Servers, clean_run: dict[str, bytes], record_property: RecordProperty
) -> None:
    files = servers.meeting.files()
    with running_pipeline(servers) as pipeline:
        for name, drop_after, reset in (
            ("recording.mp4", 3 * 1024 * 1024, False),
            ("recording.mp3", 100_000, True),
            ("transcript.csv", 200, False),
            ("chat.csv", 100, True),
            ("summary.md", 50, False),
        ):
            data, ctype = files[name]
            servers.files.serve(
                FILE_PATHS[name], data, content_type=ctype, drop_after=drop_after, drops=2, reset=reset
            )
        deliver_all(pipeline, servers.webhooks())
        pipeline.pump()
        dropped = {name: servers.files.resource(path).dropped for name, path in FILE_PATHS.items()}
        assert all(count >= 1 for count in dropped.values()), dropped
        assert_same_as_clean(pipeline, clean_run, servers, record_property)


def test_expired_urls_are_refreshed(
    servers: Servers, clean_run: dict[str, bytes], record_property: RecordProperty
) -> None:
    """The webhook URLs answer 403 (their signature expired); fresh ones come from the REST API."""
    files = servers.meeting.files()
    with running_pipeline(servers) as pipeline:
        for name, (data, ctype) in files.items():
            servers.files.serve(FILE_PATHS[name], data, content_type=ctype, status=403)
        before = len(servers.standin.log.requests)
        deliver_all(pipeline, servers.webhooks())
        pipeline.pump()
        rest = [path for _, path in servers.standin.log.requests[before:] if "/realtime/kit/" in path]
        assert any(path.endswith("/transcript") for path in rest)
        assert any("/recordings/" in path for path in rest)
        assert_same_as_clean(pipeline, clean_run, servers, record_property)


def test_transcript_webhook_never_arrives_and_the_sweep_recovers_it(
    servers: Servers, clean_run: dict[str, bytes], record_property: RecordProperty
) -> None:
    payloads = servers.webhooks()
    transcript = next(p for p in payloads if p["event"] == "meeting.transcript")
    with running_pipeline(servers) as pipeline:
        deliver_all(pipeline, [p for p in payloads if p is not transcript])
        pipeline.pump()  # the reconcile queue runs last: the delay after meeting.ended
        assert pipeline.invocations.get("reconcile", 0) >= 1
        assert pipeline.invocations.get("transcripts", 0) >= 1
        # The webhook body never arrived, so its raw copy cannot be in events/, and session.json's
        # ``events`` summary counts one webhook less. Everything else must be identical.
        import json as _json
        from datetime import UTC, datetime

        from shared.ingest.envelope import build_detail

        never = raw_event_key(
            build_detail(
                _json.dumps(transcript, separators=(",", ":")).encode(),
                received_at=datetime.now(UTC),
                delivery_id=None,
                webhook_id=None,
                signature_header="rtk-signature",
            )
        )
        assert never in clean_run
        assert_same_as_clean(
            pipeline,
            clean_run,
            servers,
            record_property,
            never_sent={never},
            drop_manifest_sections=("events",),
        )


def test_worker_killed_mid_download_is_retried_after_in_progress_expiry(
    servers: Servers,
    clean_run: dict[str, bytes],
    record_property: RecordProperty,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = botocore.client.BaseClient._make_api_call
    kills = {"left": 1}

    def dies_on_second_part(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UploadPart" and params.get("PartNumber") == 2 and kills["left"]:
            kills["left"] -= 1
            raise WorkerKilled("the recordings function ran out of time mid-download")
        return real(self, operation, params)

    with running_pipeline(servers) as pipeline:
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", dies_on_second_part)
        deliver_all(pipeline, servers.webhooks())
        # Before the reconcile delay passes (a sweep meanwhile would find the recording locked
        # IN_PROGRESS and be retried after its visibility timeout, by when the lock has expired).
        pipeline.pump(reconcile=False)
        assert kills["left"] == 0, "the worker was killed"
        assert pipeline.killed
        in_progress = [
            i for i in pipeline.idempotency_items() if i.get("status", {}).get("S") == "INPROGRESS"
        ]
        assert len(in_progress) == 1, "the crash left the recording's idempotency record IN_PROGRESS"
        # A crashed Lambda's IN_PROGRESS record expires with its timeout; so does the message's
        # visibility. Both have passed:
        table = pipeline.names.idempotency_table
        for item in in_progress:
            pipeline.client("dynamodb").update_item(
                TableName=table,
                Key={"id": item["id"]},
                UpdateExpression="SET in_progress_expiration = :past",
                ExpressionAttributeValues={":past": {"N": "1000"}},
            )
        pipeline.expire_killed()
        pipeline.pump()
        statuses = {i["status"]["S"] for i in pipeline.idempotency_items()}
        assert statuses == {"COMPLETED"}
        assert_same_as_clean(pipeline, clean_run, servers, record_property)
