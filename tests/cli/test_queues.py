"""`meeting-vault status` and `redrive`: DLQ depths, why things failed, messages moved back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import cli.queues
from cli.target import Target
from shared import wiring
from shared.session.model import ArtifactRecord, ArtifactState
from shared.session.rebuild import RebuildRequest
from shared.session.store import SessionStore
from tests.cli.conftest import Env, create_stack_outputs, queued


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


@pytest.fixture(autouse=True)
def quick_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long polling of 1 s (not 2) and move-task progress polled without sleeping: same code paths."""
    monkeypatch.setattr(cli.queues, "RECEIVE_WAIT_SECONDS", 1)
    monkeypatch.setattr(cli.queues, "MOVE_TASK_POLL_SECONDS", 0.0)


def record_failure(env: Env, meeting_id: str, session_id: str, started: datetime | None = None) -> None:
    """A failed artifact recorded the way the consumers record it (the recorder updates the index)."""
    recorder = wiring.session_recorder()
    if started is not None:
        payload = {
            "event": "meeting.started",
            "meeting": {"id": meeting_id, "sessionId": session_id, "startedAt": started.isoformat()},
        }
        store = SessionStore(env.stack.names.sessions_table, env.stack.client("dynamodb"))
        from shared.session.model import SeenEvent

        store.add_event(
            meeting_id,
            session_id,
            SeenEvent(digest=f"d-{session_id}", event="meeting.started", payload=payload),
        )
    recorder.record_artifact(
        meeting_id,
        session_id,
        ArtifactRecord(
            name="transcript/source",
            kind="transcript_source",
            state=ArtifactState.FAILED,
            reason="empty",
            message="the transcript is empty (0 bytes)",
        ),
    )


def test_status_of_a_healthy_stack(env: Env) -> None:
    result = env.run("status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["QUEUE", "WAITING", "IN", "FLIGHT", "DLQ"]
    assert lines[2].split() == ["sessions", "0", "0", "0"]
    assert lines[-1].startswith("healthy: no dead letters, no failed artifacts since ")


def test_status_exits_1_on_dead_letters_and_shows_them(env: Env) -> None:
    dead_letter(env, "transcripts", "s-1")
    dead_letter(env, "transcripts", "s-2")
    result = env.run("status")
    assert result.exit_code == 1, result.output
    assert ["transcripts", "0", "0", "2"] in [line.split() for line in result.output.splitlines()]
    assert "  transcripts: meeting.transcript  m-1/s-1" in result.output
    assert "  transcripts: meeting.transcript  m-1/s-2" in result.output
    assert result.output.splitlines()[-1] == "unhealthy: 2 dead-lettered messages, 0 sessions with failures"
    assert dlq_depth(env, "transcripts") == 2  # peeking leaves them there


def test_status_exits_1_on_failed_artifacts_in_the_window_only(env: Env) -> None:
    now = datetime.now(UTC)
    record_failure(env, "m-1", "s-recent", started=now - timedelta(hours=2))
    record_failure(env, "m-1", "s-old", started=now - timedelta(days=3))
    result = env.run("status")  # default window: 24h
    assert result.exit_code == 1, result.output
    assert "  m-1/s-recent  transcript/source: empty - the transcript is empty (0 bytes)" in result.output
    assert "s-old" not in result.output
    assert "sessions with failed artifacts since " in result.output

    report = json.loads(env.run("status", "--since", "7d", "--json").output)
    assert report["healthy"] is False
    assert report["failedSessions"] == 2
    assert {f["sessionId"] for f in report["failures"]} == {"s-recent", "s-old"}

    older_window = env.run("status", "--since", "2020-01-01", "--failures", "1")
    assert "... `meeting-vault sessions --state failed" in older_window.output

    quiet = env.run("status", "--since", "1h")
    assert quiet.exit_code == 0, quiet.output


def test_status_reads_no_full_scan(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failures come from the index (Query), never from a Scan of the sessions table."""
    record_failure(env, "m-1", "s-1", started=datetime.now(UTC))
    calls: list[str] = []
    import boto3

    original = boto3.session.Session.client

    def client(self: boto3.session.Session, service: str, *args: object, **kwargs: object) -> object:
        made = original(self, service, *args, **kwargs)  # type: ignore[call-overload]
        made.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    assert env.run("status").exit_code == 1
    assert "Scan" not in calls
    assert "Query" in calls


def test_status_and_redrive_include_the_reconcile_dlq_from_the_stack_outputs(env: Env) -> None:
    """Queues come from the outputs generically: the reconcile sweep's DLQ shows without a CLI change."""
    sqs = env.stack.client("sqs")
    dlq = sqs.create_queue(QueueName="reconcile-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="reconcile")["QueueUrl"]
    create_stack_outputs(
        env.stack, "WithReconcile", {"ReconcileQueueUrl": queue, "ReconcileDeadLetterQueueUrl": dlq}
    )
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"detail": {"event": "meeting.ended"}}))
    result = env.run("status", "--stack", "WithReconcile")
    assert result.exit_code == 1, result.output
    assert ["reconcile", "0", "0", "1"] in [line.split() for line in result.output.splitlines()]
    assert "  reconcile: meeting.ended" in result.output

    moved = env.run("redrive", "reconcile", "--stack", "WithReconcile")
    assert moved.exit_code == 0, moved.output
    assert "reconcile: moved 1 of 1 messages" in moved.output
    assert env.run("status", "--stack", "WithReconcile").exit_code == 0


