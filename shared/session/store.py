"""The session record in DynamoDB: one partition per session, one item per fact.

``pk = "{meetingId}/{sessionId}"``; ``sk`` = ``event#{digest}`` (a webhook body, parsed),
``artifact#{name}`` (an archived or failed file), and ``version`` (a counter every change increments). Putting a fact twice writes the same item, so
duplicate deliveries change nothing; the order facts arrive in does not matter either.

The ``version`` item also carries the rebuild state (``shared.session.rebuild``): ``pending_at`` (epoch
seconds of the oldest change no rebuild has covered yet; absent when the files are current, and
then ``pending_shard`` is absent too, which keeps the session out of the sparse
``PENDING_INDEX``), ``built_v`` and ``built_at`` (the record version the files were last rebuilt
from, and when). The ``rebuild`` item keeps the SHA-256 of each derived file as last written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from shared.session.model import ArtifactRecord, SeenEvent, SessionFacts

# A sparse global secondary index over the version items of sessions with a rebuild pending: the
# reconcile sweep finds the ones older than the window without scanning the table.
PENDING_INDEX = "pending-rebuilds"
PENDING_SHARD = "pending"


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

    # -- rebuild state ------------------------------------------------------------------------------
    def _version_key(self, meeting_id: str, session_id: str) -> dict[str, Any]:
        return {"pk": {"S": _pk(meeting_id, session_id)}, "sk": {"S": "version"}}

    def mark_changed(self, meeting_id: str, session_id: str, *, now: float) -> float | None:
        """Count a change and flag the session as needing a rebuild, in one write. Returns when the
        flag was set before (None: this change set it, so the caller asks for the rebuild)."""
        response = self.client.update_item(
            TableName=self.table_name,
            Key=self._version_key(meeting_id, session_id),
            UpdateExpression="ADD v :one SET pending_at = if_not_exists(pending_at, :now), pending_shard = :shard",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":now": {"N": repr(now)},
                ":shard": {"S": PENDING_SHARD},
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
            UpdateExpression="SET pending_at = :now, pending_shard = :shard",
            ExpressionAttributeValues={":now": {"N": repr(now)}, ":shard": {"S": PENDING_SHARD}},
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
                UpdateExpression="SET built_v = :v, built_at = :at REMOVE pending_at, pending_shard",
                ConditionExpression="v = :v",
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
            "KeyConditionExpression": "pending_shard = :shard AND pending_at < :cutoff",
            "ExpressionAttributeValues": {":shard": {"S": PENDING_SHARD}, ":cutoff": {"N": repr(older_than)}},
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

    def list_sessions(self) -> list[tuple[str, str]]:
        """(meeting id, session id) of every recorded session; for the CLI, not the hot path."""
        found: set[tuple[str, str]] = set()
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "sk = :v",
            "ExpressionAttributeValues": {":v": {"S": "version"}},
            "ProjectionExpression": "pk",
        }
        while True:
            page = self.client.scan(**kwargs)
            for item in page.get("Items", []):
                meeting_id, _, session_id = item["pk"]["S"].partition("/")
                found.add((meeting_id, session_id))
            if "LastEvaluatedKey" not in page:
                return sorted(found)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
