"""The seed-shape models reject anything that drifts from seeds/002."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.normalize.seed_models import (
    Participant,
    ParticipantEventsDocument,
    ParticipantsDocument,
    SpeakerTimelineEntry,
    TranscriptDocument,
    dump_document,
    to_json_bytes,
)

PARTICIPANT: dict[str, Any] = {
    "id": 1,
    "name": "Ana",
    "is_host": None,
    "platform": "realtimekit",
    "extra_data": {"peer_ids": ["p"]},
    "email": None,
}
STAMP = {"absolute": "2026-06-03T10:00:01.000000Z", "relative": 1.0}


def test_a_valid_participant_passes() -> None:
    assert Participant.model_validate(PARTICIPANT).id == 1


@pytest.mark.parametrize(
    "change",
    [
        {"id": "1"},  # the seed says number
        {"id": True},
        {"surname": "x"},  # not in the seed
        {"is_host": "yes"},
    ],
)
def test_participant_drift_is_rejected(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Participant.model_validate({**PARTICIPANT, **change})


def test_missing_key_is_rejected() -> None:
    incomplete = dict(PARTICIPANT)
    del incomplete["email"]

    with pytest.raises(ValidationError):
        Participant.model_validate(incomplete)


@pytest.mark.parametrize(
    "stamp",
    [
        {"absolute": "2026-06-03T10:00:01+02:00", "relative": 1.0},  # not UTC "Z"
        {"absolute": "yesterdayZ", "relative": 1.0},
        {"absolute": None, "relative": None},  # a start must have a relative time
        {"relative": 1.0},
    ],
)
def test_bad_start_timestamp_is_rejected(stamp: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SpeakerTimelineEntry.model_validate(
            {"participant": PARTICIPANT, "start_timestamp": stamp, "end_timestamp": STAMP}
        )


def test_transcript_entry_needs_at_least_one_word() -> None:
    with pytest.raises(ValidationError):
        TranscriptDocument.validate_python([{"participant": PARTICIPANT, "words": []}])


def test_participant_event_action_is_one_of_the_seed_values() -> None:
    event = {"id": "e", "action": "join", "participant": PARTICIPANT, "timestamp": STAMP, "data": None}
    assert ParticipantEventsDocument.validate_python([event])

    with pytest.raises(ValidationError):
        ParticipantEventsDocument.validate_python([{**event, "action": "joined"}])


def test_documents_are_utf8_indented_and_newline_terminated() -> None:
    people = [Participant.model_validate({**PARTICIPANT, "name": "李雷"})]

    body = dump_document(ParticipantsDocument, people)

    assert body.startswith(b'[\n  {\n    "id": 1,\n    "name": "\xe6\x9d\x8e\xe9\x9b\xb7"')
    assert body.endswith(b"]\n")
    # pydantic's encoder writes exactly what json.dumps(indent=2, ensure_ascii=False) writes.
    assert body == to_json_bytes([p.model_dump(mode="json") for p in people])


def test_non_finite_seconds_are_rejected() -> None:
    with pytest.raises(ValidationError):
        SpeakerTimelineEntry.model_validate(
            {
                "participant": PARTICIPANT,
                "start_timestamp": {"absolute": None, "relative": float("inf")},
                "end_timestamp": STAMP,
            }
        )


def test_json_bytes_refuse_nan() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        to_json_bytes([{"relative": float("nan")}])


def test_is_host_and_email_are_nullable_as_in_the_seed() -> None:
    # Seed 002, "Participant Download URL":
    # "is_host": boolean | null, // Whether the participant is the host of the meeting.
    # "email": string | null,  // Email, if participant identification is turned on
    assert Participant.model_validate({**PARTICIPANT, "is_host": None, "email": None}).email is None
    assert Participant.model_validate({**PARTICIPANT, "is_host": True, "email": "a@b.c"}).is_host is True


def test_chat_message_event_data_is_text_and_to() -> None:
    # Seed 002, "Participant Event": "data": { "text": string, // The text of chat message
    # "to": string, // The recipient of the chat message. values: "everyone" | "only_bot" }
    event = {
        "id": "chat_message-1",
        "action": "chat_message",
        "participant": PARTICIPANT,
        "timestamp": STAMP,
        "data": {"text": "hi", "to": "everyone"},
    }
    [parsed] = ParticipantEventsDocument.validate_python([event])
    assert parsed.data is not None
    assert (parsed.data.text, parsed.data.to) == ("hi", "everyone")
    with pytest.raises(ValidationError):
        ParticipantEventsDocument.validate_python([{**event, "data": {"text": "hi", "to": ""}}])
    with pytest.raises(ValidationError):
        ParticipantEventsDocument.validate_python([{**event, "data": {"text": "hi"}}])


def test_formats_doc_lists_every_deviation_in_one_place() -> None:
    """docs/formats.md's deviations table names each place our files differ from seed 002."""
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "formats.md").read_text()
    section = doc.split("## Deviations from the seeds", 1)[1]
    for where in (
        "`transcript.json` `words[]`",
        "`end_timestamp`",
        "`absolute` (every timestamp)",
        "`relative` base",
        "`chat_message` `data.to`",
        "`is_host`, `email`",
    ):
        assert where in section, where
    # The participant object's description no longer claims the seed makes them non-null.
    assert "seed 002 types `is_host`\n  and `email` as nullable" in doc
