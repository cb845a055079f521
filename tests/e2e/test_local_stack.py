"""The local stack as a user runs it: real HTTP to the webhook endpoint, moto's server as AWS,
handlers consuming the queues in-process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.sample_meeting import SampleMeeting
from local.signing import WebhookSigner
from local.stack import LocalSettings, LocalStack
from local.standin import RealtimeKitStandin
from tests.conftest import event_body, free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def standin() -> Iterator[RealtimeKitStandin]:
    with RealtimeKitStandin(WebhookSigner.generate()) as running:
        yield running


@pytest.fixture(scope="module")
def stack(standin: RealtimeKitStandin) -> Iterator[LocalStack]:
    settings = LocalSettings(public_key_url=standin.well_known_url, realtimekit_api_base=standin.api_base_url)
    with LocalStack(settings) as running:
        yield running


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_signed_webhooks_over_http_end_up_in_the_embedded_s3(
    stack: LocalStack, standin: RealtimeKitStandin
) -> None:
    bodies = [
        event_body(name) for name in ("meeting_started.json", "participant_joined.json", "meeting_ended.json")
    ]
    for body in bodies:
        assert standin.send_webhook(stack.webhook_url, body)[0] == 202
    stack.wait_idle(timeout=30)
    prefix = (
        "meetings/50c8940e-1b97-402a-97d6-2708b7feca41/sessions/05e57591-d89e-45c9-ae44-08dc1eaad0e0/events/"
    )
    stored = {stack.read_object(key) for key, _ in stack.list_archive(prefix)}
    assert set(bodies) <= stored
    # the key was fetched from the stand-in's well-known URL, as from RealtimeKit's
    assert ("GET", "/.well-known/webhooks.json") in standin.log.requests


def answer(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str | None]:
    """Status, the body's ``error`` and the ``Retry-After`` header of a refused request."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), "", response.headers.get("retry-after")
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())["error"], error.headers.get("retry-after")


def test_unsigned_and_foreign_signed_webhooks_are_refused_over_http(stack: LocalStack) -> None:
    body = b'{"event":"meeting.started","meeting":{"id":"evil-m","sessionId":"evil-s"}}'
    assert post(stack.webhook_url, body, {"content-type": "application/json"}) == 401
    forged = WebhookSigner.generate().sign(body)
    status, error, retry_after = answer(
        stack.webhook_url, body, {"content-type": "application/json", "rtk-signature": forged}
    )
    # Final (401) when checked against a key fetched for this check; within a minute of the last
    # fetch the key held may have been rotated since, so the answer is "try again" (docs/ingest.md).
    assert (status, error) in {(401, "bad_signature"), (503, "key_refresh_pending")}
    if status == 503:
        assert retry_after is not None
        assert 1 <= int(retry_after) <= 60
    stack.wait_idle(timeout=30)
    assert stack.list_archive("meetings/evil-m/") == []


def test_api_gateway_payload_limit_is_enforced_before_the_function(stack: LocalStack) -> None:
    assert post(stack.webhook_url, b"x" * (10 * 1024 * 1024 + 1), {"content-type": "application/json"}) == 413


def test_sample_meeting_is_archived(stack: LocalStack, standin: RealtimeKitStandin) -> None:
    from local.demo import play_sample_meeting

    meeting = SampleMeeting(meeting_id="demo-meeting-1", session_id="demo-session-1")
    report = play_sample_meeting(stack, standin, meeting, timeout=90)
    assert [status for _, status in report.deliveries] == [202] * len(
        meeting.webhooks({n: "" for n in meeting.files()})
    )
    assert report.dead_letters == {}
    events = [
        key
        for key, _ in report.archived
        if key.startswith("meetings/demo-meeting-1/sessions/demo-session-1/events/")
    ]
    assert len(events) == len(report.deliveries)


def test_dev_command_starts_prints_and_stops_on_sigterm(tmp_path: Path) -> None:
    signer = WebhookSigner.generate()
    pem = tmp_path / "public.pem"
    pem.write_text(signer.public_pem())
    port, aws_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "dev",
            "--port",
            str(port),
            "--aws-port",
            str(aws_port),
            "--archive-port",
            str(free_port()),
            "--public-key-file",
            str(pem),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        assert lines[0].strip() == f"webhook URL:   http://127.0.0.1:{port}/webhooks/realtimekit"
        assert lines[1].startswith(f"AWS endpoint:  http://127.0.0.1:{aws_port}")
        body = json.dumps(
            {"event": "meeting.started", "meeting": {"id": "m-dev", "sessionId": "s-dev"}}
        ).encode()
        headers = {"content-type": "application/json", "rtk-signature": signer.sign(body)}
        assert post(f"http://127.0.0.1:{port}/webhooks/realtimekit", body, headers) == 202
        process.terminate()
        start = time.monotonic()
        assert process.wait(timeout=20) == 0
        assert time.monotonic() - start < 20
    finally:
        if process.poll() is None:
            process.kill()


def test_dev_accepts_only_its_app_ids(tmp_path: Path) -> None:
    """``meeting-vault dev --app-id``: with no --api-base-url there is nobody to ask, so a body naming
    another app is refused (403) and one naming none is taken as the local app's."""
    signer = WebhookSigner.generate()
    pem = tmp_path / "public.pem"
    pem.write_text(signer.public_pem())
    port, aws_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "cli.main", "dev", "--port", str(port), "--aws-port", str(aws_port)),
            *("--public-key-file", str(pem), "--app-id", "my-app", "--app-id", "my-other-app"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        assert any(line.startswith("app ids:       my-app, my-other-app") for line in lines), lines
        url = f"http://127.0.0.1:{port}/webhooks/realtimekit"

        def status(app_id: str | None) -> int:
            meeting: dict[str, object] = {"id": "m-dev", "sessionId": "s-dev"}
            if app_id is not None:
                meeting["organizedBy"] = {"id": app_id, "name": "x"}
            body = json.dumps({"event": "meeting.started", "meeting": meeting}).encode()
            return post(url, body, {"content-type": "application/json", "rtk-signature": signer.sign(body)})

        assert status("c94c437b-592a-4a39-b9e2-47ef1451e43b") == 403  # the sample app is not one of ours
        assert status("my-other-app") == 202
        assert status(None) == 202
        process.terminate()
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
