"""Chat exports (shared.normalize.chat)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.normalize import (
    EmptyArtifactError,
    MalformedArtifactError,
    PresenceEvent,
    Speaker,
    UnrecognizedFormatError,
    build_roster,
    chat_to_json,
    detect_chat_format,
    parse_chat,
)
from shared.normalize.chat import ChatDocument

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "chat"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


FIRST_MESSAGE = {
    "id": "msg-1",
    "participant": None,
    "participant_id": "user-a",
    "display_name": "José Ñúñez",
    "type": "text",
    "text": 'Hello, "everyone"\nsecond line',
    "file": None,
    "created_at": "2026-06-03T10:01:00.000000Z",
    "edited": False,
    "pinned": False,
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chat_with_header.csv", "csv"),
        ("chat_without_header.csv", "csv"),
        ("chat_array.json", "json"),
        ("chat_messages.json", "json"),
    ],
)
def test_each_variant_is_detected_and_parsed(name: str, expected: str) -> None:
    chat = parse_chat(fixture(name))

    assert detect_chat_format(fixture(name)) == expected
    assert chat.source_extension == expected
    assert len(chat.messages) == 4
    assert json.loads(chat_to_json(chat))[0] == FIRST_MESSAGE


def test_csv_with_and_without_header_normalize_to_the_same_bytes() -> None:
    # The headerless file also has a BOM and CRLF line ends.
    assert chat_to_json(parse_chat(fixture("chat_with_header.csv"))) == chat_to_json(
        parse_chat(fixture("chat_without_header.csv"))
    )


def test_json_array_and_messages_object_normalize_to_the_same_bytes() -> None:
    assert chat_to_json(parse_chat(fixture("chat_array.json"))) == chat_to_json(
        parse_chat(fixture("chat_messages.json"))
    )


def test_data_array_and_snake_case_keys_are_accepted() -> None:
    raw = json.dumps(
        {"data": [{"id": "m", "participant_id": "u", "payload_type": "TEXT_MESSAGE", "payload": "hi"}]}
    ).encode()

    message = parse_chat(raw).messages[0]

    assert (message.participant_id, message.type, message.text) == ("u", "text", "hi")


def test_unicode_commas_quotes_and_newlines_in_names_and_messages() -> None:
    messages = json.loads(chat_to_json(parse_chat(fixture("chat_with_header.csv"))))

    assert messages[1]["display_name"] == 'Bo "The Boss" O\'Neil, Jr.'
    assert messages[1]["text"] == "👍 ünïcödé, 李雷"
    assert (messages[1]["pinned"], messages[1]["edited"]) == (True, True)


def test_image_and_file_payloads() -> None:
    csv_messages = json.loads(chat_to_json(parse_chat(fixture("chat_with_header.csv"))))
    json_messages = json.loads(chat_to_json(parse_chat(fixture("chat_array.json"))))

    assert csv_messages[2]["type"] == "image"
    assert csv_messages[2]["file"] == {"url": "https://example.com/cat.png"}
    assert csv_messages[2]["text"] is None
    expected_file = {"name": "notes, v2.pdf", "size": 1234, "link": "https://example.com/notes.pdf"}
    assert csv_messages[3]["file"] == expected_file  # JSON text inside a CSV cell
    assert json_messages[3]["file"] == expected_file  # an object in the JSON form
    assert csv_messages[3]["edited"] is None  # empty cell: unknown, not False
    assert json_messages[3]["created_at"] == "2026-06-03T10:04:00.000000Z"  # epoch ms in the JSON


def test_epoch_numbers_in_csv_cells_are_converted() -> None:
    # Every CSV cell is text: a cell of digits only is an epoch number, ms when >= 10^11, else seconds.
    raw = (
        b"id,participantId,displayName,payloadType,payload,createdAt\n"
        b"m1,p1,Ann,TEXT_MESSAGE,in ms,1780480860000\n"
        b"m2,p1,Ann,TEXT_MESSAGE,in seconds,1780480860\n"
        b'm3,p1,Ann,TEXT_MESSAGE,quoted and padded," 1780480860000 "\n'
        b"m4,p1,Ann,TEXT_MESSAGE,not a number,1780480860000x\n"
        b"m5,p1,Ann,TEXT_MESSAGE,no date that far,99999999999999999999999\n"
    )

    created = [m.created_at for m in parse_chat(raw).messages]

    assert created == [
        "2026-06-03T10:01:00.000000Z",
        "2026-06-03T10:01:00.000000Z",
        "2026-06-03T10:01:00.000000Z",
        "1780480860000x",
        "99999999999999999999999",
    ]
    as_json = json.dumps([{"id": "m", "payload": "x", "createdAt": "1780480860"}]).encode()
    assert parse_chat(as_json).messages[0].created_at == "2026-06-03T10:01:00.000000Z"


def test_unknown_payload_type_and_unparseable_time_are_kept_as_given() -> None:
    raw = json.dumps(
        [{"id": "m", "payloadType": "POLL_MESSAGE", "payload": "which day?", "createdAt": "yesterday"}]
    ).encode()

    message = parse_chat(raw).messages[0]

    assert (message.type, message.text, message.created_at) == ("POLL_MESSAGE", "which day?", "yesterday")


@pytest.mark.parametrize("raw", [b"", b" \r\n\t", b"\xef\xbb\xbf"], ids=["0-byte", "whitespace", "bom"])
def test_file_without_content_is_empty(raw: bytes) -> None:
    with pytest.raises(EmptyArtifactError, match="chat is empty"):
        parse_chat(raw)


def test_zero_byte_fixture_is_empty() -> None:
    with pytest.raises(EmptyArtifactError):
        parse_chat(fixture("empty.csv"))


@pytest.mark.parametrize("raw", [fixture("chat_header_only.csv"), b"[]", b'{"messages": []}'])
def test_export_with_no_messages_is_an_empty_list(raw: bytes) -> None:
    assert chat_to_json(parse_chat(raw)) == b"[]\n"


@pytest.mark.parametrize(
    ("raw", "error", "hint"),
    [
        (b"just,three,cells\n", UnrecognizedFormatError, "17 bytes, sha256 "),
        (b'{"messages": 3}', UnrecognizedFormatError, "neither an array"),
        (b"[1, 2", UnrecognizedFormatError, "does not parse"),
        (b"[NaN]", UnrecognizedFormatError, "NaN"),
        (b"[1]", MalformedArtifactError, "entry 0: not an object"),
        (fixture("chat_with_header.csv") + b"x,y\n", MalformedArtifactError, "line 7: 2 columns"),
    ],
)
def test_bad_chat_names_the_problem(raw: bytes, error: type[Exception], hint: str) -> None:
    with pytest.raises(error, match=hint):
        parse_chat(raw)


@pytest.mark.parametrize(
    "name", ["chat_with_header.csv", "chat_without_header.csv", "chat_array.json", "chat_messages.json"]
)
def test_chat_json_validates_and_is_deterministic(name: str) -> None:
    first = chat_to_json(parse_chat(fixture(name)))

    assert ChatDocument.validate_json(first)
    assert chat_to_json(parse_chat(fixture(name))) == first


def test_roster_fills_the_seed_participant() -> None:
    roster = build_roster(
        [
            PresenceEvent(
                action="join",
                at=None,
                speaker=Speaker(peer_id="peer-a1", user_id="user-a", custom_participant_id="cust-ana"),
            )
        ]
    )

    messages = json.loads(chat_to_json(parse_chat(fixture("chat_with_header.csv")), roster))

    assert messages[0]["participant"]["id"] == 1
    assert messages[0]["participant"]["extra_data"]["user_id"] == "user-a"
    assert messages[1]["participant"] is None  # user-b is not in the roster
    ChatDocument.validate_json(json.dumps(messages))
