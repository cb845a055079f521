"""The artifact type of an archived object, from its key, and the S3 tag that carries it.

Every archived object carries ``artifact-type=<type>`` so that lifecycle rules can keep transcripts
and expire recordings (S3 lifecycle filters match tags, not key patterns). The key layout is
``shared.archive.keys``' (docs/archive.md); this module sits in core so that the S3 adapter and the
transfer can both tag without importing each other."""

from __future__ import annotations

import re

MEETINGS_PREFIX = "meetings"  # = shared.archive.keys.MEETINGS_PREFIX (tests/unit/test_keys.py)
UNATTRIBUTED_PREFIX = "unattributed"  # = shared.archive.keys.UNATTRIBUTED_PREFIX
SEARCH_INDEX_PREFIX = "index/utterances/"  # = shared.search.index.INDEX_PREFIX


ARTIFACT_TYPE_TAG = "artifact-type"
ARTIFACT_TYPES = ("recording", "audio", "transcript", "chat", "summary", "event", "manifest")
_AUDIO_FILE = re.compile(r"-audio\.[A-Za-z0-9]+$")


def artifact_type_of(key: str) -> str | None:
    """The artifact type of an archive key (``docs/archive.md``'s layout); None for keys outside it."""
    if key.startswith(f"{UNATTRIBUTED_PREFIX}/events/"):
        return "event"
    if key.startswith(SEARCH_INDEX_PREFIX):
        # The search index's rows hold the transcript's words: they are kept as long as transcripts.
        return "transcript"
    if not key.startswith(f"{MEETINGS_PREFIX}/"):
        return None
    parts = key.split("/")
    # meetings/{meeting}/sessions/{session}/<rest>
    if len(parts) < 5 or parts[2] != "sessions":
        return None
    rest = parts[4:]
    if len(rest) == 1:  # session.json and the other session-level files (participants.json, ...)
        return "manifest"
    section = rest[0]
    if section == "recordings":
        return "audio" if _AUDIO_FILE.search(rest[-1]) else "recording"
    return {"events": "event", "transcript": "transcript", "chat": "chat", "summary": "summary"}.get(section)


def artifact_tagging(key: str) -> dict[str, str]:
    """``Tagging`` for a put or a multipart upload of ``key`` (empty for keys without a type)."""
    artifact_type = artifact_type_of(key)
    return {"Tagging": f"{ARTIFACT_TYPE_TAG}={artifact_type}"} if artifact_type else {}
