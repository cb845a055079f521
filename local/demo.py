"""``meeting-vault demo``: play the sample meeting through the local pipeline and show what
was archived."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.relay_demo import play_live_meeting
from local.sample_bot_meeting import SampleBotMeeting, encode, post, signed_headers
from local.sample_meeting import SAMPLE_APP_ID, SampleMeeting
from local.signing import WebhookSigner
from local.stack import LocalSettings, LocalStack
from local.standin import RealtimeKitStandin
from local.standin_rest import StandinRestState, install_sample_meeting


@dataclass
class DemoReport:
    deliveries: list[tuple[str, int]] = field(default_factory=list)  # (event, HTTP status)
    archived: list[tuple[str, int]] = field(default_factory=list)  # (key, bytes)
    dead_letters: dict[str, int] = field(default_factory=dict)
    rest: StandinRestState | None = None
    live_lines: int = 0
    session_folders: list[str] = field(default_factory=list)


# The demo's bot session assembles its audio after this much quiet (deployed default: 10 minutes).
DEMO_BOT_QUIET_SECONDS = 2
DEMO_BOT_SECRET = "whsec_ZGVtby1tZWV0aW5nLWJvdC1zaWduaW5nLXNlY3JldA=="  # noqa: S105 - the demo's own


def play_bot_meeting(
    stack: LocalStack,
    meeting: SampleBotMeeting,
    *,
    secret: str,
    echo: Callable[[str], None] = lambda _: None,
    timeout: float = 120.0,
) -> list[tuple[str, int]]:
    """POST every body of the bot session (signed, except every third one, which uses the URL
    token instead), then wait until the audio has been assembled."""
    import time

    deliveries: list[tuple[str, int]] = []
    counts: dict[tuple[str, int], int] = {}
    for index, payload in enumerate(meeting.bodies()):
        body = encode(payload)
        if index % 3 == 2:
            status = post(stack.bot_webhook_url_with_token(), body, {"content-type": "application/json"})
        else:
            status = post(
                stack.bot_webhook_url, body, signed_headers(secret, body, timestamp=int(time.time()))
            )
        deliveries.append((str(payload["event"]), status))
        counts[(str(payload["event"]), status)] = counts.get((str(payload["event"]), status), 0) + 1
    for (event, status), count in sorted(counts.items()):
        echo(f"  {status}  {event}" + (f"  x{count}" if count > 1 else ""))
    stack.wait_idle(timeout=timeout)
    return deliveries


def play_sample_meeting(
    stack: LocalStack,
    standin: RealtimeKitStandin,
    meeting: SampleMeeting,
    *,
    echo: Callable[[str], None] = lambda _: None,
    timeout: float = 120.0,
    rest: bool = True,
) -> DemoReport:
    report = DemoReport()
    urls = {name: standin.host_file(name, data, ctype) for name, (data, ctype) in meeting.files().items()}
    # RealtimeKit makes one summary per session: sent on its own (summarize_on_end) or after the
    # pipeline's POST /sessions/{id}/summary, whichever comes first; never both.
    summary_sent: set[str] = set()
    lock = threading.Lock()

    def send(payload: dict[str, Any], note: str = "") -> None:
        if payload["event"] == "meeting.summary":
            with lock:
                if meeting.session_id in summary_sent:
                    return
                summary_sent.add(meeting.session_id)
        status, _ = standin.send_webhook(stack.webhook_url, payload)
        with lock:
            report.deliveries.append((str(payload["event"]), status))
        echo(f"  {status}  {payload['event']}{note}")

    senders: list[threading.Thread] = []

    def summary_requested(session_id: str) -> None:
        # Called while the pipeline waits for the POST's answer; like RealtimeKit, answer first and
        # send the webhook afterwards (local mode runs one handler at a time: sending here would wait
        # for the consumer that is waiting for us).
        if session_id == meeting.session_id:
            note = "  (after the pipeline's POST /sessions/{id}/summary)"
            sender = threading.Thread(target=send, args=(meeting.summary_webhook(urls), note), daemon=True)
            senders.append(sender)
            sender.start()

    if rest:
        report.rest = install_sample_meeting(
            standin, meeting, urls, api_token=stack.settings.realtimekit_api_token
        )
        report.rest.on_summary_requested = summary_requested
    for payload in meeting.webhooks(urls):
        send(payload)
    waited = 0
    depths = stack.wait_idle(timeout=timeout)
    while any(sender.is_alive() for sender in senders) or len(senders) > waited:
        waited = len(senders)
        for sender in list(senders):
            sender.join(timeout=timeout)
        depths = stack.wait_idle(timeout=timeout)
    report.dead_letters = {name: d["dlq"] for name, d in depths.items() if d["dlq"]}
    report.archived = stack.list_archive()
    return report


FOLDED = {"events": "webhook bodies", "media": "raw media chunks"}


def render_tree(objects: list[tuple[str, int]]) -> list[str]:
    """Keys as an indented tree with sizes; the many raw events (and bot media chunks) folded
    into one line each."""
    lines: list[str] = []
    shown: set[str] = set()
    events: dict[str, tuple[int, int]] = {}
    for key, size in sorted(objects):
        parts = key.split("/")
        folded = next((name for name in parts[:-1] if name in FOLDED), None)
        if folded is not None:
            folder = "/".join(parts[: parts.index(folded) + 1])
            count, total = events.get(folder, (0, 0))
            events[folder] = (count + 1, total + size)
    for key, size in sorted(objects):
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in shown:
                shown.add(folder)
                label = f"{parts[depth - 1]}/"
                if folder in events:
                    count, total = events[folder]
                    label += f"  ({count} {FOLDED[parts[depth - 1]]}, {total:,} bytes)"
                lines.append(f"  {'  ' * (depth - 1)}{label}")
            if folder in events:
                break
        else:
            lines.append(f"  {'  ' * (len(parts) - 1)}{parts[-1]}  {size:,} bytes")
    return lines


def run_demo(
    *,
    echo: Callable[[str], None] = print,
    log_level: str = "WARNING",
    app_ids: tuple[str, ...] = (),
    serve: bool = False,
) -> DemoReport:
    signer = WebhookSigner.generate()
    # Created without summarize_on_end: the summary is the one the pipeline asks for (summary mode).
    meeting = SampleMeeting(summarize_on_end=False)
    with RealtimeKitStandin(signer) as standin:
        settings = LocalSettings(
            public_key_url=standin.well_known_url,
            realtimekit_api_base=standin.api_base_url,
            log_level=log_level,
            app_ids=app_ids or (SAMPLE_APP_ID,),
            bot_signing_secrets=(DEMO_BOT_SECRET,),
            extra_env={"BOT_AUDIO_QUIET_SECONDS": str(DEMO_BOT_QUIET_SECONDS)},
        )
        with LocalStack(settings) as stack:
            echo(f"local pipeline up: webhook {stack.webhook_url}, AWS (moto) {stack.aws_endpoint}")
            echo(f"RealtimeKit stand-in at {standin.base_url}; sending the sample meeting's webhooks:")
            report = play_sample_meeting(stack, standin, meeting, echo=echo)
            bot = SampleBotMeeting()
            echo("")
            echo(f"a meeting bot's real-time events to {stack.bot_webhook_url} (signed, or ?token=...):")
            report.deliveries += play_bot_meeting(stack, bot, secret=DEMO_BOT_SECRET, echo=echo)
            depths = stack.wait_idle(timeout=120)
            report.dead_letters = {name: d["dlq"] for name, d in depths.items() if d["dlq"]}
            report.archived = stack.list_archive()
            report.session_folders = [
                f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/",
                f"meetings/{bot.folder_meeting_id}/sessions/{bot.recording_id}/",
            ]
            echo("")
            echo(f"archived in s3://{stack.names.bucket}/")
            for line in render_tree(report.archived):
                echo(line)
            prefix = f"meetings/{meeting.meeting_id}/sessions/{meeting.session_id}/"
            keys = {key for key, _ in report.archived}
            if prefix + "transcript/transcript.txt" in keys:
                echo("")
                echo("transcript/transcript.txt (first lines):")
                for text in stack.read_object(prefix + "transcript/transcript.txt").decode().splitlines()[:5]:
                    echo(f"  {text}")
            if prefix + "index.html" in keys:
                echo("")
                echo(f"session page: {stack.archive_url(prefix + 'index.html')}")
                if not serve:
                    echo(
                        "  (served while the demo runs: `meeting-vault demo --serve` keeps it up until Ctrl-C)"
                    )
            if report.rest is not None:
                requests = len(report.rest.summary_requests)
                echo("")
                echo(
                    f"summary: requested from RealtimeKit {requests} time(s) after the transcript was "
                    "archived (summary mode realtimekit); it arrived as a signed meeting.summary"
                )
            echo("")
            echo("a live meeting: a bot's transcription socket relayed in short legs (local mode: 5 s)")
            live = play_live_meeting(stack, echo=echo)
            report.live_lines = live.lines_on_bus
            echo("")
            for line in render_tree(live.archived):
                echo(line)
            relay = live.manifest.get("liveRelay", {}) if live.manifest else {}
            if isinstance(relay, dict):
                echo(
                    f"live relay: {relay.get('lines')} lines over {len(relay.get('legs', []))} legs, "
                    f"{len(relay.get('gaps', []))} gap(s), ended by {relay.get('endReason')}"
                )
            bot_prefix = report.session_folders[1]
            if bot_prefix + "transcript/transcript.txt" in keys:
                echo("")
                echo("bot session transcript/transcript.txt:")
                for text in (
                    stack.read_object(bot_prefix + "transcript/transcript.txt").decode().splitlines()[:5]
                ):
                    echo(f"  {text}")
            echo("")
            echo("session folders (same layout and formats, source named in each session.json):")
            for folder, source in zip(report.session_folders, ("realtimekit", "meeting-bot"), strict=True):
                echo(f"  {source:<12} s3://{stack.names.bucket}/{folder}")
            if report.dead_letters:
                echo(f"dead-lettered messages: {report.dead_letters}")
            if serve:
                _serve_until_interrupted(echo)
            return report


def _serve_until_interrupted(echo: Callable[[str], None]) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    echo("serving the archive; Ctrl-C to stop.")
    stop.wait()
