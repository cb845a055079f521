"""Why a downloaded artifact could not be normalized, and the first reading steps that say so.

Each error carries a short machine ``reason`` for the session manifest (the artifact is recorded as
failed with that reason) and a message written for the operator who reads it."""

from __future__ import annotations

import csv
import hashlib
import io

from shared.core.exceptions import MeetingVaultError

MiB = 1024 * 1024
# What the smallest function that renders a session's files (512 MB) can parse with margin: a
# transcript and a chat export both at these limits peak well under its memory
# (tests/unit/normalize/test_parse_limits.py measures it). Bigger files are kept as served and
# marked failed (``too_large``).
MAX_SOURCE_BYTES = 8 * MiB
MAX_SOURCE_ENTRIES = 25_000  # CSV records, bounded by the line breaks
MAX_JSON_VALUES = 300_000  # JSON values, bounded by the commas, "{" and "["


def fingerprint(raw: bytes) -> str:
    """What error messages and logs say about a file: its size and digest, never its content
    (a transcript or chat line is meeting content)."""
    return f"{len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:16]}"


class NormalizeError(MeetingVaultError, ValueError):
    """A source file that cannot be turned into the normalized files."""

    reason: str = "normalize_failed"


class TooLargeError(NormalizeError):
    """More than the function's memory can parse with margin (``MAX_SOURCE_*``)."""

    reason = "too_large"


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


def check_parse_limits(raw: bytes, what: str) -> None:
    """Refuse, before parsing anything, a file whose parse could exhaust the function's memory.
    Cheap upper bounds: bytes, line breaks (CSV records), JSON separators and containers."""
    if len(raw) > MAX_SOURCE_BYTES:
        raise TooLargeError(f"{what} is {len(raw)} bytes, more than the {MAX_SOURCE_BYTES} parsed")
    if raw.lstrip()[:1] in (b"[", b"{"):
        values = raw.count(b",") + raw.count(b"{") + raw.count(b"[")
        if values > MAX_JSON_VALUES:
            raise TooLargeError(
                f"{what} has up to {values} JSON values, more than the {MAX_JSON_VALUES} parsed"
            )
    else:
        lines = max(raw.count(b"\n"), raw.count(b"\r"))  # LF, CRLF or CR line ends
        if lines > MAX_SOURCE_ENTRIES:
            raise TooLargeError(
                f"{what} has up to {lines} lines, more than the {MAX_SOURCE_ENTRIES} entries parsed"
            )


def decode_text(raw: bytes, what: str) -> str:
    """UTF-8 text of a downloaded file (a BOM is dropped), or the error that says why not."""
    check_parse_limits(raw, what)
    if not raw.strip():
        raise EmptyArtifactError(f"{what} is empty ({len(raw)} bytes, no content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnrecognizedFormatError(
            f"{what} is not UTF-8 text ({error.reason} at byte {error.start}; {fingerprint(raw)})"
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
