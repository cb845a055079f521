"""The live relay function's collaborators, built once per execution environment."""

from __future__ import annotations

from functools import cache

from shared import wiring
from shared.sources.live_relay.chain import RelayChain, RelaySettings


@cache
def relay_settings() -> RelaySettings:
    return RelaySettings.from_env()


def _read_secret(secret_id: str) -> str:
    value = wiring.secrets_client().get_secret_value(SecretId=secret_id)["SecretString"]
    return str(value)


def _delete_secret(secret_id: str) -> None:
    # Recoverable for 7 days (the minimum), in case a relay must be re-run.
    wiring.secrets_client().delete_secret(SecretId=secret_id, RecoveryWindowInDays=7)


@cache
def relay_chain() -> RelayChain:
    from shared.adapters.s3 import ArchiveStore
    from shared.sources.live_relay.bus import LivePublisher
    from shared.sources.live_relay.store import RelayStore

    settings = relay_settings()
    return RelayChain(
        settings=settings,
        store=RelayStore(settings.relay_table),
        archive=ArchiveStore(settings.archive_bucket),
        publisher=LivePublisher(settings.event_bus_name),
        read_secret=_read_secret,
        delete_secret=_delete_secret,
    )


wiring.register(relay_settings)
wiring.register(relay_chain)
