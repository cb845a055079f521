"""``python -m bench.cli`` on a small archive: the benchmark runs (it loads the listing items
``SessionStore.put_summary`` writes, so a change there must keep it working), every command answers,
and the items each command reads do not grow with the archive."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_cli_benchmark_runs_and_reads_a_bounded_page() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.cli", "--sizes", "30,300", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for label in (
        "list_objects_v2 meetings/ (all)",
        "sessions --since 7d --limit 50",
        "show SESSION_ID",
        "status",
    ):
        assert re.search(rf"^{re.escape(label)}\s+[\d.]+ ms\s+[\d.]+ ms\s+[\d.]+x$", out, re.M), out
    reads = {
        name: tuple(int(n) for n in re.search(rf"items read: {name}\s+(\d+)\s+(\d+)", out).groups())  # type: ignore[union-attr]
        for name in ("sessions", "show", "status")
    }
    assert reads["show"] == (1, 1)
    small, big = reads["sessions"]
    assert 0 < small <= big <= 50, "one page, at most --limit items"
    assert "targets:" in out
