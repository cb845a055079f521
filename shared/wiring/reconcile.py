"""The reconcile function's collaborators, built once per execution environment."""

from __future__ import annotations

from functools import cache

from shared import wiring
from shared.reconcile.sweep import Reconciler, reconcile_settings


@cache
def reconciler() -> Reconciler:
    from shared.adapters.eventbridge import EventPublisher
    from shared.session.announce import SessionAnnouncer
    from shared.session.rebuild import RebuildSettings, SqsRebuildQueue
    from shared.session.store import SessionStore

    settings = reconcile_settings()
    rebuild = RebuildSettings.from_env()
    store = SessionStore(settings.sessions_table)
    return Reconciler(
        settings=settings,
        store=store,
        publisher=EventPublisher(settings.event_bus_name),
        client=wiring.realtimekit,
        announcer=SessionAnnouncer(store, settings.event_bus_name),
        rebuilds=SqsRebuildQueue(rebuild.rebuild_queue_url) if rebuild.rebuild_queue_url else None,
        pending=store,
        stale_rebuild_seconds=rebuild.stale_after_seconds,
    )


wiring.register(reconcile_settings)
wiring.register(reconciler)
