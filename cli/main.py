"""The ``meeting-vault`` command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.errors import OperatorGroup
from cli.options import SINCE, json_option, realtimekit_options, target_options, webhook_target_options

if TYPE_CHECKING:
    from cli.realtimekit_access import RealtimeKitOptions
    from cli.target import Target

TargetFactory = Callable[[], "Target"]


@click.group(cls=OperatorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meeting-vault")
def main() -> None:
    """meeting-vault: keep every RealtimeKit meeting (recordings, transcripts, summaries, chat) in your S3.

    Shell completion (bash, zsh, fish): eval "$(_MEETING_VAULT_COMPLETE=bash_source meeting-vault)"
    (docs/cli.md)."""


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
    "--archive-port",
    default=8081,
    show_default=True,
    help="Port that serves the archive over HTTP (session pages, media with Range).",
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
    archive_port: int,
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
        archive_port=archive_port,
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
@click.option("--serve", is_flag=True, help="Keep serving the archive (the session page) until Ctrl-C.")
def demo(app_ids: tuple[str, ...], verbose: bool, serve: bool) -> None:
    """Play a recorded sample meeting through a local pipeline and list what was archived."""
    from local.demo import run_demo

    report = run_demo(
        echo=click.echo, log_level="INFO" if verbose else "WARNING", app_ids=app_ids, serve=serve
    )
    failed = [(event, status) for event, status in report.deliveries if status != 202]
    if failed or report.dead_letters:
        click.echo(
            f"demo finished with problems: rejected={failed} dead_letters={report.dead_letters}", err=True
        )
        sys.exit(1)


# -- operator commands: each maps its options to one call in its cli/ module ------------------------
@main.command()
@webhook_target_options
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
@click.option("--since", type=SINCE, help="Only sessions that started at or after DATE or AGE (e.g. 7d).")
@click.option("--until", type=SINCE, help="Only sessions that started at or before DATE or AGE.")
@click.option("--meeting", "meeting_id", metavar="ID", help="Only this meeting's sessions.")
@click.option(
    "--state",
    type=click.Choice(["failed", "complete", "pending"]),
    help="failed: a file failed; pending: live, or a file announced and not archived yet; complete: the rest.",
)
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="Sessions per page."
)
@click.option("--next", "next_token", metavar="TOKEN", help="The next page, as the previous page printed it.")
@json_option
def sessions(
    target: TargetFactory,
    since: datetime | None,
    until: datetime | None,
    meeting_id: str | None,
    state: str | None,
    limit: int,
    next_token: str | None,
    as_json: bool,
) -> None:
    """List archived sessions, newest first, one page at a time: title, start, duration,
    participants, archived and failed artifacts. Reads the sessions index only."""
    from cli.inspect import sessions_command

    sessions_command(
        target(),
        since=since,
        until=until,
        meeting_id=meeting_id,
        state=state,
        limit=limit,
        next_token=next_token,
        as_json=as_json,
        echo=click.echo,
    )


@main.command()
@target_options
@click.argument("session")
@json_option
def show(target: TargetFactory, session: str, as_json: bool) -> None:
    """Show one session's manifest (SESSION: a session id, or MEETING_ID/SESSION_ID); --json prints
    session.json as stored."""
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
@click.option(
    "--replace",
    is_flag=True,
    help="Download every file again, even those already complete in --out (default: resume).",
)
@json_option
def get(target: TargetFactory, session: str, out: Path, replace: bool, as_json: bool) -> None:
    """Download a whole session folder (SESSION: a session id, or MEETING_ID/SESSION_ID): parallel
    ranged reads, a progress bar on a terminal; a second run resumes what is missing."""
    from cli.inspect import get_command

    get_command(
        target(),
        session,
        out=out,
        replace=replace,
        as_json=as_json,
        echo=click.echo,
        progress_bar=sys.stderr.isatty() and not as_json,
    )


@main.command()
@target_options
@click.argument("phrase")
@click.option("--speaker", metavar="NAME", help="Only lines of speakers whose name contains NAME.")
@click.option("--since", metavar="30d|2w|DATE", help="Only sessions of the last N days/weeks, or since DATE.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="Most lines.")
@click.option(
    "--index-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Search a local copy of index/utterances/ with DuckDB (no stack needed).",
)
def search(
    target: TargetFactory,
    phrase: str,
    speaker: str | None,
    since: str | None,
    limit: int,
    index_dir: Path | None,
) -> None:
    """Find PHRASE in every archived transcript: meeting, time and offset in the recording.

    Deployed: Athena; local mode: DuckDB; the same SQL."""
    from cli.search import search_command

    search_command(
        None if index_dir else target(),
        phrase,
        speaker=speaker,
        since=since,
        limit=limit,
        index_dir=index_dir,
        echo=click.echo,
        note=lambda text: click.echo(text, err=True),
    )


@main.command(name="open")
@target_options
@click.argument("session")
@click.option(
    "--expires",
    default=3600,
    show_default=True,
    type=click.IntRange(1, 7 * 24 * 3600),
    help="Seconds the presigned URLs stay valid (deployed stack; at most 7 days).",
)
@click.option(
    "--archive-url",
    envvar="MEETING_VAULT_ARCHIVE_URL",
    metavar="URL",
    help="Local mode: where `meeting-vault dev` serves the archive. [default: http://127.0.0.1:8081]",
)
def open_(target: TargetFactory, session: str, expires: int, archive_url: str | None) -> None:
    """Print the URL of a session's page (SESSION: a session id, or MEETING_ID/SESSION_ID).

    Deployed: the page and its media presigned, the media URLs in the fragment; local: the archive
    served by `meeting-vault dev`."""
    from cli.session_page import open_command

    open_command(
        target(),
        session,
        expires=expires,
        archive_url=archive_url,
        echo=click.echo,
        note=lambda text: click.echo(text, err=True),
    )


@main.command()
@webhook_target_options
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
@json_option
def redrive(target: TargetFactory, queue: str | None, dry_run: bool, as_json: bool) -> None:
    """Move dead-lettered messages back to their source queue (QUEUE: sessions, recordings,
    transcripts, summaries, chat, reconcile, reconcile-schedule...; default: every queue). On AWS:
    SQS's own message move task, with its progress until it finishes."""
    from cli.queues import redrive_command

    result = redrive_command(target(), queue, dry_run=dry_run, as_json=as_json, echo=click.echo)
    if result.failed:
        sys.exit(1)


