"""RealtimeKit chat exports: detect CSV or JSON by content, parse, render ``chat/chat.json``.

CSV columns (dyte-io/docs ``export-chat-dump.mdx``): ``id, participantId, sessionId, meetingId,
displayName, pinned, isEdited, payloadType, payload, createdAt``. A header row with these names is
read by name (any order); without one, the documented order is assumed. The JSON form is not
documented: an array of objects with the same keys (camelCase or snake_case), or an object with a
``messages`` or ``data`` array.

``chat.json`` is not a seed shape (seed 002 has none for chat); ``ChatMessage`` defines it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, TypeAdapter, ValidationError

from shared.normalize.errors import (
    MAX_SOURCE_ENTRIES,
    MalformedArtifactError,
    TooLargeError,
    UnrecognizedFormatError,
    decode_text,
    fingerprint,
    read_csv_rows,
)
from shared.normalize.participants import Roster, Speaker, clean_field
from shared.normalize.seed_models import (
    ChatMessageData,
    Participant,
    ParticipantEvent,
    Timestamp,
    dump_document,
    iso_utc,
    parse_iso,
    seconds_between,
)

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
_EPOCH_DIGITS = 20  # more digits is no time a date can hold: kept as given


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


# Columns/keys that name a private message's recipient (normalized like the other keys). The
# documented CSV has none; an export that has one gives it to the ``chat_message`` event's ``to``.
RECIPIENT_KEYS = ("to", "recipient", "recipientid", "recipients", "recipientids", "targetuserids")
EVERYONE = "everyone"


@dataclass(frozen=True)
class Chat:
    source_format: ChatFormat
    messages: tuple[ChatMessage, ...]  # in source order
    # The recipient of each message (same order), None for a public message.
    recipients: tuple[str | None, ...] = ()

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
    source_format: ChatFormat = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    records = _json_records(text, raw) if source_format == "json" else _csv_records(text, raw)
    return Chat(
        source_format,
        tuple(_message(fields, where) for where, fields in records),
        tuple(_recipient(fields) for _, fields in records),
    )


def _recipient(fields: dict[str, Any]) -> str | None:
    """The recipient the export names, if any: one id, or several joined with ``,``."""
    for key in RECIPIENT_KEYS:
        value = fields.get(key)
        if isinstance(value, list):
            value = ",".join(v for v in (clean_field(item) for item in value) if v)
        value = clean_field(value)
        if value:
            return None if value.lower() == EVERYONE else value
    return None


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
            f"columns; {fingerprint(raw)}"
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
            f"chat looks like JSON but does not parse ({error}); {fingerprint(raw)}"
        ) from None
    items = document
    if isinstance(document, dict):
        items = next((document[k] for k in ("messages", "data") if isinstance(document.get(k), list)), None)
    if not isinstance(items, list):
        raise UnrecognizedFormatError(
            f"JSON chat is neither an array of messages nor an object with a 'messages' or 'data' "
            f"array; {fingerprint(raw)}"
        )
    if len(items) > MAX_SOURCE_ENTRIES:
        raise TooLargeError(f"chat has {len(items)} entries, more than the {MAX_SOURCE_ENTRIES} parsed")
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
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= _EPOCH_DIGITS:
        value = int(text)  # a CSV cell is text: one of digits only is an epoch number too
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A bare number: epoch milliseconds if large enough, else epoch seconds.
        try:
            seconds = value / 1000 if value >= _EPOCH_MS_THRESHOLD else value
            return iso_utc(datetime.fromtimestamp(seconds, tz=UTC))
        except (OverflowError, OSError, ValueError):  # beyond what a date can hold: kept as given
            return str(value)
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
    except ValidationError as error:  # a payload that is not JSON-compatible
        # Where and what, never the value: pydantic's message quotes the input (meeting content).
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in error.errors()[:3])
        raise MalformedArtifactError(f"chat {where}: {problems}") from None


def chat_document(chat: Chat, roster: Roster | None = None) -> list[ChatMessage]:
    """The messages, with ``participant`` filled from ``roster`` when it knows the sender."""
    if roster is None:
        return list(chat.messages)
    documents = []
    for message in chat.messages:
        person = roster.find_by_any_id(message.participant_id)
        reference = person.to_reference(message.participant_id) if person else None
        documents.append(message.model_copy(update={"participant": reference}))
    return documents


def chat_to_json(chat: Chat, roster: Roster | None = None) -> bytes:
    """``chat/chat.json``."""
    return dump_document(ChatDocument, chat_document(chat, roster))


# --- chat as participant events (seed "Participant Event", action ``chat_message``) --------------


def chat_senders(chat: Chat) -> list[Speaker]:
    """The senders, as the roster sees them: ``participantId`` is matched against every id a
    person has (``Roster.find_by_any_id``); a sender the webhooks and transcript never named joins
    the roster under it (as a peer id, the kind the exports carry) with the display name."""
    senders = []
    for message in chat.messages:
        senders.append(Speaker(peer_id=message.participant_id, name=message.display_name))
    return list(dict.fromkeys(senders))


def _message_text(message: ChatMessage) -> str:
    """Seed ``data.text`` is a string: the text, or for a file/image its name or URL."""
    if message.text is not None:
        return message.text
    file = message.file or {}
    for key in ("name", "url", "raw"):
        value = file.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def chat_events(chat: Chat, roster: Roster, *, origin: datetime | None) -> list[ParticipantEvent]:
    """One ``chat_message`` event per message: ``data`` = ``{text, to}``, ``to`` = ``"everyone"``
    for a public message, the recipient when the export names one. ``relative`` counts from
    ``origin`` (the time base of the session's files)."""
    events = []
    recipients = chat.recipients or (None,) * len(chat.messages)
    for index, (message, recipient) in enumerate(zip(chat.messages, recipients, strict=True)):
        person = roster.find_by_any_id(message.participant_id)
        if person is None:
            person = roster.person_for(Speaker(peer_id=message.participant_id, name=message.display_name))
        at = parse_iso(message.created_at) if message.created_at else None
        relative = seconds_between(origin, at) if at is not None and origin is not None else None
        text = _message_text(message)
        digest = hashlib.sha256(
            "\x1f".join([message.id or str(index), message.created_at or "", text]).encode("utf-8")
        ).hexdigest()
        events.append(
            ParticipantEvent(
                id=f"chat_message-{digest[:16]}",
                action="chat_message",
                participant=person.to_reference(message.participant_id),
                timestamp=Timestamp(absolute=iso_utc(at) if at is not None else None, relative=relative),
                data=ChatMessageData(text=text, to=recipient or EVERYONE),
            )
        )
    return events
