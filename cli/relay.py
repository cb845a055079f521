"""``meeting-vault relay start|list|stop``: live relays of a meeting bot's transcription socket.

``start`` keeps the socket URL in a Secrets Manager secret of its own (whoever holds the URL reads
the meeting: it is never printed, logged or put in the state machine's input) and puts a
``relay.requested`` event on the bus, which starts the relay's state machine (local mode: its
driver). ``list`` reads the relay table; ``stop`` asks the running legs to end, after which the
relay archives what it received."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from cli.errors import CliError
from cli.target import Target
from shared.archive.keys import is_safe_id, session_prefix
from shared.sources.live_relay.request import REQUEST_DETAIL_TYPE, REQUEST_SOURCE, SECRET_PREFIX
from shared.sources.live_relay.store import RelayStore


def _store(target: Target) -> RelayStore:
    if not target.relay_table:
        raise CliError(f"{target.description} has no relay table (output RelayTableName): redeploy the stack")
    return RelayStore(target.relay_table, client=target.client("dynamodb"))


def read_websocket_url(value: str) -> str:
    url = sys.stdin.readline().strip() if value == "-" else value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or not parts.hostname:
        raise CliError("the WebSocket URL must be a ws:// or wss:// URL (use the bot's read-only one)")
    return url


def start_command(
    target: Target,
    *,
    websocket_url: str,
    meeting_id: str,
    session_id: str | None,
    title: str | None,
    echo: Callable[[str], None],
) -> str:
    if not is_safe_id(meeting_id) or (session_id is not None and not is_safe_id(session_id)):
        raise CliError("meeting and session ids may use letters, digits, '.', '_' and '-' (up to 128)")
    url = read_websocket_url(websocket_url)
    relay_id = f"relay-{uuid.uuid4().hex[:16]}"
    secret_id = SECRET_PREFIX + relay_id
    target.client("secretsmanager").create_secret(
        Name=secret_id,
        SecretString=url,
        Description="meeting-vault live relay: the bot's transcription socket URL (deleted when archived)",
    )
    detail = {
        "relayId": relay_id,
        "meetingId": meeting_id,
        "sessionId": session_id or relay_id,
        "title": title,
        "secretId": secret_id,
    }
    response = target.client("events").put_events(
        Entries=[
            {
                "EventBusName": target.bus,
                "Source": REQUEST_SOURCE,
                "DetailType": REQUEST_DETAIL_TYPE,
                "Detail": json.dumps(detail),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise CliError("the bus did not take the relay request; nothing was started (the secret stays)")
    echo(f"relay {relay_id} requested for meeting {meeting_id}")
    echo(f"archive: s3://{target.bucket}/{session_prefix(meeting_id, session_id or relay_id)}")
    return relay_id


def list_command(target: Target, *, as_json: bool, echo: Callable[[str], None]) -> None:
    relays = _store(target).list_relays()
    if as_json:
        echo(
            json.dumps(
                [
                    {
                        "relayId": r.relay_id,
                        "meetingId": r.meeting_id,
                        "sessionId": r.session_id,
                        "title": r.title,
                        "status": r.status,
                        "endReason": r.end_reason,
                        "createdAt": r.created_at.isoformat(),
                    }
                    for r in relays
                ],
                indent=2,
            )
        )
        return
    if not relays:
        echo("no relays")
        return
    echo(f"{'RELAY':<24}  {'MEETING':<24}  {'STATUS':<16}  {'END':<20}  STARTED (UTC)")
    for r in relays:
        echo(
            f"{r.relay_id:<24}  {r.meeting_id:<24}  {r.status:<16}  {r.end_reason or '-':<20}  "
            f"{r.created_at:%Y-%m-%d %H:%M}"
        )


def stop_command(target: Target, relay_id: str, *, echo: Callable[[str], None]) -> None:
    store = _store(target)
    meta = store.meta(relay_id)
    if meta is None:
        raise CliError(f"no relay {relay_id} in {target.description}")
    if store.request_stop(relay_id):
        echo(f"relay {relay_id}: stop requested; it archives what it received when its legs end")
    else:
        echo(f"relay {relay_id} is not running ({meta.status})")
