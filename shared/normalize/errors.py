"""Why a downloaded artifact could not be normalized, and the first reading steps that say so.

Each error carries a short machine ``reason`` for the session manifest (the artifact is recorded as
failed with that reason) and a message written for the operator who reads it."""

from __future__ import annotations

import csv
import io

from shared.core.exceptions import MeetingVaultError

_PREVIEW_BYTES = 64


def preview(raw: bytes) -> str:
    """The first bytes of a file, quoted, for error messages."""
    head = raw[:_PREVIEW_BYTES]
    suffix = "..." if len(raw) > _PREVIEW_BYTES else ""
    return f"{head!r}{suffix}"


class NormalizeError(MeetingVaultError, ValueError):
    """A source file that cannot be turned into the normalized files."""

    reason: str = "normalize_failed"


class EmptyArtifactError(NormalizeError):
    """The file has no content (0 bytes, only whitespace, or no entries).

    RealtimeKit is known to serve 0-byte transcripts (cloudflare/realtimekit-ui#164)."""

    reason = "empty"


class UnrecognizedFormatError(NormalizeError):
    """The content matches none of the formats this version reads."""

    reason = "unrecognized_format"


class MalformedArtifactError(NormalizeError):
    """The format was recognized, but an entry in it is broken (wrong column count, bad time...)."""

    reason = "malformed"


def decode_text(raw: bytes, what: str) -> str:
    """UTF-8 text of a downloaded file (a BOM is dropped), or the error that says why not."""
    if not raw.strip():
        raise EmptyArtifactError(f"{what} is empty ({len(raw)} bytes, no content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnrecognizedFormatError(
            f"{what} is not UTF-8 text ({error.reason} at byte {error.start}); it starts with {preview(raw)}"
        ) from None
    if not text.strip():
        raise EmptyArtifactError(f"{what} is empty ({len(raw)} bytes of whitespace)")
    return text


def read_csv_rows(text: str, what: str) -> list[tuple[int, list[str]]]:
    """Records of a CSV text with their (last) line number; blank records are skipped.

    The csv module handles quotes, commas and newlines inside fields, and CRLF line ends."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as error:
        raise MalformedArtifactError(f"{what}: CSV error at line {reader.line_num}: {error}") from None
    return rows
