"""`meeting-vault status` and `redrive`: DLQ depths, why things failed, messages moved back."""

from __future__ import annotations

import json

from shared.session.model import ArtifactRecord, ArtifactState
from shared.session.store import SessionStore
from tests.cli.conftest import Env, queued


def dead_letter(env: Env, route: str, session_id: str) -> str:
    body = json.dumps(
        {
            "detail-type": "meeting.transcript",
            "source": "realtimekit",
            "detail": {"event": "meeting.transcript", "meetingId": "m-1", "sessionId": session_id},
        }
    )
    env.stack.client("sqs").send_message(QueueUrl=env.stack.resources.dlq_urls[route], MessageBody=body)
    return body


def dlq_depth(env: Env, route: str) -> int:
    attributes = env.stack.client("sqs").get_queue_attributes(
        QueueUrl=env.stack.resources.dlq_urls[route], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_status_of_a_healthy_stack(env: Env) -> None:
    result = env.run("status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["QUEUE", "WAITING", "IN", "FLIGHT", "DLQ"]
    assert lines[2].split() == ["sessions", "0", "0", "0"]
    assert lines[-1] == "no dead letters, no failed artifacts"


def test_status_shows_depths_dead_letters_and_failure_reasons(env: Env) -> None:
    dead_letter(env, "transcripts", "s-1")
    dead_letter(env, "transcripts", "s-2")
    SessionStore(env.stack.names.sessions_table, env.stack.client("dynamodb")).put_artifact(
        "m-1",
        "s-3",
        ArtifactRecord(
            name="transcript/source",
            kind="transcript_source",
            state=ArtifactState.FAILED,
            reason="empty",
            message="the transcript is empty (0 bytes)",
        ),
    )
    result = env.run("status")
    assert result.exit_code == 0, result.output
    assert ["transcripts", "0", "0", "2"] in [line.split() for line in result.output.splitlines()]
    assert "  transcripts: meeting.transcript  m-1/s-1" in result.output
    assert "  transcripts: meeting.transcript  m-1/s-2" in result.output
    assert "  m-1/s-3  transcript/source: empty - the transcript is empty (0 bytes)" in result.output
    assert dlq_depth(env, "transcripts") == 2  # peeking leaves them there


def test_redrive_moves_the_dlq_back_to_its_source_queue(env: Env) -> None:
    bodies = {dead_letter(env, "transcripts", f"s-{i}") for i in range(13)}
    dead_letter(env, "chat", "s-chat")

    dry = env.run("redrive", "transcripts", "--dry-run")
    assert dry.exit_code == 0
    assert dry.output == "transcripts: 13 in the DLQ (dry run: nothing moved)\n"
    assert dlq_depth(env, "transcripts") == 13

    result = env.run("redrive", "transcripts")
    assert result.exit_code == 0, result.output
    assert (
        result.output == "transcripts: moved 13 of 13 messages from the DLQ back to the transcripts queue\n"
    )
    assert dlq_depth(env, "transcripts") == 0
    sqs = env.stack.client("sqs")
    moved = set()
    for _ in range(5):
        for message in sqs.receive_message(
            QueueUrl=env.stack.resources.queue_urls["transcripts"], MaxNumberOfMessages=10
        ).get("Messages", []):
            moved.add(message["Body"])
    assert moved == bodies
    assert dlq_depth(env, "chat") == 1  # only the named queue

    everything = env.run("redrive")
    assert "chat: moved 1 of 1 messages" in everything.output
    assert [d["sessionId"] for d in queued(env.stack, "chat")] == ["s-chat"]


def test_redrive_of_an_unknown_queue_is_one_line(env: Env) -> None:
    result = env.run("redrive", "nope")
    assert result.exit_code == 1
    assert (
        result.stderr
        == "Error: no queue 'nope': choose one of sessions, recordings, transcripts, summaries, chat, "
        "botevents, botaudio\n"
    )


def test_redrive_with_empty_dlqs_says_so(env: Env) -> None:
    result = env.run("redrive")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "no dead-lettered messages: nothing to redrive"
