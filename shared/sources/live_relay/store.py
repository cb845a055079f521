"""The relay record in DynamoDB, and the rolling ``live/`` pieces in S3.

One partition per relay (``relay`` = the relay id), one item per fact:
- ``meta``: meeting, session, title, the Secrets Manager id of the socket URL (never the URL), status,
  the leg that currently relays non-line messages, when ``start`` arrived, the end reason;
- ``line#{key}``: one per distinct transcript line, written with a condition so that whichever
  overlapping leg writes it first is the one that relays it (exactly once, on the bus and here);
- ``event#{leg}#{seq}``: a relayed participant, speaking or chat message;
- ``conn#{leg}#{n}``: a connection interval of a leg (gaps are the holes in their union);
- ``leg#{leg}``: when a leg ran, why it ended, what it relayed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError

from shared.sources.live_relay.documents import ReceivedEvent, ReceivedLine, RelayRecord
from shared.sources.live_relay.messages import LiveLine

RUNNING = "running"
STOP_REQUESTED = "stop_requested"
# Why a relay ended. "stop"/"error": the bot said so; the others are ours.
ENDED = ("stop", "error", "max_duration", "gave_up", "stopped_by_operator")
FINALIZED = "finalized"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class RelayMeta:
    relay_id: str
    meeting_id: str
    session_id: str
    title: str | None
    secret_id: str
    status: str
    created_at: datetime
    current_leg: int
    started_at: datetime | None
    end_reason: str | None
    ended_at: datetime | None
    finalized_at: datetime | None
    last_heard_at: datetime | None = None
    current_leg_since: datetime | None = None  # when the current leg claimed (its own clock)

    @property
    def ended(self) -> bool:
        return self.status in ENDED or self.status == FINALIZED

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RelayMeta:
        return cls(
            relay_id=item["relay"],
            meeting_id=item["meeting_id"],
            session_id=item["session_id"],
            title=item.get("title"),
            secret_id=item["secret_id"],
            status=item["status"],
            created_at=datetime.fromisoformat(item["created_at"]),
            current_leg=int(item.get("current_leg", 0)),
            started_at=_time(item.get("started_at")),
            end_reason=item.get("end_reason"),
            ended_at=_time(item.get("ended_at")),
            finalized_at=_time(item.get("finalized_at")),
            last_heard_at=_time(item.get("last_heard_at")),
            current_leg_since=_time(item.get("current_leg_since")),
        )


@dataclass(frozen=True)
class Connection:
    leg: int
    opened_at: datetime
    closed_at: datetime


@dataclass(frozen=True)
class LegReport:
    leg: int
    started_at: datetime
    ended_at: datetime
    reason: str
    lines: int
    messages: int


class RelayStore:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("dynamodb")
        return self._client

    # -- writes ------------------------------------------------------------------------------------
    def create(
        self,
        *,
        relay_id: str,
        meeting_id: str,
        session_id: str,
        title: str | None,
        secret_id: str,
        now: datetime,
    ) -> bool:
        """The relay's meta item; False when the relay already exists (a repeated request)."""
        item = {
            "relay": {"S": relay_id},
            "sk": {"S": "meta"},
            "meeting_id": {"S": meeting_id},
            "session_id": {"S": session_id},
            "secret_id": {"S": secret_id},
            "status": {"S": RUNNING},
            "created_at": {"S": _iso(now)},
            "current_leg": {"N": "0"},
        }
        if title:
            item["title"] = {"S": title}
        try:
            self.client.put_item(
                TableName=self._table_name, Item=item, ConditionExpression="attribute_not_exists(relay)"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def meta(self, relay_id: str) -> RelayMeta | None:
        item = self.client.get_item(
            TableName=self._table_name,
            Key={"relay": {"S": relay_id}, "sk": {"S": "meta"}},
            ConsistentRead=True,
        ).get("Item")
        return RelayMeta.from_item(_plain(item)) if item else None

    def claim_current_leg(self, relay_id: str, leg: int, at: datetime) -> bool:
        """The newest connected leg relays the non-line messages that arrive from ``at`` on (taken
        before this write). False when this leg or a newer one had already claimed."""
        try:
            self.client.update_item(
                TableName=self._table_name,
                Key={"relay": {"S": relay_id}, "sk": {"S": "meta"}},
                UpdateExpression="SET current_leg = :leg, current_leg_since = :at",
                ConditionExpression="current_leg < :leg",
                ExpressionAttributeValues={":leg": {"N": str(leg)}, ":at": {"S": _iso(at)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def heard(self, relay_id: str, at: datetime) -> None:
        """The current leg is connected and receiving (every few seconds): give-up is measured from it."""
        self.client.update_item(
            TableName=self._table_name,
            Key={"relay": {"S": relay_id}, "sk": {"S": "meta"}},
            UpdateExpression="SET last_heard_at = :at",
            ExpressionAttributeValues={":at": {"S": _iso(at)}},
        )

    def last_heard(self, relay_id: str) -> datetime | None:
        meta = self.meta(relay_id)
        return meta.last_heard_at if meta else None

    def mark_started(self, relay_id: str, at: datetime) -> None:
        """When ``start`` first arrived: the bot's recording start, the origin of event times."""
        try:
            self.client.update_item(
                TableName=self._table_name,
                Key={"relay": {"S": relay_id}, "sk": {"S": "meta"}},
                UpdateExpression="SET started_at = :at",
                ConditionExpression="attribute_not_exists(started_at)",
                ExpressionAttributeValues={":at": {"S": _iso(at)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def end(self, relay_id: str, reason: str, at: datetime) -> bool:
        """Record why the relay ended (the first reason wins); False when it had already ended."""
        try:
            self.client.update_item(
                TableName=self._table_name,
                Key={"relay": {"S": relay_id}, "sk": {"S": "meta"}},
                UpdateExpression="SET #s = :reason, end_reason = :reason, ended_at = :at",
                ConditionExpression="#s IN (:running, :stop_requested)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":reason": {"S": reason},
                    ":at": {"S": _iso(at)},
                    ":running": {"S": RUNNING},
                    ":stop_requested": {"S": STOP_REQUESTED},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def request_stop(self, relay_id: str) -> bool:
        try:
            self.client.update_item(
                TableName=self._table_name,
                Key={"relay": {"S": relay_id}, "sk": {"S": "meta"}},
                UpdateExpression="SET #s = :stop",
                ConditionExpression="#s = :running",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":stop": {"S": STOP_REQUESTED}, ":running": {"S": RUNNING}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_finalized(self, relay_id: str, at: datetime) -> None:
        self.client.update_item(
            TableName=self._table_name,
            Key={"relay": {"S": relay_id}, "sk": {"S": "meta"}},
            UpdateExpression="SET #s = :done, finalized_at = :at",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":done": {"S": FINALIZED}, ":at": {"S": _iso(at)}},
        )

    def add_line(self, relay_id: str, line: LiveLine, *, received_at: datetime, leg: int) -> bool:
        """True when this leg is the first to record the line (and so the one to relay it)."""
        try:
            self.client.put_item(
                TableName=self._table_name,
                Item={
                    "relay": {"S": relay_id},
                    "sk": {"S": f"line#{line.key}"},
                    "line": {"S": json.dumps(line.to_json(), ensure_ascii=False)},
                    "received_at": {"S": _iso(received_at)},
                    "leg": {"N": str(leg)},
                },
                ConditionExpression="attribute_not_exists(sk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def add_event(
        self, relay_id: str, *, leg: int, seq: int, type_: str, data: Any, received_at: datetime
    ) -> None:
        self.client.put_item(
            TableName=self._table_name,
            Item={
                "relay": {"S": relay_id},
                "sk": {"S": f"event#{leg:05d}#{seq:07d}"},
                "type": {"S": type_},
                "data": {"S": json.dumps(data, ensure_ascii=False)},
                "received_at": {"S": _iso(received_at)},
            },
        )

    def add_connection(self, relay_id: str, connection: Connection, n: int) -> None:
        self.client.put_item(
            TableName=self._table_name,
            Item={
                "relay": {"S": relay_id},
                "sk": {"S": f"conn#{connection.leg:05d}#{n:05d}"},
                "opened_at": {"S": _iso(connection.opened_at)},
                "closed_at": {"S": _iso(connection.closed_at)},
            },
        )

    def add_leg(self, relay_id: str, report: LegReport) -> None:
        self.client.put_item(
            TableName=self._table_name,
            Item={
                "relay": {"S": relay_id},
                "sk": {"S": f"leg#{report.leg:05d}"},
                "started_at": {"S": _iso(report.started_at)},
                "ended_at": {"S": _iso(report.ended_at)},
                "reason": {"S": report.reason},
                "lines": {"N": str(report.lines)},
                "messages": {"N": str(report.messages)},
            },
        )

    # -- reads -------------------------------------------------------------------------------------
    def items(self, relay_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "relay = :r",
            "ExpressionAttributeValues": {":r": {"S": relay_id}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            items.extend(_plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def load(self, relay_id: str) -> tuple[RelayMeta, RelayRecord, list[Connection], list[LegReport]]:
        items = self.items(relay_id)
        meta_item = next((i for i in items if i["sk"] == "meta"), None)
        if meta_item is None:
            raise LookupError(f"no relay {relay_id}")
        meta = RelayMeta.from_item(meta_item)
        record = RelayRecord(
            relay_id=relay_id, meeting_id=meta.meeting_id, session_id=meta.session_id, title=meta.title
        )
        record.started_at = meta.started_at
        connections: list[Connection] = []
        legs: list[LegReport] = []
        for item in items:
            sk = item["sk"]
            if sk.startswith("line#"):
                record.lines.append(
                    ReceivedLine(
                        line=LiveLine(**json.loads(item["line"])),
                        received_at=datetime.fromisoformat(item["received_at"]),
                    )
                )
            elif sk.startswith("event#"):
                record.events.append(
                    ReceivedEvent(
                        type=item["type"],
                        data=json.loads(item["data"]) if item["data"] else {},
                        received_at=datetime.fromisoformat(item["received_at"]),
                        key=sk.removeprefix("event#"),
                    )
                )
            elif sk.startswith("conn#"):
                connections.append(
                    Connection(
                        leg=int(sk.split("#")[1]),
                        opened_at=datetime.fromisoformat(item["opened_at"]),
                        closed_at=datetime.fromisoformat(item["closed_at"]),
                    )
                )
            elif sk.startswith("leg#"):
                legs.append(
                    LegReport(
                        leg=int(sk.removeprefix("leg#")),
                        started_at=datetime.fromisoformat(item["started_at"]),
                        ended_at=datetime.fromisoformat(item["ended_at"]),
                        reason=item["reason"],
                        lines=int(item["lines"]),
                        messages=int(item["messages"]),
                    )
                )
        if connections:
            record.first_connected_at = min(c.opened_at for c in connections)
        return meta, record, connections, legs

    def list_relays(self) -> list[RelayMeta]:
        """Every relay's meta item (a relay table holds a few items per live meeting)."""
        metas: list[RelayMeta] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table_name,
            "FilterExpression": "sk = :meta",
            "ExpressionAttributeValues": {":meta": {"S": "meta"}},
        }
        while True:
            page = self.client.scan(**kwargs)
            metas.extend(RelayMeta.from_item(_plain(item)) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(metas, key=lambda m: m.created_at)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            out[name] = value["S"]
        elif "N" in value:
            out[name] = Decimal(value["N"])
    return out


def gaps(
    connections: list[Connection], ended_at: datetime | None, *, gave_up: bool = False
) -> list[tuple[datetime, datetime]]:
    """Holes in the union of every leg's connection intervals while the stream was live, from the
    first connection until the stream ended (``ended_at``): anything the bot sent in a hole was not
    received. A leg that connected only after the end (it was started as ``stop`` arrived) heard
    nothing the archive needs, so its connection opens no hole. When the relay ``gave_up`` (the
    socket stayed unreachable), the time from the last connection to the end is a hole too."""
    live = [c for c in connections if ended_at is None or c.opened_at < ended_at]
    if not live:
        return []
    ordered = sorted(live, key=lambda c: c.opened_at)
    holes = []
    covered_until = ordered[0].closed_at
    for connection in ordered[1:]:
        if connection.opened_at > covered_until:
            holes.append((covered_until, connection.opened_at))
        covered_until = max(covered_until, connection.closed_at)
    if gave_up and ended_at is not None and ended_at > covered_until:
        holes.append((covered_until, ended_at))
    return holes
