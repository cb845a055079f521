"""Measures one rebuild of a session's derived files with a transcript and a chat export both at
the parse limits (``shared.normalize.errors.MAX_SOURCE_*``), in a process of its own so its peak
RSS is the rebuild's plus what a cold consumer holds:

    python -m tests.support.parse_peak SHAPE   ->   one JSON line: sizes, peak RSS, CPU seconds

SHAPE: ``csv`` (the most rows, each as long as the byte limit allows), ``json`` (the most entries,
each with every field and a peer object) or ``long`` (one utterance and one message filling the
byte limit: the per-byte cost)."""

from __future__ import annotations

import json
import sys
import time

from shared.normalize.errors import MAX_SOURCE_BYTES, MAX_SOURCE_ENTRIES
from tests.support.peak_rss import peak_rss_mib


def _fill(prefix: bytes, rows: int, budget: int, suffix: bytes = b"") -> bytes:
    """``rows`` CSV rows ``prefix`` + two-byte text + ``suffix``, about ``budget`` bytes in all."""
    per_row = budget // rows - len(prefix) - len(suffix) - 8
    text = ("é" * (per_row // 2)).encode()
    return b"".join(prefix % i + text + suffix + b"\n" for i in range(rows))


def sources(shape: str) -> tuple[bytes, bytes]:
    rows = MAX_SOURCE_ENTRIES - 1
    budget = MAX_SOURCE_BYTES - 1024
    if shape == "csv":
        transcript = _fill(b"%d,peer-1,user-1,cpi-1,Alice,", rows, budget)
        chat = _fill(b"%d,user-1,s,m,Alice,false,false,TEXT_MESSAGE,", rows, budget, b",1780480260000")
        return transcript, chat
    if shape == "json":
        per = budget // rows - 200
        utterances = [
            {
                "startTime": i,
                "endTime": i + 1,
                "sentence": "é" * (per // 2),
                "peerData": {
                    "id": f"peer-{i % 50}",
                    "userId": f"user-{i % 50}",
                    "displayName": "Alice",
                    "cpi": "c",
                },
            }
            for i in range(rows)
        ]
        messages = [
            {
                "id": str(i),
                "participantId": "user-1",
                "displayName": "Alice",
                "payloadType": "TEXT_MESSAGE",
                "payload": "é" * (per // 2),
                "createdAt": 1780480260000 + i,
                "pinned": False,
                "isEdited": False,
            }
            for i in range(rows)
        ]
        return json.dumps(utterances, ensure_ascii=False).encode(), json.dumps(
            messages, ensure_ascii=False
        ).encode()
    if shape == "long":  # rows of 100 KB (under the csv module's 128 KiB field limit)
        rows = MAX_SOURCE_BYTES // 100_000
        transcript = _fill(b"%d,peer-1,user-1,cpi-1,Alice,", rows, budget)
        chat = _fill(b"%d,user-1,s,m,Alice,false,false,TEXT_MESSAGE,", rows, budget, b",1780480260000")
        return transcript, chat
    raise SystemExit(f"unknown shape {shape}")


def main(shape: str) -> dict[str, object]:
    from shared.session.model import CHAT_SOURCE, TRANSCRIPT_SOURCE, SessionFacts, build_outputs
    from tests.support.rejoin_storm import function_baseline

    function_baseline()
    baseline = peak_rss_mib()
    transcript, chat = sources(shape)
    assert len(transcript) <= MAX_SOURCE_BYTES
    assert len(chat) <= MAX_SOURCE_BYTES
    cpu = time.process_time()
    outputs = build_outputs(SessionFacts("m", "s"), {TRANSCRIPT_SOURCE: transcript, CHAT_SOURCE: chat})
    cpu = time.process_time() - cpu
    return {
        "shape": shape,
        "source_bytes": [len(transcript), len(chat)],
        "derived_files": sorted(outputs.files),
        "cpu_seconds": round(cpu, 3),
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak_rss_mib(),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
