"""The parse limits fit the functions that parse: a transcript and a chat export both at the
limits, rebuilt into every derived file in a process of its own (``tests.support.parse_peak``),
peak under three quarters of the memory of the rebuild function (the one that rebuilds the
session's files, docs/rebuilds.md). One byte, line or entry more and the file is refused before it is parsed.

Before the limits, a 16 MiB hostile JSON file peaked at 469 MiB in a 512 MB function."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.fanout.routing import REBUILDS
from shared.normalize.chat import parse_chat
from shared.normalize.errors import MAX_JSON_VALUES, MAX_SOURCE_BYTES, MAX_SOURCE_ENTRIES, TooLargeError
from shared.normalize.transcript import parse_transcript
from tests.support.figures import record_note

ROOT = Path(__file__).resolve().parents[2]
MEMORY_MARGIN = 0.75
REBUILD_MEMORY_MB = REBUILDS.memory_mb  # the one function that rebuilds a session's files


def peak(shape: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.parse_peak", shape],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("shape", ["csv", "json", "long"])
def test_sources_at_the_limits_parse_within_every_consumers_memory(
    shape: str, record_property: Callable[[str, object], None]
) -> None:
    result = peak(shape)
    assert "transcript/transcript.json" in result["derived_files"]
    assert "chat/chat.json" in result["derived_files"]
    assert result["peak_rss_mib"] <= MEMORY_MARGIN * REBUILD_MEMORY_MB, result
    record_note(
        record_property,
        "parse limits",
        f"{shape}: transcript + chat at the limits ({sum(result['source_bytes']) / 2**20:.1f} MiB): "
        f"peak RSS {result['peak_rss_mib']} MiB of {REBUILD_MEMORY_MB} MB, {result['cpu_seconds']:.1f} s CPU",
    )


@pytest.mark.parametrize("parse", [parse_transcript, parse_chat])
@pytest.mark.parametrize(
    "raw",
    [
        b"1000,p,u,c,A," + b"x" * MAX_SOURCE_BYTES + b"\n",
        b"1000,p,u,c,A,x\n" * (MAX_SOURCE_ENTRIES + 1),
        b"1000,p,u,c,A,x\r\n" * (MAX_SOURCE_ENTRIES + 1),
        b"[" + b"1," * MAX_JSON_VALUES + b"1]",
        b"[" + b"{}," * MAX_JSON_VALUES + b"{}]",
        b"[" * (MAX_JSON_VALUES + 1),
        json.dumps([{"startTime": 1, "sentence": "x", "id": "1"}] * (MAX_SOURCE_ENTRIES + 1)).encode(),
    ],
    ids=["bytes", "lines", "crlf_lines", "json_values", "json_objects", "json_nesting", "json_entries"],
)
def test_one_more_than_the_limits_is_refused_before_parsing(
    raw: bytes, parse: Callable[[bytes], Any]
) -> None:
    with pytest.raises(TooLargeError) as refused:
        parse(raw)
    assert refused.value.reason == "too_large"
