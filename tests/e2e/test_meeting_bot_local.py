"""A meeting bot's real-time events through local mode over HTTP: POST /webhooks/meeting-bot,
moto as AWS, the bot consumers in-process. What a user checks: status codes, keys and bytes."""

from __future__ import annotations

import base64
import io
import json
import random
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.sample_bot_meeting import SampleBotMeeting, encode, post, signed_headers
from local.signing import WebhookSigner
from local.stack import LocalSettings, LocalStack
from shared.session.store import SessionStore

SECRET = "whsec_" + base64.b64encode(b"local-e2e-signing-secret-32byte!").decode()
ROTATED = "whsec_" + base64.b64encode(b"the-next-signing-secret-32bytes!").decode()
TOKEN = "e2e-token-4d1c"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    settings = LocalSettings(
        public_key_pem=WebhookSigner.generate().public_pem(),
        bot_tokens=(TOKEN,),
        bot_signing_secrets=(ROTATED, SECRET),  # mid-rotation: both verify
        extra_env={"BOT_AUDIO_QUIET_SECONDS": "1"},
    )
    with LocalStack(settings) as running:
        yield running


def send_session(stack: LocalStack, bodies: list[dict]) -> list[int]:
    statuses = []
    for index, payload in enumerate(bodies):
        body = encode(payload)
        if index % 2:  # half signed, half with the token in the URL
            statuses.append(
                post(stack.bot_webhook_url, body, signed_headers(SECRET, body, timestamp=int(time.time())))
            )
        else:
            statuses.append(post(stack.bot_webhook_url_with_token(), body, JSON))
    return statuses


def session_files(stack: LocalStack, meeting: SampleBotMeeting) -> dict[str, bytes]:
    prefix = f"meetings/{meeting.folder_meeting_id}/sessions/{meeting.recording_id}/"
    return {key[len(prefix) :]: stack.read_object(key) for key, _ in stack.list_archive(prefix)}


