"""Figures the reliability, hostile-input and load tests measure, printed at the end of the run.

A test calls ``record_figure(record_property, "reliability", scenarios=1, lost=0, duplicated=0)``;
the numbers travel in the test report's ``user_properties`` (so they reach the controller under
pytest-xdist too) and the terminal summary prints one line per group with the sums:

    reliability: 11 scenarios, 0 lost, 0 duplicated

Hostile-input figures are split by target (ingest, consumers, URL policy), each counting only the
examples its tests really sent; ``MEETING_VAULT_HOSTILE_FULL=1`` runs the full count (>= 10,000).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

_KEY = "meeting-vault-figure"
_TOTALS: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
_NOTES: dict[str, list[str]] = defaultdict(list)
# How each group's line is written; other groups print "name: k=v, ...".
_FORMATS: dict[str, Callable[[dict[str, float]], str]] = {
    "reliability": lambda t: (
        f"{int(t['scenarios'])} scenarios, {int(t['lost'])} lost, {int(t['duplicated'])} duplicated"
    ),
    "hostile ingest": lambda t: (
        f"{int(t['examples'])} requests sent to the endpoint, {int(t['crashes'])} crashes, "
        f"{int(t['unsigned_stored'])} unsigned stored, {int(t['wrong_status'])} wrong status codes"
    ),
    "hostile consumers": lambda t: (
        f"{int(t['examples'])} signed bodies sent through ingest and the consumers on moto, "
        f"{int(t['crashes'])} crashes, {int(t['lost'])} bodies lost, "
        f"{int(t['dead_lettered'])} dead-lettered, {int(t['unsafe_records'])} session records from unsafe ids"
    ),
    "hostile url policy": lambda t: (
        f"{int(t['examples'])} URLs, addresses, ids and file names checked, "
        f"{int(t['accepted'])} wrongly accepted"
    ),
}
# Each hostile group counts only the inputs its tests really sent; the total adds them up.
HOSTILE_GROUPS = ("hostile ingest", "hostile consumers", "hostile url policy")


def hostile_examples(ci: int, full: int) -> int:
    """Examples per hostile property: ``ci`` in an ordinary run, ``full`` with
    ``MEETING_VAULT_HOSTILE_FULL=1`` (the run whose figures docs/reliability.md quotes)."""
    return full if os.environ.get("MEETING_VAULT_HOSTILE_FULL") == "1" else ci


def record_figure(record_property: Callable[[str, object], None], group: str, **values: float) -> None:
    record_property(_KEY, {"group": group, "values": values})


def record_note(record_property: Callable[[str, object], None], group: str, text: str) -> None:
    record_property(_KEY, {"group": group, "note": text})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # The teardown report carries every property the test and its fixtures recorded (fixtures may
    # record theirs while tearing down), and each test has exactly one.
    if report.when != "teardown":
        return
    for name, value in report.user_properties:
        if name != _KEY or not isinstance(value, dict):
            continue
        group = str(value["group"])
        if "note" in value:
            _NOTES[group].append(str(value["note"]))
        for figure, number in (value.get("values") or {}).items():
            _TOTALS[group][figure] += float(number)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    groups = sorted(set(_TOTALS) | set(_NOTES))
    if not groups:
        return
    terminalreporter.section("meeting-vault figures")
    for group in groups:
        totals = _TOTALS.get(group)
        if totals:
            formatter = _FORMATS.get(group)
            text = formatter(totals) if formatter else ", ".join(f"{k}={v:g}" for k, v in totals.items())
            terminalreporter.write_line(f"{group}: {text}")
        for note in _NOTES.get(group, []):
            terminalreporter.write_line(f"{group}: {note}")
    counts = {group: int(_TOTALS[group]["examples"]) for group in HOSTILE_GROUPS if group in _TOTALS}
    if counts:
        split = ", ".join(f"{group.removeprefix('hostile ')} {n:,}" for group, n in counts.items())
        terminalreporter.write_line(f"hostile: {sum(counts.values()):,} examples in all ({split})")
