"""``meeting-vault dev``: the local pipeline until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path

import click

from local.sample_meeting import SAMPLE_APP_ID
from local.signing import DEFAULT_KEY_DIR, WebhookSigner
from local.stack import LocalSettings, LocalStack


def dev_bot_credentials(token: str | None, secret: str | None) -> tuple[str, str]:
    """The given token and signing secret, or fresh random ones (printed at start)."""
    import base64
    import secrets

    from shared.sources.meeting_bot.auth import signing_key

    if secret is not None:
        try:
            signing_key(secret)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--bot-secret") from error
    return (
        token or secrets.token_urlsafe(24),
        secret or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    )


def run_dev(
    *,
    port: int,
    aws_port: int,
    archive_port: int = 8081,
    public_key_file: Path | None,
    verbose: bool,
    echo: Callable[[str], None],
    app_ids: tuple[str, ...] = (),
    api_base_url: str | None = None,
    bot_token: str | None = None,
    bot_secret: str | None = None,
) -> None:
    if public_key_file is not None:
        pem = public_key_file.read_text()
        key_note = str(public_key_file)
    else:
        pem = WebhookSigner.local_dev().public_pem()
        key_note = f"{DEFAULT_KEY_DIR}/dev-webhook-public-key.pem (sign with {DEFAULT_KEY_DIR}/dev-webhook-signing-key.pem)"
    token, secret = dev_bot_credentials(bot_token, bot_secret)
    settings = LocalSettings(
        port=port,
        aws_port=aws_port,
        archive_port=archive_port,
        public_key_pem=pem,
        log_level="INFO" if verbose else "WARNING",
        app_ids=app_ids or (SAMPLE_APP_ID,),
        realtimekit_api_base=api_base_url,
        bot_tokens=(token,),
        bot_signing_secrets=(secret,),
    )
    stack = LocalStack(settings)
    try:
        stack.start()
    except OSError as error:
        raise click.ClickException(f"cannot start the local stack: {error}") from error
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    echo(f"webhook URL:   {stack.webhook_url}")
    echo(f"AWS endpoint:  {stack.aws_endpoint}  (any credentials, region us-east-1)")
    echo(f"bucket:        {stack.names.bucket}")
    echo(f"archive:       {stack.archive_url()}  (session pages: meetings/<id>/sessions/<id>/index.html)")
    echo(f"public key:    {key_note}")
    echo(f"app ids:       {', '.join(settings.app_ids)}")
    if api_base_url:
        echo(f"RealtimeKit:   {api_base_url} (asked when a webhook names another app id)")
    else:
        echo("RealtimeKit:   none given: a webhook naming another app id is refused (403)")
    echo(f"bot endpoint:  {stack.bot_webhook_url_with_token()}")
    echo(f"bot secret:    {secret}{'' if bot_secret else '  (generated; --bot-secret to choose)'}")
    echo("Ctrl-C to stop.")
    try:
        stop.wait()
    finally:
        echo("stopping...")
        stack.stop()