def wait_for(stack: LocalStack, meeting: SampleBotMeeting, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while path not in session_files(stack, meeting):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        stack.wait_idle(timeout=timeout)


def test_unauthenticated_requests_get_401_and_store_nothing(stack: LocalStack) -> None:
    meeting = SampleBotMeeting(recording_id="rec-unauthenticated")
    body = encode(meeting.bodies()[0])
    now = int(time.time())
    wrong = signed_headers("whsec_" + base64.b64encode(b"x" * 32).decode(), body, timestamp=now)
    stale = signed_headers(SECRET, body, timestamp=now - 3600)
    tampered = signed_headers(SECRET, body, timestamp=now)
    assert post(stack.bot_webhook_url, body, JSON) == 401  # nothing at all
    assert post(stack.bot_webhook_url + "?token=nope", body, JSON) == 401
    assert post(stack.bot_webhook_url, body, wrong) == 401
    assert post(stack.bot_webhook_url, body, stale) == 401
    assert post(stack.bot_webhook_url, body.replace(b"0.5", b"0.6"), tampered) == 401
    stack.wait_idle(timeout=30)
    assert stack.list_archive("meetings/design-review/sessions/rec-unauthenticated/") == []
    # The rotated-in secret works, the old one too (both configured during the rotation).
    assert post(stack.bot_webhook_url, body, signed_headers(ROTATED, body, timestamp=now)) == 202


def test_bad_media_type_and_oversized_bodies_are_refused(stack: LocalStack) -> None:
    url = stack.bot_webhook_url_with_token()
    assert post(url, b"event=x", {"content-type": "application/x-www-form-urlencoded"}) == 415
    assert post(url, b"{" + b" " * (1024 * 1024 + 1) + b"}", JSON) == 413


def test_a_bot_session_lands_in_the_archive_in_the_same_formats(stack: LocalStack) -> None:
    meeting = SampleBotMeeting()
    statuses = send_session(stack, meeting.bodies())
    assert set(statuses) == {202}
    wait_for(stack, meeting, "audio_mixed.wav")
    wait_for(stack, meeting, "audio/101.wav")
    stack.wait_idle(timeout=30)
    files = session_files(stack, meeting)
    for path in (
        "session.json",
        "participants.json",
        "participant_events.json",
        "transcript/transcript.json",
        "transcript/speaker_timeline.json",
        "transcript/transcript.txt",
        "transcript/transcript.vtt",
        "transcript/transcript.srt",
        "frames/100/0000010200.png",
    ):
        assert path in files, path
    assert "frames/100/0000010700.png" not in files  # sampled: one per 10 s
    assert files["frames/100/0000010200.png"].startswith(b"\x89PNG")
    manifest = json.loads(files["session.json"])
    assert manifest["source"] == "meeting-bot"
    assert manifest["meeting"]["id"] == "design-review"
    assert manifest["events"]["partialTranscripts"] == 1
    assert {a["name"] for a in manifest["artifacts"]} == {"audio/mixed", "audio/101"}
    raw = [p for p in files if p.startswith("events/")]
    assert any("transcript.data" in p for p in raw)
    assert not any("partial_data" in p or "audio_" in p or "video_" in p for p in raw)
    assert any("bot.custom_signal" in p for p in raw)  # unknown events kept raw

    # The same session page, listing item and search rows as a RealtimeKit session.
    assert "index.html" in files
    assert b'id="transcript"' in files["index.html"]
    row = SessionStore(stack.names.sessions_table, stack.client("dynamodb")).summary_row(
        meeting.folder_meeting_id, meeting.recording_id
    )
    assert row is not None
    assert row["participants"] == len(manifest["participants"])
    [(rows_key, _)] = stack.list_archive("index/utterances/")
    rows = [json.loads(line) for line in stack.read_object(rows_key).splitlines()]
    assert len(rows) == len(json.loads(files["transcript/transcript.json"]))
    assert {row["session_id"] for row in rows} == {meeting.recording_id}

    # The WAV: chunks in relative order, silence in the 1.5-1.8 s gap, timeline from relative 0.
    with wave.open(io.BytesIO(files["audio_mixed.wav"]), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        frames = wav.readframes(wav.getnframes())
    expected = bytearray()
    for relative, pcm in meeting.mixed_chunks():
        start = round(relative * 16000) * 2
        expected += bytes(start - len(expected))
        expected += pcm
    assert frames == bytes(expected)
    with wave.open(io.BytesIO(files["audio/101.wav"]), "rb") as wav:
        assert wav.getnframes() == 5 * 16000  # 4 s of silence, then Tomás's second


def _without_page_digest(manifest: bytes) -> dict:
    document = json.loads(manifest)
    document["derivedFiles"] = [f for f in document["derivedFiles"] if f["path"] != "index.html"]
    return document


def test_shuffled_and_duplicated_deliveries_give_byte_identical_files(stack: LocalStack) -> None:
    ordered = SampleBotMeeting(recording_id="rec-ordered")
    shuffled = SampleBotMeeting(recording_id="rec-shuffled")
    assert set(send_session(stack, ordered.bodies())) == {202}
    bodies = shuffled.bodies() * 2
    random.Random(16).shuffle(bodies)
    assert set(send_session(stack, bodies)) == {202}
    for meeting in (ordered, shuffled):
        wait_for(stack, meeting, "audio_mixed.wav")
        wait_for(stack, meeting, "audio/101.wav")
    stack.wait_idle(timeout=30)
    first, second = session_files(stack, ordered), session_files(stack, shuffled)
    # Raw bodies are named by their digest, which the recording id changes: compare their contents.
    raw_first = sorted(
        v.replace(b"rec-ordered", b"rec-shuffled") for k, v in first.items() if k.startswith("events/")
    )
    raw_second = sorted(v for k, v in second.items() if k.startswith("events/"))
    assert raw_first == raw_second
    derived = sorted(k for k in first if not k.startswith("events/"))
    assert derived == sorted(k for k in second if not k.startswith("events/"))
    for path in derived:
        a, b = first[path], second[path]
        if path == "index.html":  # it names the session (the recording id)
            a = a.replace(b"rec-ordered", b"rec-shuffled")
        if path == "session.json":  # and so does session.json, which lists the page's digest
            a, b = (_without_page_digest(x.replace(b"rec-ordered", b"rec-shuffled")) for x in (a, b))
        assert a == b, path


def test_replay_sends_a_recorded_bot_session_and_changes_nothing(stack: LocalStack, tmp_path: Path) -> None:
    from cli.replay_bot import replay_bot_recording
    from cli.target import local_target

    meeting = SampleBotMeeting(recording_id="rec-replayed")
    recording = tmp_path / "bot-session.jsonl"
    recording.write_bytes(b"\n".join(encode(body) for body in meeting.bodies()) + b"\n")
    target = local_target(stack.aws_endpoint, webhook_url=stack.webhook_url)
    lines: list[str] = []
    first = replay_bot_recording(
        target, recording, url=None, token=None, secret=None, dry_run=False, echo=lines.append
    )
    assert first.statuses == {202: len(meeting.bodies())}
    wait_for(stack, meeting, "audio_mixed.wav")
    wait_for(stack, meeting, "audio/101.wav")
    stack.wait_idle(timeout=30)
    before = session_files(stack, meeting)
    again = replay_bot_recording(
        target, recording, url=None, token=None, secret=SECRET, dry_run=False, echo=lines.append
    )
    assert again.failed == 0
    time.sleep(2)  # let the re-started audio timers fire and re-assemble
    stack.wait_idle(timeout=60)
    assert session_files(stack, meeting) == before
