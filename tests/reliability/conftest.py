"""Session-wide servers and the clean run every fault-injection scenario is compared with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from local.sample_meeting import SampleMeeting
from local.signing import WebhookSigner
from local.standin import RealtimeKitStandin
from local.standin_rest import install_sample_meeting
from tests.integration.conftest import moto_stack  # noqa: F401 - the hostile-input tests use it
from tests.reliability.harness import API_TOKEN, Servers, running_pipeline
from tests.support.http_source import HttpSource

MiB = 1024 * 1024


def reliability_meeting() -> SampleMeeting:
    """The sample meeting, ended two hours ago (its URLs valid, RealtimeKit still keeping its files),
    with a recording large enough for a multipart upload (two parts)."""
    started = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    return SampleMeeting(started_at=started, recording_bytes=9 * MiB + 5, audio_bytes=300_001)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    meeting = reliability_meeting()
    signer = WebhookSigner.generate()
    with HttpSource() as files, RealtimeKitStandin(signer) as standin:
        urls = {name: standin.host_file(name, data, ctype) for name, (data, ctype) in meeting.files().items()}
        rest = install_sample_meeting(standin, meeting, urls, api_token=API_TOKEN)
        running = Servers(meeting=meeting, signer=signer, files=files, standin=standin, rest=rest)
        running.reset_files()
        yield running


@pytest.fixture(scope="session")
def clean_run(servers: Servers) -> dict[str, bytes]:
    """Every object of the session after a clean run: each webhook once, in order, no faults."""
    with running_pipeline(servers) as pipeline:
        for payload in servers.webhooks():
            assert pipeline.deliver(payload) == 202
        pipeline.pump()
        assert pipeline.dead_letters() == {}
        return pipeline.objects()
