"""The meeting-bot consumers' collaborators, built once per execution environment."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from shared import wiring
from shared.sources.meeting_bot.settings import bot_worker_settings

if TYPE_CHECKING:
    from shared.sources.meeting_bot.recorder import BotSessionRecorder
    from shared.sources.meeting_bot.streams import BotAudioConsumer


@cache
def bot_recorder() -> BotSessionRecorder:
    from shared.session.store import SessionStore
    from shared.sources.meeting_bot.recorder import BotSessionRecorder

    settings = bot_worker_settings()
    return BotSessionRecorder(
        SessionStore(settings.sessions_table),
        wiring.archive_store(),
        keep_partial_transcripts=settings.keep_partial_transcripts,
    )


@cache
def audio_consumer() -> BotAudioConsumer:
    import boto3

    from shared.core.exceptions import ConfigurationError
    from shared.sources.meeting_bot.media_store import MediaStore
    from shared.sources.meeting_bot.streams import BotAudioConsumer, StreamTimers

    settings = bot_worker_settings()
    if not settings.audio_queue_url:
        raise ConfigurationError("BOT_AUDIO_QUEUE_URL is not set")
    timers = StreamTimers(
        table_name=settings.sessions_table,
        dynamodb=boto3.client("dynamodb"),
        sqs=boto3.client("sqs"),
        queue_url=settings.audio_queue_url,
        quiet_seconds=settings.audio_quiet_seconds,
    )
    return BotAudioConsumer(
        timers=timers,
        media=MediaStore(settings.archive_bucket, wiring.s3_client()),
        record=bot_recorder().record_artifact,
    )


wiring.register(bot_worker_settings)
wiring.register(bot_recorder)
wiring.register(audio_consumer)
