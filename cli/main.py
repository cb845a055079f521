"""The ``meeting-vault`` command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.errors import OperatorGroup
from cli.options import SINCE, realtimekit_options, target_options

if TYPE_CHECKING:
    from cli.realtimekit_access import RealtimeKitOptions
    from cli.target import Target

TargetFactory = Callable[[], "Target"]


@click.group(cls=OperatorGroup)
@click.version_option(package_name="meeting-vault")
def main() -> None:
    """meeting-vault: keep every RealtimeKit meeting (recordings, transcripts, summaries, chat) in your S3."""


@main.command()
@click.option(
    "--port",
    default=8080,
    show_default=True,
    help="Port of the local webhook endpoint (API Gateway stand-in).",
)
@click.option("--aws-port", default=5000, show_default=True, help="Port of the embedded AWS (moto) server.")
@click.option(
    "--public-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key that verifies webhook signatures. Default: the local dev key pair in .meeting-vault/.",
)
@click.option(
    "--app-id",
    "app_ids",
    multiple=True,
    metavar="ID",
    help="RealtimeKit app id whose webhooks are accepted (repeatable). Default: the sample meeting's app.",
)
@click.option(
    "--api-base-url",
    metavar="URL",
    help="RealtimeKit REST API (or the stand-in) to ask whether a meeting is yours when a webhook names "
    "another app id. Without it a differing app id is refused (403).",
)
@click.option("--verbose", is_flag=True, help="Show the functions' INFO logs.")
@click.option(
    "--bot-token",
    envvar="MEETING_VAULT_BOT_TOKEN",
    metavar="TOKEN",
    help="Query token of /webhooks/meeting-bot (?token=...). Default: generated and printed.",
)
@click.option(
    "--bot-secret",
    envvar="MEETING_VAULT_BOT_SECRET",
    metavar="whsec_...",
    help="Signing secret of /webhooks/meeting-bot (webhook-signature). Default: generated and printed.",
)
def dev(
    port: int,
    aws_port: int,
    public_key_file: Path | None,
    app_ids: tuple[str, ...],
    api_base_url: str | None,
    verbose: bool,
    bot_token: str | None,
    bot_secret: str | None,
) -> None:
    """Run the whole pipeline locally until Ctrl-C (moto plays AWS)."""
    from local.dev import run_dev

    run_dev(
        port=port,
        aws_port=aws_port,
        public_key_file=public_key_file,
        app_ids=app_ids,
        api_base_url=api_base_url,
        verbose=verbose,
        echo=click.echo,
        bot_token=bot_token,
        bot_secret=bot_secret,
    )


@main.command()
@click.option(
    "--app-id",
    "app_ids",
    multiple=True,
    metavar="ID",
    help="RealtimeKit app id whose webhooks are accepted (repeatable). Default: the sample meeting's app.",
)
@click.option("--verbose", is_flag=True, help="Show the functions' INFO logs.")
def demo(app_ids: tuple[str, ...], verbose: bool) -> None:
    """Play a recorded sample meeting through a local pipeline and list what was archived."""
    from local.demo import run_demo

    report = run_demo(echo=click.echo, log_level="INFO" if verbose else "WARNING", app_ids=app_ids)
    failed = [(event, status) for event, status in report.deliveries if status != 202]
    if failed or report.dead_letters:
        click.echo(
            f"demo finished with problems: rejected={failed} dead_letters={report.dead_letters}", err=True
        )
        sys.exit(1)


# -- operator commands: each maps its options to one call in its cli/ module ------------------------
@main.command()
@target_options
@realtimekit_options
@click.option("--name", default="meeting-vault", show_default=True, help="Name of the RealtimeKit webhook.")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
def connect(target: TargetFactory, rtk: RealtimeKitOptions, name: str, dry_run: bool) -> None:
    """Create or update the RealtimeKit webhook that sends every event to the stack's webhook URL.

    Idempotent: when the webhook already matches, nothing changes and it says so."""
    from cli.connect import connect_command

    connect_command(target(), rtk, name=name, dry_run=dry_run, echo=click.echo)


@main.command()
@target_options
@realtimekit_options
@click.option("--since", type=SINCE, help="Only sessions that started on or after DATE (UTC).")
@click.option("--meeting", "meeting_id", metavar="ID", help="Only this meeting's sessions.")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".meeting-vault") / "backfill-checkpoint.json",
    show_default=True,
    help="Where an interrupted run records what it enqueued, so the next run resumes.",
)
@click.option("--restart", is_flag=True, help="Ignore the checkpoint of an interrupted run.")
def backfill(
    target: TargetFactory,
    rtk: RealtimeKitOptions,
    since: datetime | None,
    meeting_id: str | None,
    checkpoint: Path,
    restart: bool,
) -> None:
    """Archive what RealtimeKit still retains (recordings, transcripts, summaries, chat) and the
    bucket lacks, by enqueuing the same events its webhooks would have brought.

    Safe to interrupt (Ctrl-C) and run again; paced to RealtimeKit's rate limit."""
    from cli.backfill import backfill_command

    backfill_command(
        target(),
        rtk,
        meeting_id=meeting_id,
        since=since,
        checkpoint_path=checkpoint,
        restart=restart,
        echo=click.echo,
        progress_bar=sys.stdout.isatty(),
    )


