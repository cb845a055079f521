"""Transcript, chat and summary consumers on moto + the RealtimeKit stand-in: what lands in the
session folder, in which formats, and what happens to empty, odd or expired files."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import srt
import webvtt

from local.lambda_runtime import invoke, load_handler
from local.sample_meeting import SampleMeeting
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState
from shared import wiring
from shared.archive.keys import session_prefix
from shared.ingest.envelope import WebhookDetail, build_detail
from shared.normalize.seed_models import (
    ParticipantEventsDocument,
    ParticipantsDocument,
    SpeakerTimelineDocument,
    TranscriptDocument,
)
from tests.integration.conftest import MotoStack, serve_meeting
from tests.support.webhooks import bus_record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HANDLERS = {
    "meeting.transcript": load_handler("functions.transcripts.handler.handler"),
    "meeting.chatSynced": load_handler("functions.chat.handler.handler"),
    "meeting.summary": load_handler("functions.summaries.handler.handler"),
}
MEETING = SampleMeeting(recording_bytes=1024, audio_bytes=512)
PREFIX = session_prefix(MEETING.meeting_id, MEETING.session_id)
FUTURE = (datetime.now(UTC) + timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def standin(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    yield from serve_meeting(moto_stack, monkeypatch, MEETING)


def webhooks(standin: RealtimeKitStandin) -> list[dict[str, Any]]:
    urls = {name: f"{standin.base_url}/files/{name}" for name in MEETING.files()}
    payloads = MEETING.webhooks(urls)
    for payload in payloads:  # the sample meeting is dated in the past: give its URLs a future expiry
        for field in ("transcriptDownloadUrlExpiry", "summaryDownloadUrlExpiry", "chatDownloadUrlExpiry"):
            if field in payload:
                payload[field] = FUTURE
    return payloads


def detail_of(payload: dict[str, Any]) -> WebhookDetail:
    body = json.dumps(payload).encode()
    return build_detail(
        body, received_at=datetime.now(UTC), delivery_id="d", webhook_id="w", signature_header="rtk-signature"
    )


def deliver(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every webhook to the sessions record, and the artifact ones to their consumer."""
    results = []
    for payload in payloads:
        detail = detail_of(payload)
        wiring.session_recorder().record_event(detail)
        handler = HANDLERS.get(str(payload["event"]))
        if handler is not None:
            results.append(
                invoke(
                    handler, {"Records": [bus_record(detail)]}, function_name="artifacts", timeout_seconds=120
                )
            )
    return results


def folder(stack: MotoStack) -> dict[str, bytes]:
    return {
        key.removeprefix(PREFIX): data for key, data in stack.objects(PREFIX).items() if "/events/" not in key
    }


