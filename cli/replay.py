"""``meeting-vault replay``: send archived raw webhook bodies (``events/`` objects) or JSON files
through the pipeline again, e.g. to reprocess sessions after a fix.

- ``webhook`` (local mode's default): POST the exact bytes, signed like RealtimeKit signs them (the
  local dev key, or ``--private-key-file``), to the webhook URL: the whole ingest path runs.
- ``bus`` (a deployed stack's default; its public key is RealtimeKit's, whose private half we do not
  have): build the same bus detail the ingest function builds and put it on the bus.

Either way the body bytes are unchanged, so every object key (``events/`` and derived files) is the
one the first delivery wrote: a replay overwrites, it never adds copies."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.errors import CliError
from cli.target import Target
from shared.adapters.eventbridge import EventPublisher
from shared.archive.keys import FOREIGN_NOTE_SUFFIX, MEETINGS_PREFIX, is_safe_id, session_prefix
from shared.ingest.envelope import build_detail

if TYPE_CHECKING:
    from local.signing import WebhookSigner

REPLAY_SIGNATURE_HEADER = "replay"


@dataclass(frozen=True)
class ArchivedEvent:
    label: str  # the S3 key or file path
    body: bytes
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def received_at(self) -> datetime | None:
        value = self.metadata.get("received-at")
        try:
            return datetime.fromisoformat(value) if value else None
        except ValueError:
            return None

    @property
    def event(self) -> str | None:
        try:
            payload = json.loads(self.body)
        except ValueError:
            return None
        name = payload.get("event") if isinstance(payload, dict) else None
        return name if isinstance(name, str) else None


def event_keys(
    s3: Any, bucket: str, *, sessions: list[tuple[str, str]], meetings: list[str], keys: list[str]
) -> list[str]:
    """The ``events/`` keys of the given sessions and meetings, plus the given keys; in key order
    (which is the order of the times the events describe) within each folder."""
    found: list[str] = list(keys)
    prefixes = [session_prefix(m, s) + "events/" for m, s in sessions]
    for meeting in meetings:
        if not is_safe_id(meeting):
            raise CliError(f"{meeting!r} is not a meeting id")
        prefixes.append(f"{MEETINGS_PREFIX}/{meeting}/sessions/")
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        listed = sorted(
            str(o["Key"])
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])
            if "/events/" in str(o["Key"])
            and str(o["Key"]).endswith(".json")
            and not str(o["Key"]).endswith(FOREIGN_NOTE_SUFFIX)
        )
        found.extend(listed)
    return list(dict.fromkeys(found))


def load_events(s3: Any, bucket: str, keys: list[str], files: list[Path]) -> Iterator[ArchivedEvent]:
    for key in keys:
        obj = s3.get_object(Bucket=bucket, Key=key)
        yield ArchivedEvent(label=key, body=obj["Body"].read(), metadata=dict(obj.get("Metadata") or {}))
    for path in files:
        try:
            yield ArchivedEvent(label=str(path), body=path.read_bytes())
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc


@dataclass
class ReplayResult:
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (label, why)


class WebhookReplayer:
    """POSTs each body signed, like RealtimeKit; 202 is success."""

    def __init__(self, url: str, signer: WebhookSigner, *, timeout: float = 30.0) -> None:
        self.url = url
        self._signer = signer
        self._timeout = timeout

    def send(self, event: ArchivedEvent) -> str | None:
        headers = {
            "content-type": "application/json",
            "rtk-signature": self._signer.sign(event.body),
            "rtk-uuid": event.metadata.get("delivery-id") or f"replay-{uuid.uuid4()}",
            "rtk-webhook-id": event.metadata.get("webhook-id") or "replay",
        }
        request = urllib.request.Request(self.url, data=event.body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - operator's URL
                status = response.status
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}: {error.read()[:200].decode(errors='replace')}"
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise CliError(f"cannot reach the webhook URL {self.url}: {reason}") from error
        return None if status == 202 else f"HTTP {status}"


class BusReplayer:
    """Puts the detail the ingest function would build on the bus (the body is not re-verified:
    it was verified when it first arrived)."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def send(self, event: ArchivedEvent) -> str | None:
        detail = build_detail(
            event.body,
            received_at=event.received_at or datetime.now(UTC),
            delivery_id=event.metadata.get("delivery-id") or f"replay-{uuid.uuid4()}",
            webhook_id=event.metadata.get("webhook-id"),
            signature_header=REPLAY_SIGNATURE_HEADER,
        )
        self._publisher.publish(detail)
        return None


def replay(
    events: Iterator[ArchivedEvent],
    sender: WebhookReplayer | BusReplayer | None,
    *,
    only_event: str | None = None,
    echo: Callable[[str], None] = lambda _: None,
) -> ReplayResult:
    """Send each event (``sender`` None: a dry run that only lists them)."""
    result = ReplayResult()
    for event in events:
        if only_event and event.event != only_event:
            continue
        if sender is None:
            echo(f"would replay {event.label} ({len(event.body)} bytes)")
            result.sent += 1
            continue
        problem = sender.send(event)
        if problem is None:
            result.sent += 1
            echo(f"replayed {event.label}")
        else:
            result.failed.append((event.label, problem))
            echo(f"FAILED   {event.label}: {problem}")
    return result


def replay_command(
    target: Target,
    *,
    sessions: tuple[str, ...],
    meetings: tuple[str, ...],
    keys: tuple[str, ...],
    files: tuple[Path, ...],
    only_event: str | None,
    via: str | None,
    private_key_file: Path | None,
    dry_run: bool,
    echo: Callable[[str], None],
) -> ReplayResult:
    from cli.inspect import find_session
    from shared.session.store import SessionStore

    if not (sessions or meetings or keys or files):
        raise CliError("name what to replay: --session, --meeting, --key or --file")
    s3 = target.client("s3")
    store = SessionStore(target.sessions_table, target.client("dynamodb"))
    located = [find_session(store, reference, s3=s3, bucket=target.bucket) for reference in sessions]
    listed = event_keys(s3, target.bucket, sessions=located, meetings=list(meetings), keys=list(keys))
    via = via or ("webhook" if target.local else "bus")
    sender: WebhookReplayer | BusReplayer | None = None
    if not dry_run:
        if via == "webhook":
            from local.signing import WebhookSigner  # dev tooling: only when signing for a webhook URL

            signer = (
                WebhookSigner.from_pem(private_key_file.read_bytes())
                if private_key_file is not None
                else WebhookSigner.local_dev()
            )
            sender = WebhookReplayer(target.webhook_url, signer)
            echo(f"replaying to {target.webhook_url} (signed)")
        else:
            sender = BusReplayer(EventPublisher(target.bus, target.client("events")))
            echo(f"replaying onto the bus {target.bus} ({target.description})")
    result = replay(
        load_events(s3, target.bucket, listed, list(files)), sender, only_event=only_event, echo=echo
    )
    verb = "would replay" if dry_run else "replayed"
    echo(f"{verb} {result.sent} events" + (f", {len(result.failed)} refused" if result.failed else ""))
    if result.sent == 0 and not result.failed:
        raise CliError("nothing to replay: no events/ objects matched")
    return result