@main.command()
@target_options
@click.option("--meeting", "meeting_id", metavar="ID", help="Only this meeting's sessions.")
@click.option("--since", type=SINCE, help="Only sessions that started on or after DATE (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sessions(target: TargetFactory, meeting_id: str | None, since: datetime | None, as_json: bool) -> None:
    """List the archived sessions: title, start, duration, participants, archived and failed artifacts."""
    from cli.inspect import sessions_command

    sessions_command(target(), meeting_id=meeting_id, since=since, as_json=as_json, echo=click.echo)


@main.command()
@target_options
@click.argument("session")
@click.option("--json", "as_json", is_flag=True, help="Print session.json as stored.")
def show(target: TargetFactory, session: str, as_json: bool) -> None:
    """Show one session's manifest (SESSION: a session id, or MEETING_ID/SESSION_ID)."""
    from cli.inspect import show_command

    show_command(target(), session, as_json=as_json, echo=click.echo)


@main.command()
@target_options
@click.argument("session")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to download the session folder into (its layout is kept).",
)
def get(target: TargetFactory, session: str, out: Path) -> None:
    """Download a whole session folder (SESSION: a session id, or MEETING_ID/SESSION_ID)."""
    from cli.inspect import get_command

    get_command(target(), session, out=out, echo=click.echo)


@main.command()
@target_options
@click.option("--session", "sessions_", multiple=True, metavar="SESSION", help="Replay a session's events/.")
@click.option("--meeting", "meetings", multiple=True, metavar="ID", help="Replay every session of a meeting.")
@click.option("--key", "keys", multiple=True, metavar="KEY", help="Replay one events/ object.")
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay a webhook body from a JSON file (sent byte for byte).",
)
@click.option(
    "--event", "only_event", metavar="NAME", help="Only events of this name, e.g. meeting.transcript."
)
@click.option(
    "--via",
    type=click.Choice(["webhook", "bus"]),
    help="webhook: POST signed to the webhook URL (local mode default); bus: put on the event bus "
    "(deployed stack default).",
)
@click.option(
    "--private-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM key that signs webhook replays. Default: the local dev key in .meeting-vault/.",
)
@click.option("--dry-run", is_flag=True, help="List what would be replayed; send nothing.")
@click.option(
    "--bot-recording",
    type=click.Path(exists=True, path_type=Path),
    help="A recorded meeting-bot session (.jsonl, or a folder of .json bodies) to POST to the bot endpoint.",
)
@click.option(
    "--bot-url",
    metavar="URL",
    help="The bot endpoint (default: the webhook URL's API, /webhooks/meeting-bot).",
)
@click.option("--bot-token", envvar="MEETING_VAULT_BOT_TOKEN", metavar="TOKEN", help="Send ?token=TOKEN.")
@click.option("--bot-secret", envvar="MEETING_VAULT_BOT_SECRET", metavar="whsec_...", help="Sign each body.")
def replay(
    target: TargetFactory,
    sessions_: tuple[str, ...],
    meetings: tuple[str, ...],
    keys: tuple[str, ...],
    files: tuple[Path, ...],
    only_event: str | None,
    via: str | None,
    private_key_file: Path | None,
    dry_run: bool,
    bot_recording: Path | None,
    bot_url: str | None,
    bot_token: str | None,
    bot_secret: str | None,
) -> None:
    """Send archived raw events (or JSON files) through the pipeline again, e.g. after a fix."""
    if bot_recording is not None:
        from cli.replay_bot import replay_bot_recording

        bot = replay_bot_recording(
            target(),
            bot_recording,
            url=bot_url,
            token=bot_token,
            secret=bot_secret,
            dry_run=dry_run,
            echo=click.echo,
        )
        if bot.failed:
            sys.exit(1)
        return
    from cli.replay import replay_command

    result = replay_command(
        target(),
        sessions=sessions_,
        meetings=meetings,
        keys=keys,
        files=files,
        only_event=only_event,
        via=via,
        private_key_file=private_key_file,
        dry_run=dry_run,
        echo=click.echo,
    )
    if result.failed:
        sys.exit(1)


@main.command()
@target_options
@click.argument("queue", required=False)
@click.option("--dry-run", is_flag=True, help="Only show the DLQ depths.")
@click.option("--max", "limit", type=click.IntRange(min=1), help="Move at most this many messages per queue.")
def redrive(target: TargetFactory, queue: str | None, dry_run: bool, limit: int | None) -> None:
    """Move dead-lettered messages back to their source queue (QUEUE: sessions, recordings,
    transcripts, summaries or chat; default: every queue)."""
    from cli.queues import redrive_command

    redrive_command(target(), queue, dry_run=dry_run, limit=limit, echo=click.echo)


@main.command()
@target_options
@click.option("--failures", "limit", default=10, show_default=True, help="How many failures to show.")
def status(target: TargetFactory, limit: int) -> None:
    """Queue and DLQ depths, dead-lettered events, and failed artifacts with their reasons."""
    from cli.queues import status_command

    status_command(target(), limit=limit, echo=click.echo)


if __name__ == "__main__":
    main()
