"""``meeting-vault status`` and ``redrive``: queue and DLQ depths, what failed and why, and moving
dead-lettered messages back to their source queue.

Every queue the target names is watched (``Target.dlq_urls``: the routes' and any other the stack
outputs, such as the reconcile sweep's). ``status`` reads queue attributes, peeks at most 10 dead
letters per DLQ, and counts failed sessions from the listing index's ``failed`` partition: no scan.

Redrive on AWS is SQS's own ``StartMessageMoveTask`` (server-side, to the queue the messages came
from), followed with ``ListMessageMoveTasks`` until it finishes. Where the endpoint does not
implement it (moto: local mode and tests), messages are received (long polling), sent with the same
body and attributes, and deleted only once sent, until several receives in a row come back empty.
The rebuilds DLQ is always moved that way, each request sent back as a recheck (``as_recheck``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from cli.errors import CliError
from cli.target import Target
from shared.fanout.routing import REBUILDS, RECONCILE, ROUTES
from shared.session.rebuild import RebuildRequest
from shared.session.store import SessionStore

# The reconcile schedule's target DLQ (stacks with a schedule): a sweep EventBridge could not run.
# Its source queue is the reconcile queue, whose function runs a sweep for each redriven one.
RECONCILE_SCHEDULE = "reconcile-schedule"
QUEUE_NAMES = (*(route.name for route in ROUTES), RECONCILE.name, RECONCILE_SCHEDULE)

RECEIVE_VISIBILITY_SECONDS = 60  # long enough to send and delete one batch
RECEIVE_WAIT_SECONDS = 2  # long polling: a receive waits this long for messages before answering empty
EMPTY_RECEIVES_TO_STOP = 3  # a DLQ is drained after this many empty receives in a row, not the first
MOVE_TASK_POLL_SECONDS = 5.0


@dataclass
class QueueDepth:
    name: str
    visible: int | None  # None: a DLQ whose source queue the target does not name
    in_flight: int | None
    dlq: int

    def as_json(self) -> dict[str, Any]:
        return {"queue": self.name, "waiting": self.visible, "inFlight": self.in_flight, "dlq": self.dlq}


def _count(sqs: Any, url: str, *names: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def queue_depths(sqs: Any, queue_urls: dict[str, str], dlq_urls: dict[str, str]) -> list[QueueDepth]:
    names = list(dict.fromkeys([*queue_urls, *dlq_urls]))
    depths = []
    for name in names:
        if name not in dlq_urls:
            continue  # a queue without a DLQ has nothing to redrive or alarm on here
        url = queue_urls.get(name)
        depths.append(
            QueueDepth(
                name=name,
                visible=_count(sqs, url, "ApproximateNumberOfMessages") if url else None,
                in_flight=_count(sqs, url, "ApproximateNumberOfMessagesNotVisible") if url else None,
                dlq=_count(
                    sqs,
                    dlq_urls[name],
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ),
            )
        )
    return depths


def render_depths(depths: list[QueueDepth]) -> list[str]:
    table = [("QUEUE", "WAITING", "IN FLIGHT", "DLQ")]
    table += [
        (
            d.name,
            "-" if d.visible is None else str(d.visible),
            "-" if d.in_flight is None else str(d.in_flight),
            str(d.dlq),
        )
        for d in depths
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ]


# -- redrive ---------------------------------------------------------------------------------------
def resolve_queue_names(name: str | None, dlq_urls: dict[str, str]) -> list[str]:
    names = list(dlq_urls)
    if name is None:
        return names
    if name not in names:
        raise CliError(f"no queue {name!r}: choose one of {', '.join(names)}")
    return [name]


def as_recheck(body: str) -> str:
    """A dead-lettered rebuild request, sent back as a recheck. SQS restarts a redriven message's
    receive count, so the rebuilds consumer would take it for a first delivery: one that skips when
    the record says the files are current. But the rebuild that died may have written some files
    after a newer rebuild had cleared the flag; a recheck compares each file with the stored object
    (docs/rebuilds.md). A body that is not a rebuild request goes back unchanged."""
    try:
        request = RebuildRequest.from_body(body)
    except ValueError:
        return body
    return RebuildRequest(request.meeting_id, request.session_id, recheck=True).to_body()


def move_messages(
    sqs: Any,
    source_dlq: str,
    destination: str,
    *,
    wait_seconds: int | None = None,
    empty_receives_to_stop: int | None = None,
    rewrite: Callable[[str], str] | None = None,
) -> int:
    """Move every message from ``source_dlq`` to ``destination``: receive (long polling), send the
    same body (or ``rewrite(body)``) and attributes, delete what was sent. Stops after
    ``empty_receives_to_stop`` empty receives in a row: one empty answer does not prove an SQS queue
    is empty."""
    wait = RECEIVE_WAIT_SECONDS if wait_seconds is None else wait_seconds
    stop_after = EMPTY_RECEIVES_TO_STOP if empty_receives_to_stop is None else empty_receives_to_stop
    moved = 0
    empty = 0
    while empty < stop_after:
        messages = sqs.receive_message(
            QueueUrl=source_dlq,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        entries = []
        for index, message in enumerate(messages):
            body = rewrite(message["Body"]) if rewrite else message["Body"]
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": body}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=destination, Entries=entries)
        done = {int(e["Id"]) for e in sent.get("Successful", [])}
        if done:
            sqs.delete_message_batch(
                QueueUrl=source_dlq,
                Entries=[{"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sorted(done)],
            )
        moved += len(done)
        if len(done) < len(messages):  # the rest reappear in the DLQ later; do not spin on them now
            failed = sent.get("Failed", [])
            reason = failed[0].get("Message", failed[0].get("Code", "")) if failed else "unknown"
            raise CliError(f"moved {moved} messages, then the source queue refused some: {reason}")
    return moved


class MoveTaskUnsupported(Exception):
    """The endpoint has no StartMessageMoveTask (moto)."""


def _queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def move_task(
    sqs: Any,
    source_dlq: str,
    destination: str | None,
    *,
    progress: Callable[[str, int, int | None], None],
    poll_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """SQS's own redrive: ``StartMessageMoveTask`` from the DLQ (to ``destination``, else to the
    queue each message came from), then ``ListMessageMoveTasks`` every ``poll_seconds`` until the
    task completes; ``progress(status, moved, to_move)`` on each change. Returns the count moved."""
    source_arn = _queue_arn(sqs, source_dlq)
    request: dict[str, Any] = {"SourceArn": source_arn}
    if destination:
        request["DestinationArn"] = _queue_arn(sqs, destination)
    try:
        sqs.start_message_move_task(**request)
    except NotImplementedError as exc:  # moto in-process
        raise MoveTaskUnsupported(str(exc)) from exc
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if "not been implemented" in message or "not yet implemented" in message:  # moto's server
            raise MoveTaskUnsupported(message) from exc
        raise
    last: tuple[str, int, int | None] | None = None
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
        if not tasks:
            raise CliError(f"SQS lists no move task for {source_arn} after starting one")
        task = tasks[0]  # the most recent task of this source
        status = str(task.get("Status"))
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        to_move = task.get("ApproximateNumberOfMessagesToMove")
        state = (status, moved, int(to_move) if to_move is not None else None)
        if state != last:
            progress(*state)
            last = state
        if status == "COMPLETED":
            return moved
        if status in {"FAILED", "CANCELLED", "CANCELLING"}:
            reason = task.get("FailureReason") or status.lower()
            raise CliError(f"the SQS move task from {source_arn} stopped after {moved} messages: {reason}")
        sleep(MOVE_TASK_POLL_SECONDS if poll_seconds is None else poll_seconds)


@dataclass
class RedriveResult:
    waiting: dict[str, int] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "queues": {
                name: {"dlq": waiting, "moved": self.moved.get(name), "method": self.method.get(name)}
                for name, waiting in self.waiting.items()
            },
            "failed": self.failed,
        }


# -- failures --------------------------------------------------------------------------------------
@dataclass
class DeadLetter:
    queue: str
    event: str | None
    meeting_id: str | None
    session_id: str | None
    receives: int
    sent_at: datetime | None


def peek_dead_letters(sqs: Any, queue: str, dlq_url: str, *, limit: int) -> list[DeadLetter]:
    """Up to ``limit`` (at most 10) messages of a DLQ, left visible (visibility timeout 0)."""
    if limit <= 0:
        return []
    messages = sqs.receive_message(
        QueueUrl=dlq_url,
        MaxNumberOfMessages=min(10, limit),
        WaitTimeSeconds=0,
        VisibilityTimeout=0,
        AttributeNames=["All"],
    ).get("Messages", [])
    letters = []
    for message in messages:
        detail: dict[str, Any] = {}
        try:
            document = json.loads(message["Body"])
            detail = document.get("detail") or {} if isinstance(document, dict) else {}
        except ValueError:
            pass
        attributes = message.get("Attributes", {})
        sent = attributes.get("SentTimestamp")
        letters.append(
            DeadLetter(
                queue=queue,
                event=detail.get("event"),
                meeting_id=detail.get("meetingId"),
                session_id=detail.get("sessionId"),
                receives=int(attributes.get("ApproximateReceiveCount", 0)),
                sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
            )
        )
    return letters


@dataclass
class FailedArtifact:
    meeting_id: str
    session_id: str
    name: str
    reason: str | None
    message: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "meetingId": self.meeting_id,
            "sessionId": self.session_id,
            "name": self.name,
            "reason": self.reason,
            "message": self.message,
        }


def failed_artifacts(
    store: SessionStore, *, since: datetime | None, limit: int
) -> tuple[int, list[FailedArtifact]]:
    """How many sessions of the window have a failed artifact (a COUNT of the index's ``failed``
    partition), and the failed artifacts of the newest ``limit`` of them."""
    count = store.count_in_state("failed", since=since)
    found = []
    for row in store.rows_in_state("failed", since=since, limit=max(1, limit)) if count else []:
        for failure in row.get("failures") or []:
            found.append(
                FailedArtifact(
                    meeting_id=str(row.get("meetingId")),
                    session_id=str(row.get("sessionId")),
                    name=str(failure.get("name")),
                    reason=failure.get("reason"),
                    message=failure.get("message"),
                )
            )
    return count, found


@dataclass
class StatusReport:
    depths: list[QueueDepth]
    since: datetime | None = None
    dead_letters: list[DeadLetter] = field(default_factory=list)
    failed_sessions: int = 0
    failures: list[FailedArtifact] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(d.dlq for d in self.depths) and not self.failed_sessions

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "since": self.since.isoformat().replace("+00:00", "Z") if self.since else None,
            "queues": [d.as_json() for d in self.depths],
            "deadLetters": [
                {
                    "queue": d.queue,
                    "event": d.event,
                    "meetingId": d.meeting_id,
                    "sessionId": d.session_id,
                    "receives": d.receives,
                    "sentAt": d.sent_at.isoformat().replace("+00:00", "Z") if d.sent_at else None,
                }
                for d in self.dead_letters
            ],
            "failedSessions": self.failed_sessions,
            "failures": [f.as_json() for f in self.failures],
        }


def status_report(
    sqs: Any,
    store: SessionStore,
    *,
    queue_urls: dict[str, str],
    dlq_urls: dict[str, str],
    since: datetime | None,
    limit: int,
) -> StatusReport:
    depths = queue_depths(sqs, queue_urls, dlq_urls)
    letters: list[DeadLetter] = []
    for depth in depths:
        if depth.dlq:
            letters.extend(peek_dead_letters(sqs, depth.name, dlq_urls[depth.name], limit=limit))
    count, failures = failed_artifacts(store, since=since, limit=limit)
    return StatusReport(
        depths=depths, since=since, dead_letters=letters, failed_sessions=count, failures=failures
    )


def render_status(report: StatusReport, *, limit: int, echo: Callable[[str], None]) -> None:
    for line in render_depths(report.depths):
        echo(line)
    if report.dead_letters:
        echo("")
        echo("dead-lettered messages (newest first; `meeting-vault redrive QUEUE` retries them):")
        for letter in sorted(
            report.dead_letters, key=lambda d: d.sent_at or datetime.min.replace(tzinfo=UTC), reverse=True
        ):
            sent = letter.sent_at.strftime("%Y-%m-%d %H:%M:%S") if letter.sent_at else "-"
            echo(
                f"  {letter.queue}: {letter.event or 'unparsed'}  {letter.meeting_id or '-'}/{letter.session_id or '-'}"
                f"  sent {sent}  received {letter.receives}x"
            )
    window = report.since.strftime("%Y-%m-%d %H:%M") if report.since else "ever"
    if report.failed_sessions:
        echo("")
        echo(
            f"sessions with failed artifacts since {window} UTC: {report.failed_sessions} "
            "(newest first; the session records say why):"
        )
        for failure in report.failures[:limit]:
            echo(
                f"  {failure.meeting_id}/{failure.session_id}  {failure.name}: {failure.reason or 'failed'}"
                + (f" - {failure.message}" if failure.message else "")
            )
        if report.failed_sessions > limit:
            echo("  ... `meeting-vault sessions --state failed --since ...` lists them all")
    echo("")
    if report.healthy:
        echo(f"healthy: no dead letters, no failed artifacts since {window} UTC")
    else:
        dead = sum(d.dlq for d in report.depths)
        echo(f"unhealthy: {dead} dead-lettered messages, {report.failed_sessions} sessions with failures")


def _progress_line(name: str, say: Callable[[str], None]) -> Callable[[str, int, int | None], None]:
    def line(status: str, moved: int, total: int | None) -> None:
        say(f"{name}: move task {status.lower()}: {moved} of {'?' if total is None else total} moved")

    return line


# -- commands --------------------------------------------------------------------------------------
def redrive_command(
    target: Target,
    queue: str | None,
    *,
    dry_run: bool,
    as_json: bool = False,
    echo: Callable[[str], None],
    poll_seconds: float | None = None,
) -> RedriveResult:
    sqs = target.client("sqs")
    names = resolve_queue_names(queue, target.dlq_urls)
    depths = {d.name: d for d in queue_depths(sqs, target.queue_urls, target.dlq_urls)}
    say: Callable[[str], None] = (lambda _: None) if as_json else echo
    result = RedriveResult()
    native = not target.local
    for name in names:
        waiting = depths[name].dlq
        result.waiting[name] = waiting
        if dry_run or not waiting:
            say(
                f"{name}: {waiting} in the DLQ" + (" (dry run: nothing moved)" if dry_run and waiting else "")
            )
            continue
        destination = target.queue_urls.get(name)
        # Rebuild requests go back as rechecks (``as_recheck``): a move task cannot change a body.
        rewrite = as_recheck if name == REBUILDS.name else None
        if native and rewrite is None:
            try:
                result.moved[name] = move_task(
                    sqs,
                    target.dlq_urls[name],
                    destination,
                    progress=_progress_line(name, say),
                    poll_seconds=poll_seconds,
                )
                result.method[name] = "StartMessageMoveTask"
                say(f"{name}: moved {result.moved[name]} messages from the DLQ back to their source queue")
                continue
            except MoveTaskUnsupported:
                native = False
                say("this endpoint has no StartMessageMoveTask (moto): moving with receive/send/delete")
        if destination is None:
            result.failed.append(name)
            say(f"{name}: the target names no source queue for this DLQ; nothing moved")
            continue
        result.moved[name] = move_messages(sqs, target.dlq_urls[name], destination, rewrite=rewrite)
        result.method[name] = "receive-send-delete" + (" (as rechecks)" if rewrite else "")
        say(
            f"{name}: moved {result.moved[name]} of {waiting} messages from the DLQ back to the {name} queue"
            + (", as rechecks" if rewrite else "")
        )
    if not dry_run and not result.moved and not result.failed:
        say("no dead-lettered messages: nothing to redrive")
    if as_json:
        echo(json.dumps(result.as_json(), indent=2))
    return result


def status_command(
    target: Target,
    *,
    since: datetime | None,
    limit: int,
    as_json: bool = False,
    echo: Callable[[str], None],
) -> StatusReport:
    report = status_report(
        target.client("sqs"),
        SessionStore(target.sessions_table, target.client("dynamodb")),
        queue_urls=target.queue_urls,
        dlq_urls=target.dlq_urls,
        since=since,
        limit=limit,
    )
    if as_json:
        echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return report
    echo(f"{target.description}: archive s3://{target.bucket}")
    render_status(report, limit=limit, echo=echo)
    return report
