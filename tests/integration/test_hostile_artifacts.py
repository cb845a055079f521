"""Hostile transcripts and chat exports through the real consumers on moto: each is stored as
served before it is parsed, a parser failure of any kind is a failed artifact (never a retry), files
over the parse limits are kept and marked ``too_large``, downloads end within the Lambda's time,
and no log line carries the files' text."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from local.lambda_runtime import invoke
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState
from shared.normalize.errors import MAX_SOURCE_BYTES, MAX_SOURCE_ENTRIES
from tests.integration.conftest import MotoStack, serve_meeting
from tests.integration.test_session_artifacts import HANDLERS, MEETING, detail_of, folder, webhooks
from tests.support.http_source import HttpSource
from tests.support.webhooks import bus_record

SECRET = "Quarterly-layoffs-list-Confidential"  # meeting content that must never reach a log


@pytest.fixture
def standin(
    moto_stack: MotoStack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RealtimeKitStandin, StandinRestState]]:
    yield from serve_meeting(moto_stack, monkeypatch, MEETING)


def artifact_event(running: RealtimeKitStandin, event: str) -> dict[str, Any]:
    return next(p for p in webhooks(running) if p["event"] == event)


def consume(payload: dict[str, Any], *, timeout_seconds: int = 120) -> dict[str, Any]:
    detail = detail_of(payload)
    result: dict[str, Any] = invoke(
        HANDLERS[str(payload["event"])],
        {"Records": [bus_record(detail)]},
        function_name="artifacts",
        timeout_seconds=timeout_seconds,
    )
    return result


def artifact(stack: MotoStack, name: str) -> dict[str, Any]:
    manifest = json.loads(folder(stack)["session.json"])
    found: dict[str, Any] = next(a for a in manifest["artifacts"] if a["name"] == name)
    return found


HOSTILE_TRANSCRIPTS: dict[str, tuple[bytes, str, str | None]] = {
    "deep_json": (b"[" * 100_000, "json", "unparseable"),
    "deep_objects": (b'{"a":' * 60_000, "json", "unparseable"),
    "json_not_parsing": (
        f'[{{"startTime": 1, "sentence": "{SECRET}"'.encode(),
        "json",
        "unrecognized_format",
    ),
    "json_wrong_shape": (json.dumps({"note": SECRET}).encode(), "json", "unrecognized_format"),
    "json_sentence_not_text": (
        json.dumps([{"startTime": 1, "sentence": {"t": SECRET}}]).encode(),
        "json",
        "malformed",
    ),
    "json_time_is_text": (json.dumps([{"startTime": SECRET, "sentence": "x"}]).encode(), "json", "malformed"),
    "csv_time_is_text": (f"{SECRET},p,u,c,Alice,{SECRET}\n".encode(), "csv", "unrecognized_format"),
    "csv_bad_row": (f"1000,p,u,c,Alice,ok\n{SECRET},p,u,c,Alice,{SECRET}\n".encode(), "csv", "malformed"),
    "csv_short_row": (f"1000,p,u,c,Alice,ok\n2000,{SECRET}\n".encode(), "csv", "malformed"),
    "csv_nul": (f"1000,p,u,c,Alice,{SECRET}\x00\n".encode(), "csv", None),  # read: NUL dropped on output
    "not_utf8": (SECRET.encode() + b",\xff\xfe\n", "bin", "unrecognized_format"),
    "plain_text": (f"{SECRET} said hello\n".encode(), "txt", "unrecognized_format"),
    "too_many_lines": (b"1000,p,u,c,A,x\n" * (MAX_SOURCE_ENTRIES + 1), "csv", "too_large"),
    "too_many_json_values": (b"[" + b"1," * 300_001 + b"1]", "json", "too_large"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TRANSCRIPTS))
def test_hostile_transcripts_are_stored_then_failed_never_retried(
    moto_stack: MotoStack, standin: Any, case: str, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    running, _ = standin
    data, ext, reason = HOSTILE_TRANSCRIPTS[case]
    running.host_file("transcript.csv", data, "text/csv")
    caplog.set_level(logging.INFO)
    assert consume(artifact_event(running, "meeting.transcript")) == {"batchItemFailures": []}
    files = folder(moto_stack)
    assert files[f"transcript/source.{ext}"] == data  # kept byte for byte
    record = artifact(moto_stack, "transcript/source")
    if reason is None:
        assert record["state"] == "archived"
        assert "transcript/transcript.vtt" in files
    else:
        assert (record["state"], record["reason"]) == ("failed", reason)
        assert not any(name.startswith("transcript/transcript") for name in files)
    logged = capsys.readouterr()
    for text in (logged.out, logged.err, caplog.text, record.get("message", "")):
        assert SECRET not in text
        assert SECRET[:12] not in text


HOSTILE_CHATS = {
    "deep_json": (b"[" * 100_000, "json", "unparseable"),
    "json_not_parsing": (f'[{{"id": "1", "payload": "{SECRET}"'.encode(), "json", "unrecognized_format"),
    "json_wrong_shape": (json.dumps({"secret": SECRET}).encode(), "json", "unrecognized_format"),
    "json_entry_not_object": (json.dumps([SECRET]).encode(), "json", "malformed"),
    "csv_wrong_columns": (f"{SECRET},{SECRET},three\n".encode(), "csv", "unrecognized_format"),
    "csv_short_row": (
        f"id,participantId,payload,payloadType\n1,p,{SECRET},TEXT_MESSAGE\n2,{SECRET}\n".encode(),
        "csv",
        "malformed",
    ),
    "not_utf8": (SECRET.encode() + b"\xff\n", "bin", "unrecognized_format"),
    "too_many_lines": (b"1,p,s,m,n,f,f,TEXT_MESSAGE,x,1\n" * (MAX_SOURCE_ENTRIES + 1), "csv", "too_large"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CHATS))
def test_hostile_chat_exports_are_stored_then_failed_never_retried(
    moto_stack: MotoStack, standin: Any, case: str, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    running, _ = standin
    data, ext, reason = HOSTILE_CHATS[case]
    running.host_file("chat.csv", data, "text/csv")
    caplog.set_level(logging.INFO)
    assert consume(artifact_event(running, "meeting.chatSynced")) == {"batchItemFailures": []}
    files = folder(moto_stack)
    assert files[f"chat/source.{ext}"] == data
    record = artifact(moto_stack, "chat/source")
    assert (record["state"], record["reason"]) == ("failed", reason)
    assert "chat/chat.json" not in files
    logged = capsys.readouterr()
    for text in (logged.out, logged.err, caplog.text, record.get("message", "")):
        assert SECRET not in text
        assert SECRET[:12] not in text


def test_a_transcript_over_the_memory_limit_is_streamed_and_kept_as_served(
    moto_stack: MotoStack, standin: Any
) -> None:
    """Bigger than what is read into memory: copied to the bucket as served, marked too_large."""
    running, _ = standin
    row = b"1000,p,u,c,Alice," + b"x" * 1000 + b"\n"
    data = row * (MAX_SOURCE_BYTES // len(row) + 2)
    running.host_file("transcript.csv", data, "text/csv")
    assert consume(artifact_event(running, "meeting.transcript")) == {"batchItemFailures": []}
    files = folder(moto_stack)
    assert files["transcript/source.csv"] == data
    record = artifact(moto_stack, "transcript/source")
    assert (record["state"], record["reason"], record["bytes"]) == ("failed", "too_large", len(data))


def test_a_source_that_drips_is_cut_at_the_lambda_deadline(moto_stack: MotoStack, standin: Any) -> None:
    """A server sending 1 MiB at 128 KiB a second (8 s, in 256 KiB bursts) to a function with 33 s
    left: the download's budget (the remaining time less a 30 s margin: 3 s) runs out first, so the
    message is retried later instead of holding the function until Lambda kills it."""
    running, _ = standin
    payload = artifact_event(running, "meeting.chatSynced")
    with HttpSource() as slow:
        payload["chatDownloadUrl"] = slow.serve(
            "/chat.csv",
            MEETING.chat_csv().ljust(1024 * 1024, b"\n"),
            content_type="text/csv",
            bytes_per_second=128 * 1024,
        )
        result = consume(payload, timeout_seconds=33)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert "chat/source.csv" not in folder(moto_stack)
