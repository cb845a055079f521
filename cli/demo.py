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
            for key, size in report.archived:
                echo(f"  {size:>10,}  {key}")
            if report.dead_letters:
                echo(f"dead-lettered messages: {report.dead_letters}")
            return report
