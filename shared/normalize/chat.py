"""RealtimeKit chat exports: detect CSV or JSON by content, parse, render ``chat/chat.json``.

CSV columns (dyte-io/docs ``export-chat-dump.mdx``): ``id, participantId, sessionId, meetingId,
displayName, pinned, isEdited, payloadType, payload, createdAt``. A header row with these names is
read by name (any order); without one, the documented order is assumed. The JSON form is not
documented: an array of objects with the same keys (camelCase or snake_case), or an object with a
``messages`` or ``data`` array.

``chat.json`` is not a seed shape (seed 002 has none for chat); ``ChatMessage`` defines it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, TypeAdapter

from shared.normalize.errors import (
    MalformedArtifactError,
    UnrecognizedFormatError,
    decode_text,
    preview,
    read_csv_rows,
)
from shared.normalize.participants import Roster, clean_field
from shared.normalize.seed_models import Participant, dump_document, iso_utc, parse_iso

ChatFormat = Literal["csv", "json"]

# Documented CSV column order, as normalized keys (lower case, no "_" or spaces).
CSV_COLUMNS = (
    "id",
    "participantid",
    "sessionid",
    "meetingid",
    "displayname",
    "pinned",
    "isedited",
    "payloadtype",
    "payload",
    "createdat",
)
_MESSAGE_TYPES = {"TEXT_MESSAGE": "text", "IMAGE_MESSAGE": "image", "FILE_MESSAGE": "file"}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_EPOCH_MS_THRESHOLD = 10**11


class ChatMessage(BaseModel):
    """One entry of ``chat.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str | None
    # The seed participant (ids as in participants.json) when a roster was given and knows them.
    participant: Participant | None
    participant_id: str | None  # RealtimeKit's participantId, as exported
    display_name: str | None
    # "text" | "image" | "file"; another payloadType is kept as given; null when absent.
    type: str | None
    text: str | None  # the message text (text messages)
    file: dict[str, JsonValue] | None  # the payload of image and file messages
    created_at: str | None  # ISO 8601 UTC when parseable, else the source's text
    edited: bool | None
    pinned: bool | None


ChatDocument: TypeAdapter[list[ChatMessage]] = TypeAdapter(list[ChatMessage])


@dataclass(frozen=True)
class Chat:
    source_format: ChatFormat
    messages: tuple[ChatMessage, ...]  # in source order

    @property
    def source_extension(self) -> str:
        """For ``chat/source.{ext}``."""
        return self.source_format


def _key(name: str) -> str:
    return "".join(name.split()).replace("_", "").lower()


def detect_chat_format(raw: bytes) -> ChatFormat:
    text = decode_text(raw, "chat")
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def parse_chat(raw: bytes) -> Chat:
    """Parse a chat export. A header-only CSV or an empty JSON array is a chat with no messages;
    a 0-byte or whitespace-only file raises ``EmptyArtifactError`` (nothing says which it was)."""
    text = decode_text(raw, "chat")
    if text.lstrip()[:1] in ("[", "{"):
        return Chat("json", tuple(_message(fields, where) for where, fields in _json_records(text, raw)))
    return Chat("csv", tuple(_message(fields, where) for where, fields in _csv_records(text, raw)))


def _csv_records(text: str, raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    rows = read_csv_rows(text, "chat")
    if not rows:
        return []
    first = [_key(cell) for cell in rows[0][1]]
    if "payload" in first and len(set(first) & set(CSV_COLUMNS)) >= 3:
        columns, body = first, rows[1:]
    elif len(rows[0][1]) == len(CSV_COLUMNS):
        columns, body = list(CSV_COLUMNS), rows
    else:
        raise UnrecognizedFormatError(
            f"chat CSV has neither a header naming its columns nor the {len(CSV_COLUMNS)} documented "
            f"columns; it starts with {preview(raw)}"
        )
    records = []
    for line, cells in body:
        if len(cells) != len(columns):
            raise MalformedArtifactError(f"chat line {line}: {len(cells)} columns, expected {len(columns)}")
        records.append((f"line {line}", dict(zip(columns, cells, strict=True))))
    return records


def _json_records(text: str, raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise UnrecognizedFormatError(
            f"chat looks like JSON but does not parse ({error}); it starts with {preview(raw)}"
        ) from None
    items = document
    if isinstance(document, dict):
        items = next((document[k] for k in ("messages", "data") if isinstance(document.get(k), list)), None)
    if not isinstance(items, list):
        raise UnrecognizedFormatError(
            f"JSON chat is neither an array of messages nor an object with a 'messages' or 'data' "
            f"array; it starts with {preview(raw)}"
        )
    records = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedArtifactError(f"chat entry {index}: not an object")
        records.append((f"entry {index}", {_key(k): v for k, v in item.items()}))
    return records


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None  # absent or unreadable: unknown


def _created_at(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A bare number: epoch milliseconds if large enough, else epoch seconds.
        seconds = value / 1000 if value >= _EPOCH_MS_THRESHOLD else value
        return iso_utc(datetime.fromtimestamp(seconds, tz=UTC))
    if isinstance(value, str):
        parsed = parse_iso(value)
        return iso_utc(parsed) if parsed is not None else value.strip()
    return str(value)


def _payload(message_type: str | None, payload: Any) -> tuple[str | None, dict[str, Any] | None]:
    """(text, file) of a message."""
    if isinstance(payload, str) and message_type in ("image", "file"):
        try:
            decoded = json.loads(payload, parse_constant=_reject_constant)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            return None, decoded
        if payload.strip().startswith(("https://", "http://")):
            return None, {"url": payload.strip()}
        return None, ({"raw": payload} if payload else None)
    if isinstance(payload, dict):
        if message_type == "text" and isinstance(payload.get("text"), str):
            return payload["text"], None
        return None, payload
    if isinstance(payload, str):
        return payload, None
    if payload is None:
        return None, None
    return None, {"raw": payload}


def _message(fields: dict[str, Any], where: str) -> ChatMessage:
    raw_type = clean_field(fields.get("payloadtype"))
    message_type = _MESSAGE_TYPES.get(raw_type.upper(), raw_type) if raw_type else None
    text, file = _payload(message_type, fields.get("payload"))
    display_name = fields.get("displayname")
    try:
        return ChatMessage(
            id=clean_field(fields.get("id")),
            participant=None,
            participant_id=clean_field(fields.get("participantid")),
            display_name=(display_name.strip() or None) if isinstance(display_name, str) else None,
            type=message_type,
            text=text,
            file=file,
            created_at=_created_at(fields.get("createdat")),
            edited=_flag(fields.get("isedited")),
            pinned=_flag(fields.get("pinned")),
        )
    except ValueError as error:  # pydantic: a payload that is not JSON-compatible
        raise MalformedArtifactError(f"chat {where}: {error}") from None


def chat_document(chat: Chat, roster: Roster | None = None) -> list[ChatMessage]:
    """The messages, with ``participant`` filled from ``roster`` when it knows the sender."""
    if roster is None:
        return list(chat.messages)
    documents = []
    for message in chat.messages:
        person = roster.find_by_any_id(message.participant_id)
        documents.append(message.model_copy(update={"participant": person.to_seed() if person else None}))
    return documents


def chat_to_json(chat: Chat, roster: Roster | None = None) -> bytes:
    """``chat/chat.json``."""
    return dump_document(ChatDocument, chat_document(chat, roster))
