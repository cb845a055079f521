"""A small load run of the local stack for CI (the full 2,000 webhooks / 50 senders / 100 sessions
run is ``python -m bench.load``): every webhook acknowledged 202 and archived exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.load import LoadReport, run_load
from tests.support.figures import record_note


def assert_every_event_archived_once(report: LoadReport) -> None:
    assert report.accepted == report.webhooks
    assert report.missing == 0
    assert report.archived_keys == report.expected_keys == report.webhooks
    assert report.archived_versions == report.webhooks, "no body was written twice"
    assert report.dead_letters == {}
    assert report.left_over == {}, "the queues did not drain"


@pytest.mark.slow
def test_concurrent_senders_every_event_archived_exactly_once(
    record_property: Callable[[str, object], None],
) -> None:
    report = run_load(webhooks=120, senders=10, sessions=10, timeout=120)
    record_note(record_property, "load", report.summary())
    assert_every_event_archived_once(report)
    # The CPU each side spent is measured, not assumed: moto's server is a process of its own.
    record_note(record_property, "load_cpu", report.cpu_line())
    assert report.cpu_seconds_here > 0
    if Path("/proc/self/stat").exists():
        assert report.cpu_seconds_aws is not None
        assert report.cpu_seconds_aws > 0


@pytest.mark.slow
def test_a_consumer_process_shares_the_queues_and_every_event_is_still_archived_once(
    record_property: Callable[[str, object], None],
) -> None:
    """A second execution environment per consumer (a child process, as Lambda runs several):
    it takes messages off the same queues, and nothing is lost or written twice."""
    report = run_load(webhooks=120, senders=10, sessions=10, timeout=120, consumer_processes=1)
    record_note(record_property, "load_consumer_process", report.summary())
    assert_every_event_archived_once(report)
    assert report.processed_by_consumer_processes > 0, "the child handled none of the messages"
    if Path("/proc/self/stat").exists():
        assert report.cpu_seconds_consumers is not None
        assert report.cpu_seconds_consumers > 0