def test_redrive_on_moto_moves_with_long_polling_until_several_empty_receives(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = {dead_letter(env, "transcripts", f"s-{i}") for i in range(13)}
    dead_letter(env, "chat", "s-chat")
    # One more that only becomes visible after the first (empty) receive: a first empty answer
    # must not end the move.
    late = json.dumps({"detail": {"event": "meeting.transcript", "sessionId": "late"}})
    env.stack.client("sqs").send_message(
        QueueUrl=env.stack.resources.dlq_urls["transcripts"], MessageBody=late, DelaySeconds=2
    )
    waits: list[int] = []
    original = cli.queues.move_messages

    def spy(sqs: Any, *args: Any, **kwargs: Any) -> int:
        sqs.meta.events.register(
            "provide-client-params.sqs.ReceiveMessage",
            lambda params, **_: waits.append(params["WaitTimeSeconds"]),
        )
        return original(sqs, *args, **kwargs)

    monkeypatch.setattr(cli.queues, "move_messages", spy)

    dry = env.run("redrive", "transcripts", "--dry-run")
    assert dry.exit_code == 0
    assert dry.output == "transcripts: 13 in the DLQ (dry run: nothing moved)\n"
    assert dlq_depth(env, "transcripts") == 13

    result = env.run("redrive", "transcripts")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "this endpoint has no StartMessageMoveTask (moto): moving with receive/send/delete"
    assert lines[1].startswith("transcripts: moved 14 of ")  # the delayed one may not count as waiting yet
    assert lines[1].endswith(" messages from the DLQ back to the transcripts queue")
    assert waits[-3:] == [1, 1, 1]  # ended on three empty long polls
    assert waits
    assert all(wait >= 1 for wait in waits)
    assert dlq_depth(env, "transcripts") == 0
    sqs = env.stack.client("sqs")
    moved = set()
    for _ in range(5):
        for message in sqs.receive_message(
            QueueUrl=env.stack.resources.queue_urls["transcripts"], MaxNumberOfMessages=10
        ).get("Messages", []):
            moved.add(message["Body"])
    assert moved == {*bodies, late}
    assert dlq_depth(env, "chat") == 1  # only the named queue

    everything = json.loads(env.run("redrive", "--json").output)
    assert everything["queues"]["chat"] == {"dlq": 1, "moved": 1, "method": "receive-send-delete"}
    assert [d["sessionId"] for d in queued(env.stack, "chat")] == ["s-chat"]


class ScriptedSqs:
    """Receives answer from a script: a list of batches (empty = an empty receive)."""

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.receives = 0
        self.sent = 0

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.receives += 1
        count = self.script.pop(0) if self.script else 0
        return {"Messages": [{"Body": "b", "ReceiptHandle": f"r{i}"} for i in range(count)]}

    def send_message_batch(self, Entries: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.sent += len(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def delete_message_batch(self, **_: Any) -> dict[str, Any]:
        return {}


def test_the_move_loop_stops_after_several_empty_receives_not_the_first() -> None:
    sqs = ScriptedSqs([0, 4, 0, 0, 2])  # an empty answer, then messages, two empties, messages again
    assert cli.queues.move_messages(sqs, "dlq", "queue", wait_seconds=1) == 6
    assert sqs.receives == 5 + cli.queues.EMPTY_RECEIVES_TO_STOP


class MoveTaskSqs:
    """moto's SQS plus the two calls it lacks, done as SQS does them: the task moves the DLQ's
    messages server-side to the destination (or each message's source), progress in two steps."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.started: list[dict[str, Any]] = []
        self._polls = 0
        self._to_move = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def _url(self, arn: str) -> str:
        return str(self._sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])

    def start_message_move_task(self, **request: Any) -> dict[str, Any]:
        self.started.append(request)
        self._to_move = int(
            self._sqs.get_queue_attributes(
                QueueUrl=self._url(request["SourceArn"]), AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        return {"TaskHandle": "task-1"}

    def list_message_move_tasks(self, **request: Any) -> dict[str, Any]:
        self._polls += 1
        task = self.started[-1]
        if self._polls == 1:
            return {"Results": [{"Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 0,
                                 "ApproximateNumberOfMessagesToMove": self._to_move, "TaskHandle": "task-1"}]}  # fmt: skip
        moved = cli.queues.move_messages(
            self._sqs, self._url(task["SourceArn"]), self._url(task["DestinationArn"]), wait_seconds=0
        )
        return {"Results": [{"Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": moved,
                             "ApproximateNumberOfMessagesToMove": self._to_move}]}  # fmt: skip


def test_redrive_on_aws_uses_a_message_move_task_and_reports_its_progress(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        dead_letter(env, "recordings", f"s-{i}")
    original = Target.client
    fakes: dict[int, MoveTaskSqs] = {}

    def client(self: Target, service: str) -> Any:
        made = original(self, service)
        if service != "sqs":
            return made
        return fakes.setdefault(id(made), MoveTaskSqs(made))

    monkeypatch.setattr(Target, "client", client)
    result = env.run("redrive", "recordings")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "recordings: move task running: 0 of 3 moved",
        "recordings: move task completed: 3 of 3 moved",
        "recordings: moved 3 messages from the DLQ back to their source queue",
    ]
    [fake] = fakes.values()
    [request] = fake.started
    assert request["SourceArn"].endswith(":meeting-vault-recordings-dlq")
    assert request["DestinationArn"].endswith(":meeting-vault-recordings")
    assert dlq_depth(env, "recordings") == 0
    assert sorted(d["sessionId"] for d in queued(env.stack, "recordings")) == ["s-0", "s-1", "s-2"]


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


def with_reconcile_outputs(env: Env) -> str:
    """A stack that also has the reconcile queue, its DLQ and the schedule's DLQ (as infra/stack.py
    declares them); returns its name."""
    sqs = env.stack.client("sqs")
    urls = {
        "ReconcileQueueUrl": sqs.create_queue(QueueName="mv-reconcile")["QueueUrl"],
        "ReconcileDeadLetterQueueUrl": sqs.create_queue(QueueName="mv-reconcile-dlq")["QueueUrl"],
        "ReconcileScheduleDeadLetterQueueUrl": sqs.create_queue(QueueName="mv-reconcile-schedule-dlq")[
            "QueueUrl"
        ],
    }
    create_stack_outputs(env.stack, "WithReconcile", urls)
    scheduled = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    sqs.send_message(QueueUrl=urls["ReconcileScheduleDeadLetterQueueUrl"], MessageBody=json.dumps(scheduled))
    return "WithReconcile"


def test_status_and_redrive_reach_the_reconcile_queues(env: Env) -> None:
    from cli.queues import resolve_queue_names

    dlqs = {"reconcile": "q1", "reconcile-schedule": "q2", "sessions": "q3"}
    assert resolve_queue_names("reconcile", dlqs) == ["reconcile"]
    assert resolve_queue_names("reconcile-schedule", dlqs) == ["reconcile-schedule"]
    stack = with_reconcile_outputs(env)

    status = env.run("status", "--stack", stack)
    assert status.exit_code == 1, status.output  # unhealthy: a dead-lettered scheduled sweep
    table = status.output.split("\n\n")[0].splitlines()[2:]
    rows = {line.split()[0]: line.split()[1:] for line in table}
    assert list(rows) == [
        "sessions",
        "recordings",
        "transcripts",
        "summaries",
        "chat",
        "botevents",
        "botaudio",
        "reconcile",
        "reconcile-schedule",
    ]
    assert rows["reconcile"] == ["0", "0", "0"]
    assert rows["reconcile-schedule"] == ["0", "0", "1"]  # a sweep EventBridge could not run

    moved = env.run("redrive", "reconcile-schedule", "--stack", stack)
    assert moved.exit_code == 0, moved.output
    assert "reconcile-schedule: moved 1 of 1 messages" in moved.output
    sqs = env.stack.client("sqs")
    url = sqs.get_queue_url(QueueName="mv-reconcile")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert json.loads(message["Body"])["detail-type"] == "Scheduled Event"  # the function sweeps for it

    # a stack without them (deployed before) still works and names only what it has
    result = env.run("redrive", "reconcile")
    assert result.exit_code == 1
    assert "no queue 'reconcile'" in result.stderr


def test_redrive_sends_dead_lettered_rebuild_requests_back_as_rechecks(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS restarts a redriven message's receive count, so a move task would hand the rebuilds
    consumer a first delivery, which skips a session whose record says its files are current: the
    rebuild that died may have left an older file behind. The CLI moves these itself, as rechecks,
    on AWS too."""
    sqs = env.stack.client("sqs")
    urls = {
        "RebuildsQueueUrl": sqs.create_queue(QueueName="mv-rebuilds")["QueueUrl"],
        "RebuildsDeadLetterQueueUrl": sqs.create_queue(QueueName="mv-rebuilds-dlq")["QueueUrl"],
    }
    create_stack_outputs(env.stack, "WithRebuilds", urls)
    dead = [
        RebuildRequest("m-1", "s-1").to_body(),
        RebuildRequest("m-1", "s-2", recheck=True).to_body(),
        "not a rebuild request",
    ]
    for body in dead:
        sqs.send_message(QueueUrl=urls["RebuildsDeadLetterQueueUrl"], MessageBody=body)
    original = Target.client
    fakes: dict[int, MoveTaskSqs] = {}

    def client(self: Target, service: str) -> Any:
        made = original(self, service)
        return fakes.setdefault(id(made), MoveTaskSqs(made)) if service == "sqs" else made

    monkeypatch.setattr(Target, "client", client)  # an endpoint with move tasks, as on AWS

    result = env.run("redrive", "rebuilds", "--stack", "WithRebuilds")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "rebuilds: moved 3 of 3 messages from the DLQ back to the rebuilds queue, as rechecks"
    ]
    assert all(not fake.started for fake in fakes.values())  # no move task: it cannot rewrite bodies
    bodies = []
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=urls["RebuildsQueueUrl"], MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            bodies.append(message["Body"])
    assert sorted(bodies) == sorted(
        [
            RebuildRequest("m-1", "s-1", recheck=True).to_body(),
            RebuildRequest("m-1", "s-2", recheck=True).to_body(),
            "not a rebuild request",  # moved as it was
        ]
    )
    assert (
        int(
            sqs.get_queue_attributes(
                QueueUrl=urls["RebuildsDeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        == 0
    )
