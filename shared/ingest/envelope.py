"""What the ingest function puts on the bus for each accepted webhook, and how consumers read it.

``detail`` = {"delivery": {...metadata...}, "event", "meetingId", "sessionId", "valid", "parseError",
"payload": <the JSON body as received, or null>, "body": {"encoding", "data"}} — the exact bytes ride
along so consumers can archive the body as received, byte for byte."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.ingest.events import parse_event
from shared.ingest.fields import (
    ESCAPED_SURROGATE,
    MAX_JSON_DEPTH,
    UNPARSED_DETAIL_TYPE,
    ids_of_refused_body,
    nested_deeper_than,
)
from shared.ingest.fields import EVENT_SOURCE as EVENT_SOURCE

_DETAIL_TYPE_OK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# Events we make ourselves (the reconciliation sweep, the CLI's backfill) carry one of these as
# ``delivery.signatureHeader`` instead of the header a verified webhook arrived with.
SYNTHESIZED_BY = ("reconcile", "backfill")


class Delivery(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    delivery_id: str | None = Field(default=None, alias="deliveryId")
    webhook_id: str | None = Field(default=None, alias="webhookId")
    received_at: datetime = Field(alias="receivedAt")
    body_sha256: str = Field(alias="bodySha256")
    body_bytes: int = Field(alias="bodyBytes")
    signature_header: str = Field(alias="signatureHeader")


class RawBody(BaseModel):
    model_config = ConfigDict(frozen=True)

    encoding: Literal["utf-8", "base64"]
    data: str

    def to_bytes(self) -> bytes:
        return self.data.encode() if self.encoding == "utf-8" else base64.b64decode(self.data)

    @classmethod
    def of(cls, body: bytes) -> RawBody:
        try:
            return cls(encoding="utf-8", data=body.decode("utf-8"))
        except UnicodeDecodeError:
            return cls(encoding="base64", data=base64.b64encode(body).decode())


class WebhookDetail(BaseModel):
    """The ``detail`` of every bus event from the ingest function."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    delivery: Delivery
    event: str | None
    meeting_id: str | None = Field(alias="meetingId")
    session_id: str | None = Field(alias="sessionId")
    event_time: datetime | None = Field(alias="eventTime")
    valid: bool
    parse_error: str | None = Field(alias="parseError")
    payload: Any = None
    body: RawBody
    # Set by ingest: the app id the body names (None: it names none), and how it was bound to this
    # stack's app: "configured" (the id is one of ours), "confirmed" (RealtimeKit's REST API knows
    # the meeting under our app), "unverified" (no id: consumers ask RealtimeKit before fetching).
    app_id: str | None = Field(default=None, alias="appId")
    tenancy: str | None = None
    # A claim check: the body was too large for the bus and waits in the archive bucket at this key
    # (``payload`` and ``body`` are then placeholders until ``with_body`` fills them).
    body_ref: str | None = Field(default=None, alias="bodyRef")

    @property
    def synthesized(self) -> bool:
        """Made by the pipeline from RealtimeKit's REST API, not a webhook RealtimeKit signed."""
        return self.delivery.signature_header in SYNTHESIZED_BY

    @property
    def detail_type(self) -> str:
        if self.event and _DETAIL_TYPE_OK.match(self.event):
            return self.event
        return UNPARSED_DETAIL_TYPE

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def with_body(detail: WebhookDetail, raw: bytes) -> WebhookDetail:
    """The detail of a claim check with its body read back from the bucket. Raises ``ValueError``
    when the bytes are not the ones ingest verified (their SHA-256 differs)."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != detail.delivery.body_sha256:
        raise ValueError(f"claim check {detail.body_ref}: body SHA-256 {digest} is not the one verified")
    payload: Any = None
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        payload = None
    if payload is not None and nested_deeper_than(payload, MAX_JSON_DEPTH):
        payload = None
    return detail.model_copy(update={"body": RawBody.of(raw), "payload": payload, "body_ref": None})


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__


def build_detail(
    body: bytes,
    *,
    received_at: datetime,
    delivery_id: str | None,
    webhook_id: str | None,
    signature_header: str,
) -> WebhookDetail:
    """Parse a verified body into the bus detail. Never raises for a bad body: a signed body that
    does not parse is still carried (flagged ``valid: false`` with the reason) so nothing is lost."""
    payload: Any = None
    event_name: str | None = None
    meeting_id = session_id = None
    event_time = None
    parse_error: str | None = None
    try:
        # Decoded strictly first: json.loads(bytes) decodes with "surrogatepass", which lets a
        # UTF-8-encoded lone surrogate into the payload, and the bus detail could not be serialized.
        payload = json.loads(body.decode("utf-8"))
    except ValueError as exc:  # includes UnicodeDecodeError
        parse_error = f"body is not JSON: {_first_line(exc)}"
    except RecursionError:  # e.g. 30,000 nested "[": json gives up before the body cap does
        parse_error = f"body is not JSON we can keep: nested deeper than {MAX_JSON_DEPTH} levels"
    if parse_error is None and ESCAPED_SURROGATE.search(body) and not _encodable(payload):
        payload, parse_error = None, "body is not JSON we can keep: it escapes a lone UTF-16 surrogate"
    if parse_error is None and nested_deeper_than(payload, MAX_JSON_DEPTH):
        # Carried as raw bytes only: the parsed copy could not be serialized onto the bus.
        payload, parse_error = (
            None,
            f"body is not JSON we can keep: nested deeper than {MAX_JSON_DEPTH} levels",
        )
    if parse_error is None:
        if isinstance(payload, dict) and isinstance(payload.get("event"), str):
            event_name = payload["event"]
        try:
            event = parse_event(payload)
        except ValueError as exc:
            parse_error = _first_line(exc) if not hasattr(exc, "errors") else _summarize(exc)
            # Still filed under its session when the body names one plainly (the flag keeps it
            # out of every session record and every worker).
            meeting_id, session_id = ids_of_refused_body(payload)
        else:
            meeting_id, session_id, event_time = event.meeting_id, event.session_id, event.event_time
    return WebhookDetail(
        delivery=Delivery(
            delivery_id=delivery_id,
            webhook_id=webhook_id,
            received_at=received_at,
            body_sha256=hashlib.sha256(body).hexdigest(),
            body_bytes=len(body),
            signature_header=signature_header,
        ),
        event=event_name,
        meeting_id=meeting_id,
        session_id=session_id,
        event_time=event_time,
        valid=parse_error is None,
        parse_error=parse_error,
        payload=payload,
        body=RawBody.of(body),
    )


def _encodable(document: Any) -> bool:
    """False when a string in it holds a lone surrogate ("\\ud800" in the JSON text): valid JSON,
    but no UTF-8 encoder (the bus detail's) can write it. Only checked when the body escapes one."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


def _summarize(exc: Exception) -> str:
    errors = exc.errors()  # type: ignore[attr-defined]
    parts = []
    for err in errors[:3]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg')}")
    return "; ".join(parts)[:300]
