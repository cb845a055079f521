"""A small load run of the local stack for CI (the full 2,000 webhooks / 50 senders / 100 sessions
run is ``python -m bench.load``): every webhook acknowledged 202 and archived exactly once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.load import run_load
from tests.support.figures import record_note


@pytest.mark.slow
def test_concurrent_senders_every_event_archived_exactly_once(
    record_property: Callable[[str, object], None],
) -> None:
    report = run_load(webhooks=120, senders=10, sessions=10, timeout=120)
    record_note(record_property, "load", report.summary())
    assert report.accepted == report.webhooks
    assert report.missing == 0
    assert report.archived_keys == report.expected_keys == report.webhooks
    assert report.archived_versions == report.webhooks, "no body was written twice"
    assert report.dead_letters == {}
