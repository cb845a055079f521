"""The bus detail the ingest function publishes, built without pydantic.

The document is the one ``shared.ingest.envelope.WebhookDetail`` describes (consumers read it with
that model): ``{delivery, event, meetingId, sessionId, eventTime, valid, parseError, payload, body}``,
plus ``appId`` (the app id the body names, or null) and ``tenancy`` (how the body was bound to this
stack's app, see ``shared.ingest.tenancy``). A plainly valid body is read by hand
(``shared.ingest.fields``); any other body goes through the models (``envelope.build_detail``), imported
only then, so the models stay the one judge of what is valid."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.ingest.fields import (
    ESCAPED_SURROGATE,
    MAX_JSON_DEPTH,
    UNPARSED_DETAIL_TYPE,
    app_ids_in,
    nested_deeper_than,
    read_fields,
)

_DETAIL_TYPE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def iso(moment: datetime | None) -> str | None:
    """As pydantic writes a datetime in JSON (UTC as ``Z``)."""
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def raw_body(body: bytes) -> dict[str, str]:
    try:
        return {"encoding": "utf-8", "data": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"encoding": "base64", "data": base64.b64encode(body).decode()}


@dataclass
class PublishedDetail:
    """One bus event's detail; ``document`` is exactly what goes on the bus."""

    document: dict[str, Any]
    body: bytes = field(repr=False)
    app_ids: tuple[str, ...] = ()

    @property
    def event(self) -> str | None:
        value = self.document.get("event")
        return value if isinstance(value, str) else None

    @property
    def meeting_id(self) -> str | None:
        value: str | None = self.document.get("meetingId")
        return value

    @property
    def session_id(self) -> str | None:
        value: str | None = self.document.get("sessionId")
        return value

    @property
    def event_time(self) -> datetime | None:
        value = self.document.get("eventTime")
        return datetime.fromisoformat(value) if value else None

    @property
    def valid(self) -> bool:
        return bool(self.document["valid"])

    @property
    def parse_error(self) -> str | None:
        value: str | None = self.document.get("parseError")
        return value

    @property
    def delivery_id(self) -> str | None:
        value: str | None = self.document["delivery"].get("deliveryId")
        return value

    @property
    def body_sha256(self) -> str:
        return str(self.document["delivery"]["bodySha256"])

    @property
    def detail_type(self) -> str:
        name = self.event
        if name and len(name) <= 64 and set(name) <= _DETAIL_TYPE_CHARS:
            return name
        return UNPARSED_DETAIL_TYPE

    def to_json(self) -> str:
        """Non-ASCII as UTF-8 (smaller on the bus), unless the payload holds a lone surrogate (a body
        with ``"\\ud800"``), which UTF-8 cannot carry: then everything is ``\\u``-escaped."""
        text = json.dumps(self.document, ensure_ascii=False, separators=(",", ":"))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(self.document, separators=(",", ":"))
        return text


def build_published(
    body: bytes,
    *,
    received_at: datetime,
    delivery_id: str | None,
    webhook_id: str | None,
    signature_header: str,
) -> PublishedDetail:
    """Parse a verified body into the bus detail. Never raises for a bad body: a signed body that
    does not parse is still carried (flagged ``valid: false`` with the reason) so nothing is lost."""
    payload: Any = None
    fields = None
    try:
        # Decoded strictly, as the models do: json.loads(bytes) decodes with "surrogatepass", which
        # lets a UTF-8-encoded lone surrogate into the payload, and the bus detail could not carry it.
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        pass  # the models' path below words the error
    else:
        if not nested_deeper_than(payload, MAX_JSON_DEPTH) and not ESCAPED_SURROGATE.search(body):
            fields = read_fields(payload)
    if fields is None:
        from shared.ingest.envelope import build_detail  # pydantic: only for bodies out of the plain

        detail = build_detail(
            body,
            received_at=received_at,
            delivery_id=delivery_id,
            webhook_id=webhook_id,
            signature_header=signature_header,
        )
        document = json.loads(detail.to_json())
    else:
        document = {
            "delivery": {
                "deliveryId": delivery_id,
                "webhookId": webhook_id,
                "receivedAt": iso(received_at),
                "bodySha256": hashlib.sha256(body).hexdigest(),
                "bodyBytes": len(body),
                "signatureHeader": signature_header,
            },
            "event": fields.event,
            "meetingId": fields.meeting_id,
            "sessionId": fields.session_id,
            "eventTime": iso(fields.event_time),
            "valid": True,
            "parseError": None,
            "payload": payload,
            "body": raw_body(body),
        }
    app_ids = app_ids_in(document.get("payload"))
    document["appId"] = app_ids[0] if app_ids else None
    return PublishedDetail(document=document, body=body, app_ids=app_ids)
