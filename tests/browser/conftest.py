"""One local stack for the module with the demo session (and a session whose people have hostile
names) archived, and a headless Chromium driven by Selenium through Debian's chromedriver.

Without Chromium and chromedriver the tests skip with the reason; ``.ci/run`` installs both, so CI
never skips."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.demo import play_sample_meeting
from local.sample_meeting import Person, SampleMeeting
from local.signing import WebhookSigner
from local.stack import LocalSettings, LocalStack
from local.standin import RealtimeKitStandin
from shared.session.model import (
    CHAT_SOURCE,
    TRANSCRIPT_SOURCE,
    ArtifactRecord,
    ArtifactState,
    SeenEvent,
    SessionFacts,
    SessionOutputs,
    build_outputs,
)

REPO = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("BROWSER_TEST_OUTPUT", REPO / ".test-output" / "browser"))
HOSTILE = '<script>window.__owned = 1</script><img src=x onerror="window.__owned = 2">'
HOSTILE_MEETING = SampleMeeting(
    meeting_id="bad0f2a4-5c3e-4d7a-9a51-6d2e8f1c0a11",
    session_id="bad5a0d1-7f42-4b6c-8e0a-3c9d2b7e4f10",
    recording_id="bad7b480-5840-4528-ace3-919b5e386c68",
    title=f"Sync {HOSTILE}",
    summarize_on_end=False,
    people=(
        Person(f"Mallory {HOSTILE}", "u-mallory", "mallory@example.com", ("peer-m1",)),
        Person("José Müller", "u-jose", "jose@example.com", ("peer-j1", "peer-j2")),
        Person('Chen "CJ" Jie', "u-chen", "chen@example.com", ("peer-c1",)),
    ),
)


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(
            "no Chromium/chromedriver on PATH: `apt-get install chromium chromium-driver` "
            "(.ci/run installs them, so CI runs these tests)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (dev dependency group: ./dev.sh setup)")
    return chromium, driver


@dataclass
class ArchivedSessions:
    stack: LocalStack
    demo: SampleMeeting
    hostile: SampleMeeting

    def page_url(self, meeting: SampleMeeting) -> str:
        return self.stack.archive_url(
            f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/index.html"
        )

    def read(self, meeting: SampleMeeting, path: str) -> bytes:
        return self.stack.read_object(f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/{path}")


def session_outputs(meeting: SampleMeeting) -> SessionOutputs:
    """A meeting's derived files, built from its webhooks and sources as the recorder builds them
    (its transcript and chat archived, its summary failed)."""
    prefix = f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/"
    urls = {name: f"https://files.test/{name}" for name in meeting.files()}
    events = []
    for payload in meeting.webhooks(urls):
        body = json.dumps(payload, separators=(",", ":")).encode()
        events.append(SeenEvent(hashlib.sha256(body).hexdigest(), str(payload["event"]), payload))
    sources = {TRANSCRIPT_SOURCE: meeting.transcript_csv(), CHAT_SOURCE: meeting.chat_csv()}
    artifacts = [
        ArtifactRecord(name=name, kind=kind, state=ArtifactState.ARCHIVED, key=prefix + path)
        for name, kind, path in (
            (TRANSCRIPT_SOURCE, "transcript_source", "transcript/source.csv"),
            (CHAT_SOURCE, "chat_source", "chat/source.csv"),
        )
    ]
    artifacts.append(
        ArtifactRecord(
            name="summary/summary", kind="summary", state=ArtifactState.FAILED, reason="gone", message=HOSTILE
        )
    )
    return build_outputs(SessionFacts(meeting.meeting_id, meeting.session_id, events, artifacts), sources)


def _put_hostile_session(stack: LocalStack) -> None:
    """The hostile meeting's derived files put beside the demo session (one pipeline run per module
    keeps the tests quick)."""
    meeting = HOSTILE_MEETING
    prefix = f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/"
    outputs = session_outputs(meeting)
    s3 = stack.client("s3")
    for path, (data, content_type) in outputs.files.items():
        s3.put_object(Bucket=stack.names.bucket, Key=prefix + path, Body=data, ContentType=content_type)


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    return _browser_paths()


@pytest.fixture(scope="module")
def archived(browser_paths: tuple[str, str]) -> Iterator[ArchivedSessions]:
    demo = SampleMeeting(summarize_on_end=False)
    with RealtimeKitStandin(WebhookSigner.generate()) as standin:
        settings = LocalSettings(
            public_key_url=standin.well_known_url, realtimekit_api_base=standin.api_base_url
        )
        with LocalStack(settings) as stack:
            report = play_sample_meeting(stack, standin, demo)
            assert report.dead_letters == {}
            assert all(status == 202 for _, status in report.deliveries)
            _put_hostile_session(stack)
            yield ArchivedSessions(stack=stack, demo=demo, hostile=HOSTILE_MEETING)


@pytest.fixture(scope="module")
def browser(browser_paths: tuple[str, str]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = browser_paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
