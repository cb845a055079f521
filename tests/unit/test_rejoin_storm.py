"""Repeated rejoins: every derived file grows linearly with the number of joins and leaves, and
10,000 join/leave pairs are rebuilt within the rebuild function's memory and CPU.

Each run is a process of its own (``tests.support.rejoin_storm``), so its peak RSS is the
rebuild's plus what a cold sessions function holds (handler, boto3 clients). Before the fix each
participant event embedded the person's whole list of peer ids: 4,000 rejoins made a 361 MB
``participant_events.json`` and growth was quadratic (10x the pairs gave 100x the bytes)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.fanout.routing import REBUILDS
from tests.support.figures import record_note

ROOT = Path(__file__).resolve().parents[2]
MEMORY_MARGIN = 0.75  # the rebuild's peak must leave a quarter of the function's memory free
CPU_SECONDS = 10.0  # the bound on this machine (a generous one: about 3-4 s measured)


def storm(pairs: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.rejoin_storm", str(pairs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_derived_files_grow_linearly_with_rejoins() -> None:
    small, large = storm(500), storm(2_000)
    assert small["sizes"].keys() == large["sizes"].keys()
    for path, size in large["sizes"].items():
        # 4x the pairs: about 4x the bytes (quadratic growth would give about 16x).
        assert size <= 4.5 * small["sizes"][path], (path, small["sizes"][path], size)


def test_ten_thousand_join_leave_pairs_fit_the_rebuild_function(
    record_property: Callable[[str, object], None],
) -> None:
    result = storm(10_000)
    assert result["peak_rss_mib"] <= MEMORY_MARGIN * REBUILDS.memory_mb, result
    assert result["cpu_seconds"] < CPU_SECONDS, result
    sizes = result["sizes"]
    record_note(
        record_property,
        "rejoin storm",
        f"10,000 join/leave pairs: participant_events.json {sizes['participant_events.json'] / 2**20:.1f} MiB, "
        f"peak RSS {result['peak_rss_mib']} MiB of {REBUILDS.memory_mb} MB, "
        f"{result['cpu_seconds']:.1f} s CPU for one rebuild",
    )
