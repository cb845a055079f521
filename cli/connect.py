"""``meeting-vault connect``: point a RealtimeKit webhook at the stack, idempotently.

The webhook that already targets the stack's URL (or else one with our name) is updated when its
events, URL, name or enabled flag differ, and left alone when they match; otherwise one is created."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cli.realtimekit_access import RealtimeKitOptions, realtimekit_access
from cli.target import Target
from shared.adapters.realtimekit import WEBHOOK_EVENTS, RealtimeKitClient, WebhookInfo

DEFAULT_WEBHOOK_NAME = "meeting-vault"


@dataclass
class ConnectPlan:
    action: str  # "create" | "update" | "none"
    url: str
    name: str
    events: tuple[str, ...]
    webhook: WebhookInfo | None = None
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)  # field -> (now, wanted)
    others: list[WebhookInfo] = field(default_factory=list)  # further webhooks on the same URL


def plan_connect(
    client: RealtimeKitClient,
    *,
    url: str,
    name: str = DEFAULT_WEBHOOK_NAME,
    events: tuple[str, ...] = WEBHOOK_EVENTS,
) -> ConnectPlan:
    existing = client.list_webhooks()
    same_url = [w for w in existing if w.url == url]
    match = same_url[0] if same_url else next((w for w in existing if w.name == name), None)
    plan = ConnectPlan(action="create", url=url, name=name, events=events, webhook=match, others=same_url[1:])
    if match is None:
        return plan
    wanted = {"url": url, "name": name, "events": tuple(sorted(events)), "enabled": True}
    now = {
        "url": match.url,
        "name": match.name,
        "events": tuple(sorted(match.events)),
        "enabled": match.enabled,
    }
    plan.changes = {key: (now[key], value) for key, value in wanted.items() if now[key] != value}
    plan.action = "update" if plan.changes else "none"
    return plan


def apply_connect(client: RealtimeKitClient, plan: ConnectPlan) -> WebhookInfo | None:
    if plan.action == "create":
        return client.create_webhook(plan.name, plan.url, plan.events, enabled=True)
    if plan.action == "update":
        assert plan.webhook is not None
        return client.update_webhook(
            plan.webhook.id, name=plan.name, url=plan.url, events=plan.events, enabled=True
        )
    return plan.webhook


def describe_plan(plan: ConnectPlan, *, dry_run: bool, echo: Callable[[str], None]) -> None:
    would = "would " if dry_run else ""
    if plan.action == "create":
        echo(f"{would}create webhook {plan.name!r} -> {plan.url}")
        echo(f"  events: {', '.join(plan.events)}")
    elif plan.action == "update":
        assert plan.webhook is not None
        echo(f"{would}update webhook {plan.webhook.id} ({plan.webhook.name!r}):")
        for key, (now, wanted) in plan.changes.items():
            if key == "events":
                now_set, wanted_set = set(now), set(wanted)  # type: ignore[call-overload]
                added = sorted(wanted_set - now_set)
                removed = sorted(now_set - wanted_set)
                echo(f"  events: +{', +'.join(added) or ' none'}  -{', -'.join(removed) or ' none'}")
            else:
                echo(f"  {key}: {now!r} -> {wanted!r}")
    else:
        assert plan.webhook is not None
        echo(
            f"webhook {plan.webhook.id} ({plan.webhook.name!r}) already points at {plan.url} with all "
            f"{len(plan.events)} events: nothing to change"
        )
    for other in plan.others:
        echo(f"note: webhook {other.id} ({other.name!r}) also points at {plan.url}; left as it is")


def connect_command(
    target: Target, rtk: RealtimeKitOptions, *, name: str, dry_run: bool, echo: Callable[[str], None]
) -> ConnectPlan:
    access = realtimekit_access(target, rtk)
    echo(f"{target.description}: webhook URL {target.webhook_url}")
    plan = plan_connect(access.client, url=target.webhook_url, name=name)
    describe_plan(plan, dry_run=dry_run, echo=echo)
    if dry_run or plan.action == "none":
        return plan
    webhook = apply_connect(access.client, plan)
    assert webhook is not None
    echo(f"{'created' if plan.action == 'create' else 'updated'} webhook {webhook.id}")
    return plan
