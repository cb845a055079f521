"""When a relay has ended: the final files into the session's folder, and its ``session.json``.

The relay's session is its own (session id = relay id unless the requester named one). If that
folder already holds another source's session (its ``session.json`` names another source), the
relay writes under ``live/`` instead, so both are kept, each under its own name."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.adapters.s3 import ArchiveStore
from shared.archive.keys import session_prefix
from shared.normalize.seed_models import iso_utc, to_json_bytes
from shared.sources.live_relay.documents import build_files, duration_seconds, speaker_names, unique_lines
from shared.sources.live_relay.store import FINALIZED, RelayStore, gaps

SOURCE = "live-relay"
MANIFEST_SCHEMA = "meeting-vault/session@1"
LIVE_PREFIX = "live/"
PIECES_PREFIX = "live/transcript/"


class PieceStore:
    """Rolling pieces of ``live/transcript.jsonl``: a new object every few seconds, none rewritten."""

    def __init__(self, archive: ArchiveStore, meeting_id: str, session_id: str) -> None:
        self._archive = archive
        self._prefix = session_prefix(meeting_id, session_id) + PIECES_PREFIX

    def put_piece(self, name: str, data: bytes) -> None:
        self._archive.put_bytes(self._prefix + name, data, content_type="application/x-ndjson")


def _other_source_there(archive: ArchiveStore, prefix: str) -> bool:
    try:
        manifest = json.loads(archive.get_bytes(prefix + "session.json"))
    except archive.client.exceptions.NoSuchKey:
        return False
    except ValueError:
        return True
    return not (isinstance(manifest, dict) and manifest.get("source") == SOURCE)


def finalize_relay(
    *, store: RelayStore, archive: ArchiveStore, relay_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """Write the final files; returns the manifest written. Safe to run again: same record, same bytes
    (apart from the manifest's ``finalizedAt``)."""
    moment = now or datetime.now(UTC)
    meta, record, connections, legs = store.load(relay_id)
    if not meta.ended:
        store.end(relay_id, "max_duration", moment)
        meta, record, connections, legs = store.load(relay_id)
    built = build_files(record)
    prefix = session_prefix(meta.meeting_id, meta.session_id)
    base = prefix + LIVE_PREFIX if _other_source_there(archive, prefix) else prefix
    artifacts = []
    for path, (data, content_type) in sorted(built.files.items()):
        stored = archive.put_bytes(base + path, data, content_type=content_type)
        artifacts.append(
            {"path": base.removeprefix(prefix) + path, "bytes": stored.size, "sha256": stored.sha256}
        )
    names = speaker_names(record.lines)
    rolled = b"".join(
        json.dumps(
            {
                **item.line.to_json(),
                "speaker_name": names.get(item.line.speaker, item.line.speaker_name)
                if item.line.speaker is not None
                else item.line.speaker_name,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        + b"\n"
        for item in unique_lines(record.lines)
    )
    stored = archive.put_bytes(prefix + "live/transcript.jsonl", rolled, content_type="application/x-ndjson")
    artifacts.append({"path": "live/transcript.jsonl", "bytes": stored.size, "sha256": stored.sha256})
    end_reason = meta.end_reason or "unknown"
    holes = gaps(connections, meta.ended_at, gave_up=end_reason == "gave_up")
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "source": SOURCE,
        "meeting": {"id": meta.meeting_id, "title": meta.title},
        "session": {
            "id": meta.session_id,
            "startedAt": iso_utc(built.origin) if built.origin else None,
            "endedAt": iso_utc(meta.ended_at) if meta.ended_at else None,
            "durationSeconds": duration_seconds(record, meta.ended_at),
            "state": "ended",
        },
        "participants": built.participants,
        "files": artifacts,
        "transcriptTimeBase": "bot_recording_start",
        "eventTimeBase": built.time_base,
        "liveRelay": {
            "relayId": relay_id,
            "complete": end_reason in ("stop", "stopped_by_operator") and not holes,
            "endReason": end_reason,
            "lines": built.line_count,
            "gaps": [
                {"from": iso_utc(a), "to": iso_utc(b), "seconds": round((b - a).total_seconds(), 3)}
                for a, b in holes
            ],
            "legs": [
                {
                    "leg": leg.leg,
                    "startedAt": iso_utc(leg.started_at),
                    "endedAt": iso_utc(leg.ended_at),
                    "reason": leg.reason,
                    "linesRelayed": leg.lines,
                    "messages": leg.messages,
                }
                for leg in sorted(legs, key=lambda item: item.leg)
            ],
            "finalizedAt": iso_utc(moment),
        },
    }
    archive.put_bytes(base + "session.json", to_json_bytes(manifest), content_type="application/json")
    store.mark_finalized(relay_id, moment)
    return manifest


__all__ = ["FINALIZED", "PieceStore", "finalize_relay"]
