"""The ``meeting-vault`` command."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from cli.local_stack import LocalSettings, LocalStack
from cli.webhook_signing import DEFAULT_KEY_DIR, WebhookSigner


@click.group()
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
@click.option("--verbose", is_flag=True, help="Show the functions' INFO logs.")
def dev(port: int, aws_port: int, public_key_file: Path | None, verbose: bool) -> None:
    """Run the whole pipeline locally until Ctrl-C (moto plays AWS)."""
    if public_key_file is not None:
        pem = public_key_file.read_text()
        key_note = str(public_key_file)
    else:
        pem = WebhookSigner.local_dev().public_pem()
        key_note = f"{DEFAULT_KEY_DIR}/dev-webhook-public-key.pem (sign with {DEFAULT_KEY_DIR}/dev-webhook-signing-key.pem)"
    settings = LocalSettings(
        port=port, aws_port=aws_port, public_key_pem=pem, log_level="INFO" if verbose else "WARNING"
    )
    stack = LocalStack(settings)
    try:
        stack.start()
    except OSError as error:
        raise click.ClickException(f"cannot start the local stack: {error}") from error
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"webhook URL:   {stack.webhook_url}")
    click.echo(f"AWS endpoint:  {stack.aws_endpoint}  (any credentials, region us-east-1)")
    click.echo(f"bucket:        {stack.names.bucket}")
    click.echo(f"public key:    {key_note}")
    click.echo("Ctrl-C to stop.")
    try:
        stop.wait()
    finally:
        click.echo("stopping...")
        stack.stop()


@main.command()
@click.option("--verbose", is_flag=True, help="Show the functions' INFO logs.")
def demo(verbose: bool) -> None:
    """Play a recorded sample meeting through a local pipeline and list what was archived."""
    from cli.demo import run_demo

    report = run_demo(echo=click.echo, log_level="INFO" if verbose else "WARNING")
    failed = [(event, status) for event, status in report.deliveries if status != 202]
    if failed or report.dead_letters:
        click.echo(
            f"demo finished with problems: rejected={failed} dead_letters={report.dead_letters}", err=True
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
