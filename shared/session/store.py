"""The session record in DynamoDB: one partition per session, one item per fact.

``pk = "{meetingId}/{sessionId}"``; ``sk`` = ``event#{digest}`` (a webhook body, parsed),
``artifact#{name}`` (an archived or failed file), ``version`` (a counter every change increments) and
``announced`` (the state last published as ``session.archived``). Putting a fact twice writes the same item, so
duplicate deliveries change nothing; the order facts arrive in does not matter either.

More items per session: ``list#...``, the summary the listing indexes (``shared.session.listing``,
rewritten with the derived files), and ``erased``, the tombstone ``meeting-vault forget`` leaves when it
deletes everything else: whatever arrives for the session afterwards is not archived again.

The ``version`` item also carries the rebuild state (``shared.session.rebuild``): ``pending_at`` (epoch
seconds of the oldest change no rebuild has covered yet; absent when the files are current, and
then the item carries no ``listPk``/``listKey`` either; while it is set, they place the item in the
``rebuild#pending`` partition of the table's one index, keyed by that time, so the sweep finds overdue
rebuilds with a query), ``built_v`` and ``built_at`` (the record version the files were last rebuilt
from, and when). The ``rebuild`` item keeps the SHA-256 of each derived file as last written."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from shared.session.listing import (
    KEY_HIGH,
    LIST_KEY,
    LIST_PK,
    ROW_SORT_KEY,
    SESSION_INDEX,
    ListState,
    SessionSummary,
    all_partition,
    meeting_partition,
    session_partition,
    state_partition,
    time_key,
)
from shared.session.model import ArtifactRecord, SeenEvent, SessionFacts

ERASED_SK = "erased"
_BATCH_WRITE = 25  # DynamoDB BatchWriteItem limit
_BATCH_GET = 100  # DynamoDB BatchGetItem limit

# The version items of sessions with a rebuild pending sit in one partition of the listing index,
# keyed by when the change came: the reconcile sweep finds the ones older than the window without
# scanning the table. One index for the table, not two: a CloudFormation update can add only one
# global secondary index to a table at a time, and every extra index is another copy of the writes.
PENDING_INDEX = SESSION_INDEX.name
PENDING_PARTITION = "rebuild#pending"


def pending_key(moment: float) -> str:
    """Epoch seconds as fixed-width text, so text order is time order in the index."""
    return f"{moment:020.6f}"


@dataclass(frozen=True)
class RebuildState:
    """What the version item and the rebuild item say about the derived files."""

    version: int = 0
    pending: float | None = None  # epoch seconds; None: no change waits for a rebuild
    built_version: int | None = None
    built_at: str | None = None
    written: dict[str, str] = field(default_factory=dict)  # derived path -> SHA-256 last written

    @property
    def current(self) -> bool:
        """True when the files reflect the record and nothing waits for a rebuild."""
        return self.pending is None and self.built_version == self.version


def _pk(meeting_id: str, session_id: str) -> str:
    return f"{meeting_id}/{session_id}"


class SessionStore:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("dynamodb")
        return self._client

    def _put(self, meeting_id: str, session_id: str, sk: str, data: dict[str, Any]) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": _pk(meeting_id, session_id)},
                "sk": {"S": sk},
                "data": {"S": json.dumps(data, ensure_ascii=False, separators=(",", ":"))},
            },
        )

    def add_event(self, meeting_id: str, session_id: str, event: SeenEvent) -> None:
        data = {"event": event.event, "payload": event.payload, "synthesized": event.synthesized}
        self._put(meeting_id, session_id, f"event#{event.digest}", data)

    def put_artifact(self, meeting_id: str, session_id: str, record: ArtifactRecord) -> None:
        self._put(
            meeting_id,
            session_id,
            f"artifact#{record.name}",
            record.model_dump(mode="json", exclude_none=True),
        )

    def claim_announcement(self, meeting_id: str, session_id: str, signature: str) -> bool:
        """Record ``signature`` as the session's announced state; False when it already is."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": _pk(meeting_id, session_id)},
                    "sk": {"S": "announced"},
                    "sig": {"S": signature},
                    "data": {"S": json.dumps({"signature": signature})},  # load() skips it
                },
                ConditionExpression="attribute_not_exists(sig) OR sig <> :sig",
                ExpressionAttributeValues={":sig": {"S": signature}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_announcement(self, meeting_id: str, session_id: str, signature: str) -> None:
        """Undo ``claim_announcement`` after the event could not be published (a retry claims again)."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": _pk(meeting_id, session_id)}, "sk": {"S": "announced"}},
                ConditionExpression="sig = :sig",
                ExpressionAttributeValues={":sig": {"S": signature}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return

    # -- rebuild state ------------------------------------------------------------------------------
    def _version_key(self, meeting_id: str, session_id: str) -> dict[str, Any]:
        return {"pk": {"S": _pk(meeting_id, session_id)}, "sk": {"S": "version"}}

    def mark_changed(self, meeting_id: str, session_id: str, *, now: float) -> float | None:
        """Count a change and flag the session as needing a rebuild, in one write. Returns when the
        flag was set before (None: this change set it, so the caller asks for the rebuild)."""
        response = self.client.update_item(
            TableName=self.table_name,
            Key=self._version_key(meeting_id, session_id),
            UpdateExpression=(
                "ADD v :one SET pending_at = if_not_exists(pending_at, :now), #pk = :part,"
                " #key = if_not_exists(#key, :key)"
            ),
            ExpressionAttributeNames={"#pk": SESSION_INDEX.partition_key, "#key": SESSION_INDEX.sort_key},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":now": {"N": repr(now)},
                ":part": {"S": PENDING_PARTITION},
                ":key": {"S": pending_key(now)},
            },
            ReturnValues="ALL_OLD",  # the small version item, as it was
        )
        old = response.get("Attributes", {}).get("pending_at")
        return float(old["N"]) if old else None

    def rearm(self, meeting_id: str, session_id: str, *, now: float) -> None:
        """The pending flag, set again to ``now`` (a rebuild request is about to be sent)."""
        self.client.update_item(
            TableName=self.table_name,
            Key=self._version_key(meeting_id, session_id),
            UpdateExpression="SET pending_at = :now, #pk = :part, #key = :key",
            ExpressionAttributeNames={"#pk": SESSION_INDEX.partition_key, "#key": SESSION_INDEX.sort_key},
            ExpressionAttributeValues={
                ":now": {"N": repr(now)},
                ":part": {"S": PENDING_PARTITION},
                ":key": {"S": pending_key(now)},
            },
        )

    def save_written(self, meeting_id: str, session_id: str, written: dict[str, str]) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": _pk(meeting_id, session_id)},
                "sk": {"S": "rebuild"},
                "data": {"S": json.dumps({"written": written}, separators=(",", ":"), sort_keys=True)},
            },
        )

    def finish_rebuild(self, meeting_id: str, session_id: str, *, version: int, built_at: str) -> bool:
        """Record that the files reflect ``version`` and clear the pending flag, unless the record
        moved on meanwhile (False: the caller schedules another rebuild)."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._version_key(meeting_id, session_id),
                UpdateExpression="SET built_v = :v, built_at = :at REMOVE pending_at, #pk, #key",
                ConditionExpression="v = :v",
                ExpressionAttributeNames={"#pk": SESSION_INDEX.partition_key, "#key": SESSION_INDEX.sort_key},
                ExpressionAttributeValues={":v": {"N": str(version)}, ":at": {"S": built_at}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._version_key(meeting_id, session_id),
                UpdateExpression="SET built_v = :v, built_at = :at",
                ExpressionAttributeValues={":v": {"N": str(version)}, ":at": {"S": built_at}},
            )
            return False
        return True

    def load_for_rebuild(self, meeting_id: str, session_id: str) -> tuple[SessionFacts, RebuildState]:
        """Every fact and the rebuild state, from one consistent query."""
        facts, version, extra = self._load(meeting_id, session_id)
        item = extra.get("version", {})
        written = json.loads(extra["rebuild"]["data"]["S"])["written"] if "rebuild" in extra else {}
        return facts, RebuildState(
            version=version,
            pending=float(item["pending_at"]["N"]) if "pending_at" in item else None,
            built_version=int(item["built_v"]["N"]) if "built_v" in item else None,
            built_at=item["built_at"]["S"] if "built_at" in item else None,
            written=written,
        )

    def pending_since(self, older_than: float, *, limit: int = 500) -> list[tuple[str, str, float]]:
        """Sessions whose rebuild has been pending since before ``older_than`` (epoch seconds),
        oldest first: (meeting id, session id, pending since)."""
        found: list[tuple[str, str, float]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "#pk = :part AND #key < :cutoff",
            "ExpressionAttributeNames": {"#pk": SESSION_INDEX.partition_key, "#key": SESSION_INDEX.sort_key},
            "ExpressionAttributeValues": {
                ":part": {"S": PENDING_PARTITION},
                ":cutoff": {"S": pending_key(older_than)},
            },
        }
        while len(found) < limit:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                meeting_id, _, session_id = item["pk"]["S"].partition("/")
                found.append((meeting_id, session_id, float(item["pending_at"]["N"])))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found[:limit]

    def bump_version(self, meeting_id: str, session_id: str) -> int:
        response = self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": _pk(meeting_id, session_id)}, "sk": {"S": "version"}},
            UpdateExpression="ADD v :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["v"]["N"])

    def version(self, meeting_id: str, session_id: str) -> int:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": _pk(meeting_id, session_id)}, "sk": {"S": "version"}},
            ConsistentRead=True,
        ).get("Item")
        return int(item["v"]["N"]) if item else 0

    def load(self, meeting_id: str, session_id: str) -> tuple[SessionFacts, int]:
        """Every fact of the session (consistent read) and the version they reflect."""
        facts, version, _ = self._load(meeting_id, session_id)
        return facts, version

    def _load(self, meeting_id: str, session_id: str) -> tuple[SessionFacts, int, dict[str, dict[str, Any]]]:
        facts = SessionFacts(meeting_id=meeting_id, session_id=session_id)
        version = 0
        extra: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": _pk(meeting_id, session_id)}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                sk = item["sk"]["S"]
                if sk == "version":
                    version = int(item["v"]["N"])
                    extra[sk] = item
                    continue
                if sk == "rebuild":
                    extra[sk] = item
                    continue
                if sk == ERASED_SK:
                    facts.erased = True
                    continue
                if "data" not in item:  # the summary item
                    continue
                data = json.loads(item["data"]["S"])
                if sk.startswith("event#"):
                    facts.events.append(
                        SeenEvent(
                            digest=sk.removeprefix("event#"),
                            event=data["event"],
                            payload=data["payload"],
                            synthesized=bool(data.get("synthesized")),
                        )
                    )
                elif sk.startswith("artifact#"):
                    facts.artifacts.append(ArtifactRecord.model_validate(data))
            if "LastEvaluatedKey" not in page:
                return facts, version, extra
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- the listing (summary items and their indexes) ---------------------------------------
    def put_summary(self, summary: SessionSummary, *, batch: bool = False) -> None:
        """The session's listing items, one per index partition (``shared.session.listing``): in one
        BatchWriteItem with ``batch`` (the rebuilds consumer's role allows it: it may delete session
        items anyway), else one PutItem each (the meeting-bot consumers' roles allow no
        BatchWriteItem, which can delete too)."""
        row = json.dumps(summary.row, ensure_ascii=False, separators=(",", ":"))
        pk = _pk(summary.meeting_id, summary.session_id)
        items = [
            {
                "pk": {"S": pk},
                "sk": {"S": sk},
                LIST_PK: {"S": partition},
                LIST_KEY: {"S": summary.list_key},
                "listState": {"S": summary.state},
                "row": {"S": row},
            }
            for sk, partition in summary.partitions().items()
        ]
        if not batch:
            for item in items:
                self.client.put_item(TableName=self.table_name, Item=item)
            return
        left = self._batch_write([{"PutRequest": {"Item": item}} for item in items], attempts=5)
        for request in left:  # still unprocessed: one PutItem each
            self.client.put_item(TableName=self.table_name, Item=request["PutRequest"]["Item"])

    def _batch_write(self, requests: list[dict[str, Any]], *, attempts: int | None) -> list[dict[str, Any]]:
        """``requests`` in BatchWriteItems of 25, sending what DynamoDB leaves unprocessed again after
        a growing pause (its advice: unprocessed items mean throttling), at most ``attempts`` times
        per batch (None: until done). Returns what is still unprocessed."""
        left: list[dict[str, Any]] = []
        for start in range(0, len(requests), _BATCH_WRITE):
            pending: list[dict[str, Any]] = requests[start : start + _BATCH_WRITE]
            attempt = 0
            while pending and (attempts is None or attempt < attempts):
                if attempt:
                    time.sleep(min(1.0, 0.05 * 2 ** (attempt - 1)))
                answer = self.client.batch_write_item(RequestItems={self.table_name: pending})
                pending = (answer.get("UnprocessedItems") or {}).get(self.table_name, [])
                attempt += 1
            left.extend(pending)
        return left

    def summary_row(self, meeting_id: str, session_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": _pk(meeting_id, session_id)}, "sk": {"S": ROW_SORT_KEY}},
        ).get("Item")
        return json.loads(item["row"]["S"]) if item else None

    def _query_index(
        self,
        partition: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        low = time_key(since) if since else "0"
        high = time_key(until) + KEY_HIGH if until else KEY_HIGH
        return {
            "TableName": self.table_name,
            "IndexName": SESSION_INDEX.name,
            "KeyConditionExpression": "#p = :p AND #k BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#p": LIST_PK, "#k": LIST_KEY},
            "ExpressionAttributeValues": {":p": {"S": partition}, ":low": {"S": low}, ":high": {"S": high}},
            **extra,
        }

    def list_page(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        meeting_id: str | None = None,
        state: ListState | None = None,
        limit: int = 50,
        next_token: str | None = None,
    ) -> ListingPage:
        """One page of session rows, newest first: a Query of one index partition, never a scan.
        With both ``meeting_id`` and ``state``, the meeting's partition is filtered on the state
        (one meeting's sessions: a few items)."""
        if meeting_id:
            partition = meeting_partition(meeting_id)
        elif state:
            partition = state_partition(state)
        else:
            partition = all_partition()
        kwargs = self._query_index(partition, since=since, until=until, ScanIndexForward=False)
        if meeting_id and state:
            kwargs["FilterExpression"] = "listState = :state"
            kwargs["ExpressionAttributeValues"][":state"] = {"S": state}
        if next_token:
            kwargs["ExclusiveStartKey"] = decode_token(next_token)
        page = ListingPage()
        while True:
            kwargs["Limit"] = limit - len(page.rows)  # a filter only removes: never more than asked
            answer = self.client.query(**kwargs)
            page.rows.extend(json.loads(item["row"]["S"]) for item in answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if last is None:
                page.next_token = None
                return page
            page.next_token = encode_token(last)
            if len(page.rows) >= limit:
                return page
            kwargs["ExclusiveStartKey"] = last

    def count_in_state(self, state: ListState, *, since: datetime | None = None) -> int:
        """How many sessions are in ``state`` (and started since ``since``): a COUNT query of the
        state's index partition, so it grows with that state's sessions, not with the archive."""
        kwargs = self._query_index(state_partition(state), since=since, Select="COUNT")
        total = 0
        while True:
            answer = self.client.query(**kwargs)
            total += int(answer.get("Count", 0))
            if "LastEvaluatedKey" not in answer:
                return total
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def rows_in_state(
        self, state: ListState, *, since: datetime | None = None, limit: int
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` rows of the sessions in ``state`` started since ``since``."""
        kwargs = self._query_index(state_partition(state), since=since, ScanIndexForward=False, Limit=limit)
        return [json.loads(item["row"]["S"]) for item in self.client.query(**kwargs).get("Items", [])]

    def sessions_with_id(self, session_id: str) -> list[tuple[str, str]]:
        """(meeting id, session id) of the recorded sessions with this id: one index query."""
        kwargs = self._query_index(session_partition(session_id), ProjectionExpression="pk")
        found = set()
        for item in self.client.query(**kwargs).get("Items", []):
            meeting_id, _, sid = item["pk"]["S"].partition("/")
            found.add((meeting_id, sid))
        return sorted(found)

    def meeting_sessions(self, meeting_id: str) -> list[str]:
        """Ids of the meeting's recorded sessions (its index partition)."""
        kwargs = self._query_index(meeting_partition(meeting_id), ProjectionExpression="pk")
        found: set[str] = set()
        while True:
            answer = self.client.query(**kwargs)
            found.update(item["pk"]["S"].partition("/")[2] for item in answer.get("Items", []))
            if "LastEvaluatedKey" not in answer:
                return sorted(found)
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    # -- erasure -----------------------------------------------------------------------------
    def is_erased(self, meeting_id: str, session_id: str) -> bool:
        """One consistent GetItem of the tombstone's key: the check before archiving anything."""
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": _pk(meeting_id, session_id)}, "sk": {"S": ERASED_SK}},
            ConsistentRead=True,
            ProjectionExpression="pk",
        ).get("Item")
        return item is not None

    def erased_among(self, sessions: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of ``sessions`` (meeting id, session id) ``meeting-vault forget`` erased: the same
        consistent read of each tombstone as :meth:`is_erased`, for a whole batch in one
        BatchGetItem per 100 sessions. Keys DynamoDB leaves unprocessed are read again, one by one
        if they keep coming back."""
        wanted = sorted(set(sessions))
        erased: set[tuple[str, str]] = set()
        for start in range(0, len(wanted), _BATCH_GET):
            chunk = wanted[start : start + _BATCH_GET]
            keys = [{"pk": {"S": _pk(m, s)}, "sk": {"S": ERASED_SK}} for m, s in chunk]
            by_pk = {_pk(m, s): (m, s) for m, s in chunk}
            for _ in range(3):
                answer = self.client.batch_get_item(
                    RequestItems={
                        self.table_name: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "pk"}
                    }
                )
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    erased.add(by_pk[item["pk"]["S"]])
                keys = answer.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if not keys:
                    break
            for key in keys:  # still unprocessed: one GetItem each
                meeting_id, session_id = by_pk[key["pk"]["S"]]
                if self.is_erased(meeting_id, session_id):
                    erased.add((meeting_id, session_id))
        return erased

    def erase(self, meeting_id: str, session_id: str, *, erased_at: datetime) -> ErasedRecord:
        """Write the tombstone first (so nothing new is recorded meanwhile), then delete every other
        item of the session: events, artifact records, version counter, summary."""
        pk = _pk(meeting_id, session_id)
        self.client.put_item(
            TableName=self.table_name,
            Item={"pk": {"S": pk}, "sk": {"S": ERASED_SK}, "erasedAt": {"S": time_key(erased_at)}},
        )
        erased = ErasedRecord()
        for sk in self._sort_keys(pk):
            if sk == ERASED_SK:
                continue
            erased.sort_keys.append(sk)
        self._batch_write(
            [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for sk in erased.sort_keys],
            attempts=None,
        )
        return erased

    def _sort_keys(self, pk: str) -> Iterator[str]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ProjectionExpression": "sk",
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            yield from (item["sk"]["S"] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class ListingPage:
    rows: list[dict[str, Any]] = field(default_factory=list)
    next_token: str | None = None  # pass back as ``next_token`` for the following page


@dataclass
class ErasedRecord:
    sort_keys: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(1 for sk in self.sort_keys if sk.startswith("event#"))

    @property
    def artifacts(self) -> int:
        return sum(1 for sk in self.sort_keys if sk.startswith("artifact#"))


def encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The index position a ``--next`` token names; ValueError when it is not one of ours."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{token!r} is not a --next token printed by `meeting-vault sessions`") from exc
    if not isinstance(key, dict) or LIST_PK not in key or LIST_KEY not in key:
        raise ValueError(f"{token!r} is not a --next token printed by `meeting-vault sessions`")
    return key
