"""Figures the reliability, hostile-input and load tests measure, printed at the end of the run.

A test calls ``record_figure(record_property, "reliability", scenarios=1, lost=0, duplicated=0)``;
the numbers travel in the test report's ``user_properties`` (so they reach the controller under
pytest-xdist too) and the terminal summary prints one line per group with the sums:

    reliability: 11 scenarios, 0 lost, 0 duplicated
"""

from __future__ import annotations

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
    "hostile": lambda t: (
        f"{int(t['examples'])} hostile inputs tried, {int(t['crashes'])} crashes, "
        f"{int(t['unsigned_stored'])} unsigned stored, {int(t['wrong_status'])} wrong status codes"
    ),
}


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
