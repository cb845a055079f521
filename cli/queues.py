"""``meeting-vault status`` and ``redrive``: queue and DLQ depths, what failed and why, and moving
dead-lettered messages back to their source queue.

Redrive receives from the DLQ, sends the same body (and attributes) to the source queue and deletes
only what was sent, in batches of 10; a message that could not be sent becomes visible in the DLQ
again. (SQS's own ``StartMessageMoveTask`` does the same server-side, but moto does not implement
it, and this way one code path is tested.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cli.errors import CliError
from cli.target import Target
from shared.fanout.routing import ROUTES

RECEIVE_VISIBILITY_SECONDS = 60  # long enough to send and delete one batch


@dataclass
class QueueDepth:
    name: str
    visible: int
    in_flight: int
    dlq: int


def _count(sqs: Any, url: str, *names: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def queue_depths(sqs: Any, queue_urls: dict[str, str], dlq_urls: dict[str, str]) -> list[QueueDepth]:
    return [
        QueueDepth(
            name=route.name,
            visible=_count(sqs, queue_urls[route.name], "ApproximateNumberOfMessages"),
            in_flight=_count(sqs, queue_urls[route.name], "ApproximateNumberOfMessagesNotVisible"),
            dlq=_count(
                sqs,
                dlq_urls[route.name],
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ),
        )
        for route in ROUTES
    ]


def render_depths(depths: list[QueueDepth]) -> list[str]:
    table = [("QUEUE", "WAITING", "IN FLIGHT", "DLQ")]
    table += [(d.name, str(d.visible), str(d.in_flight), str(d.dlq)) for d in depths]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ]


# -- redrive ---------------------------------------------------------------------------------------
def resolve_queue_names(name: str | None) -> list[str]:
    names = [route.name for route in ROUTES]
    if name is None:
        return names
    if name not in names:
        raise CliError(f"no queue {name!r}: choose one of {', '.join(names)}")
    return [name]


def move_messages(sqs: Any, source_dlq: str, destination: str, *, limit: int | None = None) -> int:
    """Move up to ``limit`` messages (all when None) from ``source_dlq`` to ``destination``."""
    moved = 0
    while limit is None or moved < limit:
        batch = 10 if limit is None else max(1, min(10, limit - moved))
        messages = sqs.receive_message(
            QueueUrl=source_dlq,
            MaxNumberOfMessages=batch,
            WaitTimeSeconds=0,
            VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return moved
        entries = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
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


def failed_artifacts(ddb: Any, table: str) -> list[FailedArtifact]:
    """Artifacts whose last outcome is ``failed``, from the session records."""
    found = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(sk, :artifact)",
        "ExpressionAttributeValues": {":artifact": {"S": "artifact#"}},
    }
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            data = json.loads(item["data"]["S"])
            if data.get("state") != "failed":
                continue
            meeting_id, _, session_id = item["pk"]["S"].partition("/")
            found.append(
                FailedArtifact(
                    meeting_id=meeting_id,
                    session_id=session_id,
                    name=str(data.get("name")),
                    reason=data.get("reason"),
                    message=data.get("message"),
                )
            )
        if "LastEvaluatedKey" not in page:
            return sorted(found, key=lambda f: (f.meeting_id, f.session_id, f.name))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class StatusReport:
    depths: list[QueueDepth]
    dead_letters: list[DeadLetter] = field(default_factory=list)
    failures: list[FailedArtifact] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(d.dlq for d in self.depths) and not self.failures


def status_report(
    sqs: Any, ddb: Any, *, queue_urls: dict[str, str], dlq_urls: dict[str, str], table: str, limit: int
) -> StatusReport:
    depths = queue_depths(sqs, queue_urls, dlq_urls)
    letters: list[DeadLetter] = []
    for depth in depths:
        if depth.dlq:
            letters.extend(peek_dead_letters(sqs, depth.name, dlq_urls[depth.name], limit=limit))
    return StatusReport(depths=depths, dead_letters=letters, failures=failed_artifacts(ddb, table))


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
    if report.failures:
        echo("")
        echo(f"failed artifacts ({len(report.failures)}; the session records say why):")
        for failure in report.failures[:limit]:
            echo(
                f"  {failure.meeting_id}/{failure.session_id}  {failure.name}: {failure.reason or 'failed'}"
                + (f" - {failure.message}" if failure.message else "")
            )
        if len(report.failures) > limit:
            echo(f"  ... and {len(report.failures) - limit} more")
    if report.healthy:
        echo("")
        echo("no dead letters, no failed artifacts")


# -- commands --------------------------------------------------------------------------------------
def redrive_command(
    target: Target, queue: str | None, *, dry_run: bool, limit: int | None, echo: Callable[[str], None]
) -> dict[str, int]:
    sqs = target.client("sqs")
    names = resolve_queue_names(queue)
    depths = {d.name: d for d in queue_depths(sqs, target.queue_urls, target.dlq_urls)}
    moved: dict[str, int] = {}
    for name in names:
        waiting = depths[name].dlq
        if dry_run or not waiting:
            echo(
                f"{name}: {waiting} in the DLQ" + (" (dry run: nothing moved)" if dry_run and waiting else "")
            )
            continue
        moved[name] = move_messages(sqs, target.dlq_urls[name], target.queue_urls[name], limit=limit)
        echo(f"{name}: moved {moved[name]} of {waiting} messages from the DLQ back to the {name} queue")
    if not dry_run and not moved:
        echo("no dead-lettered messages: nothing to redrive")
    return moved


def status_command(target: Target, *, limit: int, echo: Callable[[str], None]) -> StatusReport:
    echo(f"{target.description}: archive s3://{target.bucket}")
    report = status_report(
        target.client("sqs"),
        target.client("dynamodb"),
        queue_urls=target.queue_urls,
        dlq_urls=target.dlq_urls,
        table=target.sessions_table,
        limit=limit,
    )
    render_status(report, limit=limit, echo=echo)
    return report
