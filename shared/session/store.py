"""The session record in DynamoDB: one partition per session, one item per fact.

``pk = "{meetingId}/{sessionId}"``; ``sk`` = ``event#{digest}`` (a webhook body, parsed),
``artifact#{name}`` (an archived or failed file), and ``version`` (a counter every change increments). Putting a fact twice writes the same item, so
duplicate deliveries change nothing; the order facts arrive in does not matter either."""

from __future__ import annotations

import json
from typing import Any

import boto3

from shared.session.model import ArtifactRecord, SeenEvent, SessionFacts


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
        facts = SessionFacts(meeting_id=meeting_id, session_id=session_id)
        version = 0
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
                return facts, version
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
