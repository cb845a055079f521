"""Text as one line: what ``transcript.txt``, the captions and the search index show of an utterance."""

from __future__ import annotations

import unicodedata


def one_line(text: str) -> str:
    """Line breaks and runs of spaces become one space, so a cue, a txt line or an index row stays
    one line; other control characters (NUL...) are dropped: WebVTT does not allow them."""
    return "".join(ch for ch in " ".join(text.split()) if unicodedata.category(ch) != "Cc")
