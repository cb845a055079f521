"""``meeting-vault replay --bot-recording PATH``: send a recorded meeting-bot session to the bot
endpoint again, byte for byte: a ``.jsonl`` file (one body per line, as the bot sent them) or a
folder of ``.json`` bodies (sent in name order).

Each body is signed with ``--bot-secret`` (Standard Webhooks headers; the message id is derived
from the body, so a receiver that de-duplicates by id sees a repeat) or sent with ``--bot-token``
in the URL. Local mode reads both from its credentials secret when neither is given. The archive's
keys depend only on the bodies, so a replay overwrites what the first delivery wrote."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from cli.errors import CliError
from cli.target import Target
from local.names import BOT_WEBHOOK_PATH, LocalNames


@dataclass
class BotReplayResult:
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 202)


def recorded_bodies(path: Path) -> Iterator[bytes]:
    if path.is_dir():
        for file in sorted(path.glob("*.json")):
            yield file.read_bytes()
        return
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if line.strip():
            try:
                json.loads(line)
            except ValueError as error:
                raise CliError(f"{path}:{number} is not a JSON body: {error}") from error
            yield line


def bot_url_for(target: Target, url: str | None) -> str:
    """The bot endpoint: given, or the target's webhook URL with the bot path (same API)."""
    if url:
        return url
    parts = urlsplit(target.webhook_url)
    base = parts.path.rsplit("/webhooks/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, base + BOT_WEBHOOK_PATH, "", ""))


def _local_credentials(target: Target) -> tuple[str | None, str | None]:
    from shared.sources.meeting_bot.credentials import credentials_from_json

    secret = target.client("secretsmanager").get_secret_value(SecretId=LocalNames().bot_credentials_secret)
    credentials = credentials_from_json(secret["SecretString"])
    return (
        credentials.tokens[0] if credentials.tokens else None,
        credentials.signing_secrets[0] if credentials.signing_secrets else None,
    )


def replay_bot_recording(
    target: Target,
    path: Path,
    *,
    url: str | None,
    token: str | None,
    secret: str | None,
    dry_run: bool,
    echo: Callable[[str], None],
) -> BotReplayResult:
    from local.sample_bot_meeting import post, signed_headers

    endpoint = bot_url_for(target, url)
    if not (token or secret) and target.local and not dry_run:
        token, secret = _local_credentials(target)
    if not (token or secret) and not dry_run:
        raise CliError("give --bot-secret (signed requests) or --bot-token (?token=...) for the bot endpoint")
    result = BotReplayResult()
    bodies = list(recorded_bodies(path))
    echo(f"{len(bodies)} bot bodies from {path} -> {endpoint}{' (dry run)' if dry_run else ''}")
    if dry_run:
        return result
    for body in bodies:
        if secret:
            message_id = "replay_" + hashlib.sha256(body).hexdigest()[:24]
            headers = signed_headers(secret, body, timestamp=int(time.time()), message_id=message_id)
            status = post(endpoint, body, headers)
        else:
            assert token is not None
            status = post(f"{endpoint}?token={quote(token)}", body, {"content-type": "application/json"})
        result.statuses[status] = result.statuses.get(status, 0) + 1
    for status, count in sorted(result.statuses.items()):
        echo(f"  {status}: {count}")
    return result