@main.command()
@target_options
@click.option(
    "--since",
    type=SINCE,
    default="24h",
    show_default=True,
    help="The window (DATE or AGE) in which a session's failed artifacts make the exit code 1.",
)
@click.option("--failures", "limit", default=10, show_default=True, help="How many failures to show.")
@json_option
def status(target: TargetFactory, since: datetime, limit: int, as_json: bool) -> None:
    """Queue and DLQ depths, dead-lettered events, and the sessions with failed artifacts.

    Exit code 0 when healthy; 1 when any DLQ holds messages or a session of the window has a failed
    artifact (for cron and CI)."""
    from cli.queues import status_command

    report = status_command(target(), since=since, limit=limit, as_json=as_json, echo=click.echo)
    if not report.healthy:
        sys.exit(1)


@main.command()
@target_options
@click.option("--session", "session", metavar="SESSION", help="A session id, or MEETING_ID/SESSION_ID.")
@click.option("--meeting", "meeting_id", metavar="ID", help="Every session of this meeting.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def forget(
    target: TargetFactory, session: str | None, meeting_id: str | None, yes: bool, as_json: bool
) -> None:
    """Erase a session (or every session of a meeting): every object version under its folder, its
    record and its idempotency items; leaves a tombstone so later webhooks and sweeps archive
    nothing of it again. What cannot be erased: docs/runbook.md."""
    from cli.forget import forget_command

    if (session is None) == (meeting_id is None):
        raise click.UsageError("give exactly one of --session or --meeting")
    forget_command(
        target(),
        session=session,
        meeting_id=meeting_id,
        confirm=None if yes else (lambda prompt: click.confirm(prompt, default=False, err=True)),
        as_json=as_json,
        echo=click.echo,
    )


@main.group()
def relay() -> None:
    """Live relays of a meeting bot's transcription WebSocket (seed 004): start, list, stop."""


@relay.command("start")
@target_options
@click.option(
    "--websocket-url",
    envvar="MEETING_VAULT_WEBSOCKET_URL",
    required=True,
    metavar="URL",
    help="The bot's read-only socket URL; '-' reads it from standard input (keeps it out of `ps` and "
    "shell history), as does the environment variable MEETING_VAULT_WEBSOCKET_URL.",
)
@click.option("--meeting-id", required=True, metavar="ID", help="The meeting the relayed session belongs to.")
@click.option("--session-id", metavar="ID", help="Session id of the relay's folder (default: the relay id).")
@click.option("--title", metavar="TITLE", help="Meeting title for session.json.")
def relay_start(
    target: TargetFactory, websocket_url: str, meeting_id: str, session_id: str | None, title: str | None
) -> None:
    """Start relaying a bot's socket onto the bus; archive it when the meeting ends."""
    from cli.relay import start_command

    start_command(
        target(),
        websocket_url=websocket_url,
        meeting_id=meeting_id,
        session_id=session_id,
        title=title,
        echo=click.echo,
    )


@relay.command("list")
@target_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def relay_list(target: TargetFactory, as_json: bool) -> None:
    """The relays, running and ended."""
    from cli.relay import list_command

    list_command(target(), as_json=as_json, echo=click.echo)


@relay.command("stop")
@target_options
@click.argument("relay_id")
def relay_stop(target: TargetFactory, relay_id: str) -> None:
    """Stop a running relay; what it received is archived."""
    from cli.relay import stop_command

    stop_command(target(), relay_id, echo=click.echo)


if __name__ == "__main__":
    main()
