"""The bot endpoint's collaborators, built once per execution environment (light imports only)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from shared import wiring
from shared.sources.meeting_bot.settings import bot_ingest_settings

if TYPE_CHECKING:
    from shared.sources.meeting_bot.ingest import BotIngestor


@cache
def bot_ingestor() -> BotIngestor:
    from shared.sources.meeting_bot.ingest import bot_ingestor_from_settings

    return bot_ingestor_from_settings()


wiring.register(bot_ingest_settings)
wiring.register(bot_ingestor)
