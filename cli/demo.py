"""``meeting-vault demo``: play the sample meeting through the local pipeline and show what
was archived."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cli.local_stack import LocalSettings, LocalStack
from cli.sample_meeting import SampleMeeting
from cli.standin import RealtimeKitStandin
from cli.standin_rest import StandinRestState, install_sample_meeting
from cli.webhook_signing import WebhookSigner


@dataclass
class DemoReport:
    deliveries: list[tuple[str, int]] = field(default_factory=list)  # (event, HTTP status)
    archived: list[tuple[str, int]] = field(default_factory=list)  # (key, bytes)
    dead_letters: dict[str, int] = field(default_factory=dict)
    rest: StandinRestState | None = None


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
    if rest:
        report.rest = install_sample_meeting(
            standin, meeting, urls, api_token=stack.settings.realtimekit_api_token
        )
    for payload in meeting.webhooks(urls):
        status, _ = standin.send_webhook(stack.webhook_url, payload)
        report.deliveries.append((str(payload["event"]), status))
        echo(f"  {status}  {payload['event']}")
    depths = stack.wait_idle(timeout=timeout)
    report.dead_letters = {name: d["dlq"] for name, d in depths.items() if d["dlq"]}
    report.archived = stack.list_archive()
    return report


def render_tree(objects: list[tuple[str, int]]) -> list[str]:
    """Keys as an indented tree with sizes; the many raw events folded into one line."""
    lines: list[str] = []
    shown: set[str] = set()
    events: dict[str, tuple[int, int]] = {}
    for key, size in sorted(objects):
        parts = key.split("/")
        if "events" in parts[:-1]:
            folder = "/".join(parts[: parts.index("events") + 1])
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
                    label += f"  ({count} webhook bodies, {total:,} bytes)"
                lines.append(f"  {'  ' * (depth - 1)}{label}")
            if folder in events:
                break
        else:
            lines.append(f"  {'  ' * (len(parts) - 1)}{parts[-1]}  {size:,} bytes")
    return lines


def run_demo(*, echo: Callable[[str], None] = print, log_level: str = "WARNING") -> DemoReport:
    signer = WebhookSigner.generate()
    meeting = SampleMeeting()
    with RealtimeKitStandin(signer) as standin:
        settings = LocalSettings(
            public_key_url=standin.well_known_url,
            realtimekit_api_base=standin.api_base_url,
            log_level=log_level,
        )
        with LocalStack(settings) as stack:
            echo(f"local pipeline up: webhook {stack.webhook_url}, AWS (moto) {stack.aws_endpoint}")
            echo(f"RealtimeKit stand-in at {standin.base_url}; sending the sample meeting's webhooks:")
            report = play_sample_meeting(stack, standin, meeting, echo=echo)
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
            if report.dead_letters:
                echo(f"dead-lettered messages: {report.dead_letters}")
            return report