def test_whole_session_lands_in_open_formats(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    assert all(r == {"batchItemFailures": []} for r in deliver(webhooks(running)))
    files = folder(moto_stack)
    assert files["transcript/source.csv"] == MEETING.transcript_csv()
    assert files["chat/source.csv"] == MEETING.chat_csv()
    assert files["summary/summary.md"] == MEETING.summary_markdown()

    transcript = TranscriptDocument.validate_json(files["transcript/transcript.json"])
    participants = ParticipantsDocument.validate_json(files["participants.json"])
    SpeakerTimelineDocument.validate_json(files["transcript/speaker_timeline.json"])
    ParticipantEventsDocument.validate_json(files["participant_events.json"])
    assert len(transcript) == 7
    ids = {p.name: p.id for p in participants}
    assert [ids[e.participant.name] for e in transcript if e.participant.name] == [
        e.participant.id for e in transcript
    ]
    # Seed 002: "relative - represents the time in seconds from the start of the recording". The
    # sample's recording started 2 s after the session (startedTime 10:00:02); Alice spoke at 1.2 s
    # into the session, 0.8 s before the recording began.
    first = transcript[0].words[0]
    assert (first.text, first.start_timestamp.relative) == ("Good morning everyone, let's get started.", -0.8)
    assert first.start_timestamp.absolute == "2026-06-03T10:00:01.200000Z"
    second = transcript[1].words[0]
    assert second.start_timestamp.relative == 3.4  # 5.4 s into the session, 3.4 s into the recording

    # The captions line up with the archived recording: a cue starts at the utterance's offset
    # into the recording (and one before the recording's start is shown at 0).
    captions = webvtt.from_buffer(io.StringIO(files["transcript/transcript.vtt"].decode()))
    assert len(captions) == 7
    assert captions[1].text.startswith("José Müller: Morning!")
    assert captions[1].start_time.in_milliseconds() / 1000 == 3.4 == second.start_timestamp.relative
    assert captions[0].start == "00:00:00.000"
    subtitle_starts = [
        s.start.total_seconds() for s in srt.parse(files["transcript/transcript.srt"].decode())
    ]
    assert subtitle_starts[1] == 3.4
    manifest_base = json.loads(files["session.json"])["timeBase"]
    assert manifest_base == {
        "relativeTo": "recording_start",
        "origin": "2026-06-03T10:00:02.000000Z",
        "recordingId": MEETING.recording_id,
    }
    subtitles = list(srt.parse(files["transcript/transcript.srt"].decode()))
    assert subtitles[2].content == 'Chen "CJ" Jie: Quick note: the "beta" flag ships Friday, not Thursday.'
    assert (
        files["transcript/transcript.txt"].decode().splitlines()[0]
        == "[00:00:00] Alice Ng: Good morning everyone, let's get started."
    )

    chat = json.loads(files["chat/chat.json"])
    assert [m["id"] for m in chat] == ["msg-1", "msg-2", "msg-3"]

    manifest = json.loads(files["session.json"])
    states = {a["name"]: a["state"] for a in manifest["artifacts"]}
    assert states == {
        "transcript/source": "archived",
        "chat/source": "archived",
        "summary/summary": "archived",
    }
    derived = {f["path"] for f in manifest["derivedFiles"]}
    assert {"transcript/transcript.vtt", "chat/chat.json", "participants.json"} <= derived


def test_zero_byte_transcript_is_a_failed_artifact_not_an_archive(
    moto_stack: MotoStack, standin: Any
) -> None:
    running, _ = standin
    running.host_file("transcript.csv", b"", "text/csv")
    payloads = [p for p in webhooks(running) if p["event"] in ("meeting.started", "meeting.transcript")]
    assert deliver(payloads) == [{"batchItemFailures": []}]
    files = folder(moto_stack)
    assert not any(name.startswith("transcript/") for name in files)
    failed = json.loads(files["session.json"])["artifacts"][0]
    assert failed["state"] == "failed"
    assert failed["reason"] == "empty"
    assert "empty" in failed["message"]


def test_format_is_detected_by_content_not_url_suffix(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    running.host_file(
        "transcript.csv", (FIXTURES / "transcripts" / "realtimekit.json").read_bytes(), "text/csv"
    )
    payloads = [p for p in webhooks(running) if p["event"] == "meeting.transcript"]
    deliver(payloads)
    files = folder(moto_stack)
    assert "transcript/source.json" in files
    assert "transcript/source.csv" not in files
    assert TranscriptDocument.validate_json(files["transcript/transcript.json"])


def test_expired_transcript_url_is_refreshed_through_the_rest_api(
    moto_stack: MotoStack, standin: Any
) -> None:
    running, _ = standin
    payload = next(p for p in webhooks(running) if p["event"] == "meeting.transcript")
    payload["transcriptDownloadUrlExpiry"] = "2026-06-10T10:30:00.000Z"  # in the past
    assert deliver([payload]) == [{"batchItemFailures": []}]
    assert (
        "GET",
        f"/client/v4/accounts/local-account/realtime/kit/local-app/sessions/{MEETING.session_id}/transcript",
    ) in running.log.requests
    assert folder(moto_stack)["transcript/source.csv"] == MEETING.transcript_csv()


def test_transcript_gone_from_realtimekit_is_recorded_and_dead_lettered(
    moto_stack: MotoStack, standin: Any
) -> None:
    running, state = standin
    running.files["transcript.csv"].available = False
    state.sessions.clear()
    payload = next(p for p in webhooks(running) if p["event"] == "meeting.transcript")
    assert deliver([payload]) == [{"batchItemFailures": [{"itemIdentifier": "m-1"}]}]
    artifact = json.loads(folder(moto_stack)["session.json"])["artifacts"][0]
    assert (artifact["state"], artifact["reason"]) == ("failed", "gone")


def test_late_join_rewrites_transcript_participant_ids(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    payloads = webhooks(running)
    deliver(payloads)
    reference = folder(moto_stack)
    for key in moto_stack.objects():
        moto_stack.client("s3").delete_object(Bucket=moto_stack.names.bucket, Key=key)
    ddb = moto_stack.client("dynamodb")
    for table in (moto_stack.names.sessions_table, moto_stack.names.idempotency_table):
        for item in ddb.scan(TableName=table)["Items"]:
            ddb.delete_item(
                TableName=table, Key={k: item[k] for k in (("pk", "sk") if "sk" in item else ("id",))}
            )
    artifacts_first = sorted(payloads, key=lambda p: p["event"] not in HANDLERS)  # files before the joins
    deliver(artifacts_first)
    again = folder(moto_stack)
    for name in ("transcript/transcript.json", "participants.json", "chat/chat.json", "session.json"):
        if name == "session.json":
            # archived_at and the rebuild's time differ
            strip = lambda d: {k: v for k, v in json.loads(d).items() if k not in ("artifacts", "rebuild")}  # noqa: E731
            assert strip(again[name]) == strip(reference[name])
        else:
            assert again[name] == reference[name], name


def test_plain_text_summary_is_kept_as_txt(moto_stack: MotoStack, standin: Any) -> None:
    running, _ = standin
    running.host_file(
        "summary.md", b"The team agreed to ship on Friday.\nChen updates the FAQ.\n", "text/plain"
    )
    payload = next(p for p in webhooks(running) if p["event"] == "meeting.summary")
    assert deliver([payload]) == [{"batchItemFailures": []}]
    assert folder(moto_stack)["summary/summary.txt"].startswith(b"The team agreed")
