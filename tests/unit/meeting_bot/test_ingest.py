"""The bot endpoint's ack path with in-memory fakes: what is stored, published or refused."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from local.sample_bot_meeting import SampleBotMeeting, encode, signed_headers
from shared.core.exceptions import IngestRejected
from shared.ingest.ack import WebhookRequest
from shared.ingest.envelope import WebhookDetail
from shared.sources.meeting_bot.auth import BotCredentials
from shared.sources.meeting_bot.credentials import StaticCredentials, credentials_from_json
from shared.sources.meeting_bot.ingest import BotIngestor

REPO = Path(__file__).resolve().parents[3]
SECRET = "whsec_" + base64.b64encode(b"unit-test-signing-secret-32bytes").decode()
NOW = 1_780_000_000
MEETING = SampleBotMeeting()


class Bus:
    def __init__(self) -> None:
        self.details: list[WebhookDetail] = []

    def publish(self, detail: WebhookDetail) -> str:
        self.details.append(detail)
        return "id"


class Media:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        self.objects[key] = data


def ingestor(**overrides: object) -> tuple[BotIngestor, Bus, Bus, Media]:
    bus, audio_bus, media = Bus(), Bus(), Media()
    options: dict = {
        "credentials": StaticCredentials(BotCredentials(signing_secrets=(SECRET,), tokens=("tok",))),
        "publisher": bus,
        "audio_publisher": audio_bus,
        "media": media,
        "max_body_bytes": 1024 * 1024,
        "max_bus_body_bytes": 100 * 1024,
        "tolerance_seconds": 300,
        "frame_interval_seconds": 10,
        "clock": lambda: NOW,
    }
    options.update(overrides)
    return BotIngestor(**options), bus, audio_bus, media


def request(payload: dict | bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else encode(payload)
    return WebhookRequest(
        body=body, headers=headers or {"content-type": "application/json"}, received_at=datetime.now(UTC)
    )


def signed(payload: dict) -> WebhookRequest:
    body = encode(payload)
    return request(body, signed_headers(SECRET, body, timestamp=NOW))


def first(event: str) -> dict:
    return next(b for b in MEETING.bodies() if b["event"] == event)


@pytest.mark.parametrize(
    "event",
    [
        *(f"participant_events.{a}" for a in ("join", "leave", "update", "speech_on", "speech_off")),
        *(
            f"participant_events.{a}"
            for a in ("webcam_on", "webcam_off", "screenshare_on", "screenshare_off")
        ),
        "participant_events.chat_message",
        "transcript.data",
        "transcript.partial_data",
        "bot.custom_signal",
    ],
)
def test_non_media_events_go_on_the_bus_with_their_ids(event: str) -> None:
    ack, bus, audio_bus, media = ingestor()
    result = ack.accept(signed(first(event)), None)
    assert result.outcome == "published"
    (detail,) = bus.details
    assert (detail.event, detail.meeting_id, detail.session_id, detail.valid) == (
        event,
        "design-review",
        MEETING.recording_id,
        True,
    )
    assert detail.body.to_bytes() == encode(first(event))  # the exact bytes ride along
    assert audio_bus.details == []
    assert media.objects == {}


@pytest.mark.parametrize("event", ["audio_mixed_raw.data", "audio_separate_raw.data"])
def test_audio_goes_to_s3_and_only_a_small_pointer_goes_on_the_bus(event: str) -> None:
    ack, bus, audio_bus, media = ingestor()
    payload = first(event)
    result = ack.accept(request(payload), {"token": "tok"})
    (key,) = media.objects
    stream = "mixed" if event == "audio_mixed_raw.data" else "101"
    relative_us = round(payload["data"]["data"]["timestamp"]["relative"] * 1_000_000)
    assert (
        key
        == f"meetings/design-review/sessions/{MEETING.recording_id}/media/audio/{stream}/{relative_us:013d}.pcm"
    )
    assert media.objects[key] == base64.b64decode(payload["data"]["data"]["buffer"])
    assert result.outcome == "audio_chunk"
    assert bus.details == []
    (pointer,) = audio_bus.details
    assert pointer.payload["key"] == key
    assert pointer.payload["stream"] == stream
    assert len(pointer.to_json()) < 1500  # no audio on the bus


def test_frames_are_sampled_by_their_own_time_or_turned_off() -> None:
    ack, bus, _, media = ingestor()
    kept, dropped = [b for b in MEETING.bodies() if b["event"] == "video_separate_png.data"]
    assert ack.accept(request(kept), {"token": "tok"}).outcome == "frame"
    assert ack.accept(request(dropped), {"token": "tok"}).outcome == "frame_skipped"
    assert list(media.objects) == [
        f"meetings/design-review/sessions/{MEETING.recording_id}/frames/100/0000010200.png"
    ]
    assert [d.event for d in bus.details] == ["video_frame.stored"]
    off, _, _, off_media = ingestor(frame_interval_seconds=0)
    assert off.accept(request(kept), {"token": "tok"}).outcome == "frame_skipped"
    assert off_media.objects == {}


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"content-type": "application/json"}, None),
        ({"content-type": "application/json"}, {"token": "tok2"}),
        (
            {
                "content-type": "application/json",
                "webhook-id": "m",
                "webhook-timestamp": str(NOW),
                "webhook-signature": "v1,bm9wZQ==",
            },
            None,
        ),
    ],
    ids=["nothing", "wrong-token", "bad-signature"],
)
def test_unauthenticated_requests_are_401_and_nothing_is_stored(headers: dict, query: dict | None) -> None:
    ack, bus, audio_bus, media = ingestor()
    with pytest.raises(IngestRejected) as caught:
        ack.accept(request(encode(first("audio_mixed_raw.data")), headers), query)
    assert caught.value.status_code == 401
    assert (bus.details, audio_bus.details, media.objects) == ([], [], {})


def test_stale_signature_is_401() -> None:
    ack, bus, _, _ = ingestor(clock=lambda: NOW + 600)
    with pytest.raises(IngestRejected) as caught:
        ack.accept(signed(first("transcript.data")), None)
    assert caught.value.status_code == 401
    assert bus.details == []


def test_a_rotated_secret_is_picked_up_on_the_first_failure() -> None:
    new_secret = "whsec_" + base64.b64encode(b"rotated-signing-secret-32-bytes!").decode()

    class Rotating(StaticCredentials):
        def refreshed(self) -> BotCredentials:
            return BotCredentials(signing_secrets=(new_secret, SECRET))

    ack, _bus, _, _ = ingestor(credentials=Rotating(BotCredentials(signing_secrets=(SECRET,))))
    body = encode(first("transcript.data"))
    assert (
        ack.accept(request(body, signed_headers(new_secret, body, timestamp=NOW)), None).outcome
        == "published"
    )


def test_non_json_is_415_and_too_big_is_413_before_authentication() -> None:
    ack, bus, _, media = ingestor(max_body_bytes=2048)
    with pytest.raises(IngestRejected) as caught:
        ack.accept(request(b"x=1", {"content-type": "text/plain"}), {"token": "tok"})
    assert caught.value.status_code == 415
    with pytest.raises(IngestRejected) as caught:
        ack.accept(request(b"{" + b" " * 4096 + b"}"), {"token": "tok"})
    assert caught.value.status_code == 413
    assert (bus.details, media.objects) == ([], {})


def test_bodies_too_big_for_the_bus_and_unplaceable_media_are_stored_raw() -> None:
    ack, bus, _, media = ingestor(max_bus_body_bytes=1024)
    big = first("transcript.data")
    big["data"]["data"]["words"] *= 20
    assert ack.accept(request(big), {"token": "tok"}).outcome == "stored_raw"
    broken = first("audio_mixed_raw.data")
    broken["data"]["data"]["buffer"] = "not base64!"
    assert ack.accept(request(broken), {"token": "tok"}).outcome == "stored_raw"
    assert bus.details == []
    assert len(media.objects) == 2
    assert all("/events/" in key for key in media.objects)


def test_a_signed_body_that_is_not_json_is_kept_flagged() -> None:
    ack, bus, _, _ = ingestor()
    body = b'{"event": "transcript.data", '
    ack.accept(request(body, signed_headers(SECRET, body, timestamp=NOW)), None)
    (detail,) = bus.details
    assert detail.valid is False
    assert detail.parse_error.startswith("body is not JSON")


def test_generated_stack_secret_shape_is_read() -> None:
    creds = credentials_from_json(json.dumps({"token": "abc", "signingSecrets": [SECRET]}))
    assert creds.tokens == ("abc",)
    assert creds.signing_secrets == (SECRET,)


PROBE = """
import json, os, sys, base64
import functions.meeting_bot_ingest.handler as ingest
from shared.wiring.meeting_bot_ingest import bot_ingestor
from shared.sources.meeting_bot.auth import BotCredentials
from shared.sources.meeting_bot.credentials import StaticCredentials
bot = bot_ingestor()
bot._credentials = StaticCredentials(BotCredentials(tokens=("tok",)))
ok = {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]}
bot._publisher.client.put_events = lambda **_: ok
bot._audio_publisher.client.put_events = lambda **_: ok
bot._media.client.put_object = lambda **_: {}
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "bot", 512, "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bot"
statuses = [ingest.handler(e, Context())["statusCode"] for e in json.loads(os.environ["EVENTS"])]
print(json.dumps({"statuses": statuses, "loaded": [m for m in json.loads(os.environ["HEAVY"]) if m in sys.modules]}))
"""


# What the bot ack path must not load. (It still uses pydantic and Powertools, through the bus
# envelope it shares with the consumers; the RealtimeKit ack path has shed those too.)
BOT_HEAVY = [
    "cloudflare",
    "httpx",
    "aws_xray_sdk",
    "shared.archive.transfer",
    "shared.archive.small_download",
    "shared.archive.recordings",
    "shared.archive.session_artifacts",
    "shared.session.recorder",
    "shared.session.store",
    "shared.normalize",
    "shared.sources.meeting_bot.normalize",
    "aws_lambda_powertools.event_handler",
]


def test_the_bot_ack_path_loads_none_of_the_heavy_modules() -> None:
    events = []
    for name in ("transcript.data", "audio_mixed_raw.data"):
        events.append(
            {
                "httpMethod": "POST",
                "resource": "/webhooks/meeting-bot",
                "path": "/webhooks/meeting-bot",
                "headers": {"content-type": "application/json"},
                "queryStringParameters": {"token": "tok"},
                "body": base64.b64encode(encode(first(name))).decode(),
                "isBase64Encoded": True,
            }
        )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "EVENT_BUS_NAME": "bus",
        "ARCHIVE_BUCKET": "bucket",
        "BOT_CREDENTIALS_SECRET_ARN": "secret",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "EVENTS": json.dumps(events),
        "HEAVY": json.dumps(BOT_HEAVY),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"statuses": [202, 202], "loaded": []}
